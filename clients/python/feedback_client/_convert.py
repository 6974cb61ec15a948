"""Converters between the client's Python types and the `feedback.v1` messages.

Shared by the sync and the async client, which only add the transport around them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from feedback.v1 import chat_service_pb2, common_pb2, feedback_service_pb2
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2
from google.protobuf.message import Message

from ._errors import FeedbackError, from_status
from ._types import (
    USER_FEEDBACK,
    Assessment,
    AssessmentKind,
    ChatCompletion,
    ChatResult,
    FeedbackInput,
    FeedbackItem,
    FeedbackList,
    FeedbackSummary,
    IngestionState,
    JsonValue,
    LogResult,
    RatingResult,
    RatingsResult,
    RetractResult,
    Source,
    SourceType,
    SummaryBucket,
    Target,
    Text,
    ValueKind,
    as_trace_ref,
)

# --- values -------------------------------------------------------------------------------


def to_value(obj: JsonValue) -> struct_pb2.Value:
    """Converts a JSON-like Python value into a `google.protobuf.Value`."""
    value = struct_pb2.Value()
    if obj is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        value.bool_value = obj
    elif isinstance(obj, int | float):
        value.number_value = float(obj)
    elif isinstance(obj, str):
        value.string_value = obj
    elif isinstance(obj, Mapping):
        value.struct_value.SetInParent()
        for key, item in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, not {type(key).__name__}")
            value.struct_value.fields[key].CopyFrom(to_value(item))
    elif isinstance(obj, Sequence) and not isinstance(obj, bytes | bytearray):
        value.list_value.SetInParent()
        for item in obj:
            value.list_value.values.append(to_value(item))
    else:
        raise TypeError(f"not a JSON value: {type(obj).__name__}")
    return value


def from_value(value: struct_pb2.Value) -> JsonValue:
    """Converts a `google.protobuf.Value` into plain Python (numbers come back as float)."""
    kind = value.WhichOneof("kind")
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return {k: from_value(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [from_value(v) for v in value.list_value.values]
    return None


def feedback_value(value: FeedbackInput) -> common_pb2.FeedbackValue:
    """bool -> boolean, int/float -> number, str -> category, `Text` -> text, dict/list ->
    structured."""
    if isinstance(value, bool):
        return common_pb2.FeedbackValue(boolean=value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a numeric feedback value must be finite")
        return common_pb2.FeedbackValue(number=float(value))
    if isinstance(value, Text):
        return common_pb2.FeedbackValue(text=value.value)
    if isinstance(value, str):
        return common_pb2.FeedbackValue(category=value)
    if isinstance(value, Mapping | Sequence) and not isinstance(value, bytes | bytearray):
        return common_pb2.FeedbackValue(structured=to_value(value))
    raise TypeError(
        "a feedback value must be a bool, int, float, str, Text, dict or list, "
        f"not {type(value).__name__}"
    )


def decode_feedback_value(
    value: common_pb2.FeedbackValue,
) -> tuple[JsonValue, ValueKind | None]:
    kind = value.WhichOneof("kind")
    if kind == "boolean":
        return value.boolean, ValueKind.BOOLEAN
    if kind == "number":
        return value.number, ValueKind.NUMBER
    if kind == "category":
        return value.category, ValueKind.CATEGORY
    if kind == "text":
        return value.text, ValueKind.TEXT
    if kind == "structured":
        return from_value(value.structured), ValueKind.STRUCTURED
    return None, None


# --- requests -----------------------------------------------------------------------------


def request_id_or_new(request_id: str) -> str:
    """The caller's idempotency key, else a fresh one: set once per call, so that every
    retry of the call (the channel's, the caller's) carries the same key."""
    return request_id or uuid.uuid4().hex


def trace_ref(target: Target) -> common_pb2.TraceRef:
    ref = as_trace_ref(target)
    if ref.trace_id:
        return common_pb2.TraceRef(trace_id=ref.trace_id, span_id=ref.span_id)
    return common_pb2.TraceRef(client_request_id=ref.client_request_id, span_id=ref.span_id)


def source(source_type: SourceType, source_id: str) -> common_pb2.Source:
    return common_pb2.Source(type=common_pb2.SourceType.ValueType(source_type.value), id=source_id)


def chat_request(
    message: str,
    client_request_id: str,
    user_id: str,
    session_id: str,
    metadata: Mapping[str, str] | None,
) -> chat_service_pb2.ChatRequest:
    return chat_service_pb2.ChatRequest(
        message=message,
        client_request_id=client_request_id,
        user_id=user_id,
        session_id=session_id,
        metadata=dict(metadata or {}),
    )


def stream_chat_request(
    message: str,
    client_request_id: str,
    user_id: str,
    session_id: str,
    metadata: Mapping[str, str] | None,
) -> chat_service_pb2.StreamChatRequest:
    return chat_service_pb2.StreamChatRequest(
        message=message,
        client_request_id=client_request_id,
        user_id=user_id,
        session_id=session_id,
        metadata=dict(metadata or {}),
    )


def feedback_request(
    target: Target,
    name: str,
    value: FeedbackInput,
    rationale: str,
    source_type: SourceType,
    source_id: str,
    metadata: Mapping[str, str] | None,
    request_id: str,
) -> feedback_service_pb2.LogFeedbackRequest:
    return feedback_service_pb2.LogFeedbackRequest(
        target=trace_ref(target),
        name=name,
        value=feedback_value(value),
        rationale=rationale,
        source=source(source_type, source_id),
        metadata=dict(metadata or {}),
        request_id=request_id_or_new(request_id),
    )


def batch_request(items: Sequence[FeedbackItem]) -> feedback_service_pb2.BatchLogFeedbackRequest:
    return feedback_service_pb2.BatchLogFeedbackRequest(
        requests=[
            feedback_request(
                i.target,
                i.name,
                i.value,
                i.rationale,
                i.source_type,
                i.source_id,
                i.metadata,
                i.request_id,
            )
            for i in items
        ]
    )


def retract_request(
    target: Target, name: str, source_type: SourceType, source_id: str, request_id: str
) -> feedback_service_pb2.RetractFeedbackRequest:
    if not source_id:
        raise ValueError("retract() needs the source ID (user_id) whose judgment it takes back")
    return feedback_service_pb2.RetractFeedbackRequest(
        target=trace_ref(target),
        name=name,
        source=source(source_type, source_id),
        request_id=request_id_or_new(request_id),
    )


def thumbs_request(
    target: Target, up: bool, rationale: str, user_id: str, request_id: str
) -> feedback_service_pb2.LogFeedbackRequest:
    return feedback_request(
        target, USER_FEEDBACK, up, rationale, SourceType.HUMAN, user_id, None, request_id
    )


def ratings_request(
    target: Target,
    ratings: Mapping[str, int],
    scale_max: int,
    rationale: str,
    user_id: str,
    request_id: str,
) -> feedback_service_pb2.LogRatingsRequest:
    for dimension, rating in ratings.items():
        if isinstance(rating, bool) or not isinstance(rating, int):
            raise TypeError(f"rating {dimension!r} must be an int, not {type(rating).__name__}")
    return feedback_service_pb2.LogRatingsRequest(
        target=trace_ref(target),
        ratings=dict(ratings),
        scale_max=scale_max,
        rationale=rationale,
        source=source(SourceType.HUMAN, user_id),
        request_id=request_id_or_new(request_id),
    )


def expectation_request(
    target: Target,
    name: str,
    value: JsonValue,
    source_id: str,
    metadata: Mapping[str, str] | None,
    request_id: str,
) -> feedback_service_pb2.LogExpectationRequest:
    if value is None:
        raise ValueError("an expectation's value must not be None")
    return feedback_service_pb2.LogExpectationRequest(
        target=trace_ref(target),
        name=name,
        value=to_value(value),
        source=source(SourceType.HUMAN, source_id),
        metadata=dict(metadata or {}),
        request_id=request_id_or_new(request_id),
    )


def list_request(target: Target) -> feedback_service_pb2.ListFeedbackRequest:
    return feedback_service_pb2.ListFeedbackRequest(target=trace_ref(target))


def timestamp(moment: datetime, what: str) -> timestamp_pb2.Timestamp:
    """A timezone-aware `datetime` as a `Timestamp`; `what` names it in the error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, e.g. datetime.now(UTC)")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def summarize_request(
    start: datetime | None,
    end: datetime | None,
    feedback_name: str,
    user_id: str = "",
    session_id: str = "",
    trace_metadata: Mapping[str, str] | None = None,
    interval: timedelta | None = None,
) -> feedback_service_pb2.SummarizeFeedbackRequest:
    request = feedback_service_pb2.SummarizeFeedbackRequest(
        feedback_name=feedback_name,
        user_id=user_id,
        session_id=session_id,
        trace_metadata=dict(trace_metadata or {}),
    )
    if start is not None:
        request.start_time.CopyFrom(timestamp(start, "start"))
    if end is not None:
        request.end_time.CopyFrom(timestamp(end, "end"))
    if interval is not None:
        duration = duration_pb2.Duration()
        duration.FromTimedelta(interval)
        request.interval.CopyFrom(duration)
    return request


# --- responses ----------------------------------------------------------------------------


def _state(value: int) -> IngestionState:
    try:
        return IngestionState(value)
    except ValueError:
        return IngestionState.UNSPECIFIED


def optional_datetime(message: Message, field: str) -> datetime | None:
    """The `Timestamp` field `field` of `message` as an aware `datetime`; None when unset."""
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def chat_result(response: chat_service_pb2.ChatResponse) -> ChatResult:
    return ChatResult(
        response=response.response,
        trace_id=response.trace_id,
        client_request_id=response.client_request_id,
        feedback_token=response.feedback_token,
    )


def chat_completion(completion: chat_service_pb2.ChatCompletion) -> ChatCompletion:
    return ChatCompletion(
        trace_id=completion.trace_id,
        client_request_id=completion.client_request_id,
        response=completion.response,
        feedback_token=completion.feedback_token,
    )


def log_result(
    response: feedback_service_pb2.LogFeedbackResponse
    | feedback_service_pb2.LogExpectationResponse,
) -> LogResult:
    return LogResult(
        assessment_id=response.assessment_id,
        trace_id=response.trace_id,
        state=_state(response.state),
        request_id=response.request_id,
        superseded_assessment_id=response.superseded_assessment_id,
    )


def retract_result(response: feedback_service_pb2.RetractFeedbackResponse) -> RetractResult:
    return RetractResult(
        assessment_id=response.assessment_id,
        trace_id=response.trace_id,
        state=_state(response.state),
        request_id=response.request_id,
    )


def batch_results(
    response: feedback_service_pb2.BatchLogFeedbackResponse,
) -> tuple[LogResult | FeedbackError, ...]:
    return tuple(
        log_result(r.response) if r.HasField("response") else from_status(r.error)
        for r in response.results
    )


def ratings_result(response: feedback_service_pb2.LogRatingsResponse) -> RatingsResult:
    return RatingsResult(
        trace_id=response.trace_id,
        results=tuple(
            RatingResult(
                dimension=r.dimension,
                name=r.name,
                value=r.value,
                assessment_id=r.assessment_id,
                superseded_assessment_id=r.superseded_assessment_id,
            )
            for r in response.results
        ),
        state=_state(response.state),
        request_id=response.request_id,
    )


def assessment(message: feedback_service_pb2.Assessment) -> Assessment:
    try:
        kind = AssessmentKind(message.kind)
    except ValueError:
        kind = AssessmentKind.UNSPECIFIED
    value: JsonValue = None
    value_kind: ValueKind | None = None
    if message.HasField("feedback"):
        value, value_kind = decode_feedback_value(message.feedback)
    elif message.HasField("expectation"):
        value = from_value(message.expectation)
    try:
        source_type = SourceType(message.source.type)
    except ValueError:
        source_type = SourceType.UNSPECIFIED
    return Assessment(
        assessment_id=message.assessment_id,
        name=message.name,
        kind=kind,
        value=value,
        value_kind=value_kind,
        rationale=message.rationale,
        source=Source(type=source_type, id=message.source.id),
        metadata=dict(message.metadata),
        span_id=message.span_id,
        create_time=optional_datetime(message, "create_time"),
        state=_state(message.state),
        valid=message.valid,
        supersedes_assessment_id=message.supersedes_assessment_id,
        superseded_by_assessment_id=message.superseded_by_assessment_id,
        retracted=message.retracted,
    )


def feedback_list(response: feedback_service_pb2.ListFeedbackResponse) -> FeedbackList:
    return FeedbackList(
        trace_id=response.trace_id,
        assessments=tuple(assessment(a) for a in response.assessments),
    )


def feedback_summary(response: feedback_service_pb2.SummarizeFeedbackResponse) -> FeedbackSummary:
    return FeedbackSummary(
        total_traces=response.total_traces,
        traces_with_feedback=response.traces_with_feedback,
        feedback_rate=response.feedback_rate,
        positive_count=response.positive_count,
        negative_count=response.negative_count,
        positive_rate=response.positive_rate,
        average_ratings=dict(response.average_ratings),
        start_time=optional_datetime(response, "start_time"),
        end_time=optional_datetime(response, "end_time"),
        truncated=response.truncated,
        buckets=tuple(
            SummaryBucket(
                start_time=optional_datetime(b, "start_time"),
                end_time=optional_datetime(b, "end_time"),
                total_traces=b.total_traces,
                traces_with_feedback=b.traces_with_feedback,
                feedback_rate=b.feedback_rate,
                positive_count=b.positive_count,
                negative_count=b.negative_count,
                positive_rate=b.positive_rate,
                average_ratings=dict(b.average_ratings),
            )
            for b in response.buckets
        ),
    )
