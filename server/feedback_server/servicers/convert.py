"""Converters shared by the servicers: feedback.v1 messages <-> domain types.

Input converters take the request's `Violations` and add to it (field paths as in the
request), returning a domain value even when invalid; the servicer calls
`raise_if_any()` once everything is checked. Service-specific converters live beside
their servicer (chat_convert.py, feedback_convert.py).
"""

from __future__ import annotations

import math
import time
from typing import Any

from feedback.v1 import common_pb2, feedback_service_pb2
from google.protobuf import json_format, struct_pb2, timestamp_pb2

from ..domain.feedback import check_source, check_target
from ..domain.model import (
    IngestionState,
    JsonValue,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceTarget,
)
from ..domain.validation import (
    MAX_CATEGORY_CHARS,
    MAX_STRUCTURED_BYTES,
    MAX_TEXT_CHARS,
    Violations,
)

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


def source_in(v: Violations, msg: common_pb2.Source) -> tuple[SourceType, str]:
    """The judgment's source: its type and ID (defaulted by type when empty)."""
    source_type = _SOURCE_TYPES.get(msg.type)
    if source_type is None:
        v.add("source.type", "is not a known SourceType")
        source_type = SourceType.HUMAN
    return source_type, check_source(v, source_type, msg.id)


def value_to_json(value: struct_pb2.Value) -> JsonValue:
    return json_format.MessageToDict(value)


def feedback_value_in(
    v: Violations, msg: common_pb2.FeedbackValue, present: bool, path: str = "value"
) -> JsonValue:
    """A `FeedbackValue` at field `path`: exactly one kind, each checked against its bounds."""
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


#: A structured value whose protobuf encoding is past this is refused before it is
#: converted to JSON; the exact bound (16 KiB as JSON) is checked after. A value's protobuf
#: encoding takes at most ~3x its JSON (numbers: 11 bytes for `1.0,`).
MAX_STRUCTURED_WIRE_BYTES = 4 * MAX_STRUCTURED_BYTES


def structured_in(v: Violations, field: str, msg: struct_pb2.Value) -> JsonValue:
    if msg.WhichOneof("kind") is None:
        v.add(field, "is required")
        return None
    size = msg.ByteSize()  # C: no conversion yet
    if size > MAX_STRUCTURED_WIRE_BYTES:
        v.add(field, f"must be at most {MAX_STRUCTURED_BYTES} bytes as JSON (got {size} bytes)")
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


ASSESSMENT_KINDS_OUT = {
    JudgmentKind.FEEDBACK: feedback_service_pb2.ASSESSMENT_KIND_FEEDBACK,
    JudgmentKind.EXPECTATION: feedback_service_pb2.ASSESSMENT_KIND_EXPECTATION,
}


def assessment_out(a: StoredAssessment) -> feedback_service_pb2.Assessment:
    out = feedback_service_pb2.Assessment(
        assessment_id=a.assessment_id,
        name=a.name,
        kind=ASSESSMENT_KINDS_OUT[a.kind],
        rationale=a.rationale or "",
        source=common_pb2.Source(type=_SOURCE_TYPES_OUT[a.source_type], id=a.source_id),
        metadata=a.metadata,
        span_id=a.span_id or "",
        state=STATES_OUT[a.state],
        valid=a.valid,
        supersedes_assessment_id=a.overrides or "",
        superseded_by_assessment_id=a.superseded_by,
        retracted=a.retracted,
    )
    if a.create_time_ms:
        out.create_time.FromMilliseconds(a.create_time_ms)
    if a.kind is JudgmentKind.FEEDBACK:
        value = feedback_value_out(a.value)
        if value is not None:
            out.feedback.CopyFrom(value)
    elif a.value is not None:
        json_format.ParseDict(a.value, out.expectation)
    return out


MAX_TIMESTAMP_S = 253_402_300_799  # 9999-12-31T23:59:59Z, the protobuf Timestamp range
DAY_MS = 24 * 3600 * 1000
MAX_WINDOW_MS = 366 * DAY_MS


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


def time_window_in(v: Violations, msg: Any, path: str = "") -> tuple[int, int]:
    """The [start_ms, end_ms) window of a message with optional `start_time` and `end_time`
    (at field `path`): the end defaults to now, the start to a day before the end; the
    window runs forward and spans at most `MAX_WINDOW_MS`."""
    prefix = f"{path}." if path else ""
    errors_before = len(v.items)
    end = timestamp_in(v, f"{prefix}end_time", msg.end_time, msg.HasField("end_time"))
    end_ms = int(time.time() * 1000) if end is None else end
    start = timestamp_in(v, f"{prefix}start_time", msg.start_time, msg.HasField("start_time"))
    start_ms = end_ms - DAY_MS if start is None else start
    if len(v.items) > errors_before:
        pass  # the window is not checked when a bound is already invalid
    elif end_ms <= start_ms:
        v.add(f"{prefix}end_time", "must be after start_time")
    elif end_ms - start_ms > MAX_WINDOW_MS:
        v.add(f"{prefix}start_time", "the window spans at most 366 days")
    return start_ms, end_ms


MAX_DURATION_S = 366 * 24 * 3600


def duration_in(v: Violations, field: str, msg: Any) -> float | None:
    """The seconds of the optional `google.protobuf.Duration` field `field` of `msg`
    (None when unset); only 0 to 366 days is valid."""
    if not msg.HasField(field):
        return None
    d = getattr(msg, field)
    if d.seconds < 0 or not 0 <= d.nanos < 1_000_000_000 or d.seconds > MAX_DURATION_S:
        v.add(field, "must be a valid duration from 0 to 366 days")
        return None
    seconds: float = d.seconds + d.nanos / 1e9
    return seconds


def finite(x: float) -> float:
    return x if math.isfinite(x) else 0.0
