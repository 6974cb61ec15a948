"""Converters between feedback.v1 protobuf messages and domain types."""

from __future__ import annotations

import math
from typing import Any

from feedback.v1 import common_pb2, feedback_service_pb2
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from ..domain.feedback import check_target
from ..domain.model import IngestionState, JsonValue, SourceType, StoredAssessment, TraceTarget
from ..domain.validation import MAX_CATEGORY_CHARS, MAX_TEXT_CHARS, Violations

_SOURCE_TYPES = {
    common_pb2.SOURCE_TYPE_UNSPECIFIED: SourceType.HUMAN,
    common_pb2.SOURCE_TYPE_HUMAN: SourceType.HUMAN,
    common_pb2.SOURCE_TYPE_LLM_JUDGE: SourceType.LLM_JUDGE,
    common_pb2.SOURCE_TYPE_CODE: SourceType.CODE,
}
_SOURCE_TYPES_OUT = {
    SourceType.HUMAN: common_pb2.SOURCE_TYPE_HUMAN,
    SourceType.LLM_JUDGE: common_pb2.SOURCE_TYPE_LLM_JUDGE,
    SourceType.CODE: common_pb2.SOURCE_TYPE_CODE,
}
STATES_OUT = {
    IngestionState.STORED: common_pb2.INGESTION_STATE_STORED,
    IngestionState.QUEUED: common_pb2.INGESTION_STATE_QUEUED,
    IngestionState.DEAD_LETTERED: common_pb2.INGESTION_STATE_DEAD_LETTERED,
}


def target_in(v: Violations, msg: common_pb2.TraceRef, present: bool) -> TraceTarget:
    if not present:
        return check_target(v, None, None, "")
    which = msg.WhichOneof("ref")
    return check_target(
        v,
        msg.trace_id if which == "trace_id" else None,
        msg.client_request_id if which == "client_request_id" else None,
        msg.span_id,
    )


def source_type_in(v: Violations, msg: common_pb2.Source) -> SourceType:
    source_type = _SOURCE_TYPES.get(msg.type)
    if source_type is None:
        v.add("source.type", "is not a known SourceType")
        return SourceType.HUMAN
    return source_type


def value_to_json(value: struct_pb2.Value) -> JsonValue:
    return json_format.MessageToDict(value)


def feedback_value_in(
    v: Violations, msg: common_pb2.FeedbackValue, present: bool, path: str = "value"
) -> JsonValue:
    """The value of a `FeedbackValue` at field `path` of the request."""
    kind = msg.WhichOneof("kind") if present else None
    if kind is None:
        v.add(path, "is required: set one of boolean, number, category, text, structured")
        return None
    if kind == "boolean":
        return msg.boolean
    if kind == "number":
        v.number(f"{path}.number", msg.number)
        return msg.number
    if kind == "category":
        v.text(f"{path}.category", msg.category, max_chars=MAX_CATEGORY_CHARS, required=True)
        return msg.category
    if kind == "text":
        v.text(f"{path}.text", msg.text, max_chars=MAX_TEXT_CHARS, required=True)
        return msg.text
    return structured_in(v, f"{path}.structured", msg.structured)


def structured_in(v: Violations, field: str, msg: struct_pb2.Value) -> JsonValue:
    if msg.WhichOneof("kind") is None:
        v.add(field, "is required")
        return None
    try:
        value = value_to_json(msg)
    except (ValueError, RecursionError):
        v.add(field, "is not a valid JSON value")
        return None
    v.structured(field, value)
    return value


def feedback_value_out(value: Any) -> common_pb2.FeedbackValue | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return common_pb2.FeedbackValue(boolean=value)
    if isinstance(value, int | float):
        return common_pb2.FeedbackValue(number=float(value))
    if isinstance(value, str):
        return common_pb2.FeedbackValue(text=value)
    out = common_pb2.FeedbackValue()
    json_format.ParseDict(value, out.structured)
    return out


def assessment_out(a: StoredAssessment) -> feedback_service_pb2.Assessment:
    out = feedback_service_pb2.Assessment(
        assessment_id=a.assessment_id,
        name=a.name,
        kind=(
            feedback_service_pb2.ASSESSMENT_KIND_FEEDBACK
            if a.kind.value == "feedback"
            else feedback_service_pb2.ASSESSMENT_KIND_EXPECTATION
        ),
        rationale=a.rationale or "",
        source=common_pb2.Source(type=_SOURCE_TYPES_OUT[a.source_type], id=a.source_id),
        metadata=a.metadata,
        span_id=a.span_id or "",
        state=STATES_OUT[a.state],
        valid=a.valid,
    )
    if a.create_time_ms:
        out.create_time.FromMilliseconds(a.create_time_ms)
    if a.kind.value == "feedback":
        value = feedback_value_out(a.value)
        if value is not None:
            out.feedback.CopyFrom(value)
    elif a.value is not None:
        json_format.ParseDict(a.value, out.expectation)
    return out


MAX_TIMESTAMP_S = 253_402_300_799  # 9999-12-31T23:59:59Z, the protobuf Timestamp range


def timestamp_in(
    v: Violations, field: str, ts: timestamp_pb2.Timestamp, present: bool
) -> int | None:
    """Milliseconds since the epoch, or None when unset; only 1970..9999 is valid."""
    if not present:
        return None
    if not 0 <= ts.seconds <= MAX_TIMESTAMP_S or not 0 <= ts.nanos < 1_000_000_000:
        v.add(field, "must be a valid timestamp from 1970 to 9999")
        return None
    return int(ts.ToMilliseconds())


def finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0
