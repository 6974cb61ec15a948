"""Plain Python types of the client: targets, enums and results (no protobuf here)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

#: A JSON value, as accepted by `expect()` and structured feedback and as returned for them.
JsonValue: TypeAlias = (
    None | bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]
)

#: The address a client connects to when given neither a target nor a channel.
DEFAULT_TARGET = "127.0.0.1:50051"

#: The name under which `thumbs_up()` / `thumbs_down()` record their judgment.
USER_FEEDBACK = "user_feedback"

#: Initial (and, on failure, trailing) metadata key carrying a chat turn's MLflow trace ID.
TRACE_ID_METADATA_KEY = "x-mlflow-trace-id"

_TRACE_ID_PREFIX = "tr-"

#: A PEM file's path, or its content.
Pem: TypeAlias = str | Path | bytes


@dataclass(frozen=True)
class TlsOptions:
    """TLS to the service, and a client certificate when the server asks for one (mTLS).

    Args:
        ca: The certificates that may sign the server's (PEM path or bytes); None: the
            system's roots.
        cert: This client's certificate chain, for mTLS (with `key`).
        key: This client's private key, for mTLS.
        server_name: The name to check in the server's certificate when it differs from
            the target's host (e.g. a target given as an IP address).
    """

    ca: Pem | None = None
    cert: Pem | None = None
    key: Pem | None = None
    server_name: str = ""

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("TlsOptions: cert and key go together (a client certificate)")

    @staticmethod
    def read(value: Pem | None) -> bytes | None:
        """The PEM bytes of a path or of bytes; None stays None."""
        if value is None or isinstance(value, bytes):
            return value
        return Path(value).read_bytes()


@dataclass(frozen=True)
class TraceRef:
    """The trace (and optionally span) a judgment is about.

    Build it with `by_trace_id()` or `by_request_id()`; exactly one of `trace_id` and
    `client_request_id` is set.
    """

    trace_id: str = ""
    client_request_id: str = ""
    span_id: str = ""

    def __post_init__(self) -> None:
        if bool(self.trace_id) == bool(self.client_request_id):
            raise ValueError("a TraceRef needs exactly one of trace_id and client_request_id")


def by_trace_id(trace_id: str, span_id: str = "") -> TraceRef:
    """Targets the MLflow trace `trace_id` (as returned by `chat()` or a stream's completion)."""
    if not trace_id:
        raise ValueError("trace_id must not be empty")
    return TraceRef(trace_id=trace_id, span_id=span_id)


def by_request_id(client_request_id: str, span_id: str = "") -> TraceRef:
    """Targets the trace recorded with the caller's own `client_request_id`."""
    if not client_request_id:
        raise ValueError("client_request_id must not be empty")
    return TraceRef(client_request_id=client_request_id, span_id=span_id)


#: What the feedback methods accept as their `target`: a `TraceRef`, or a trace ID string.
Target: TypeAlias = TraceRef | str


def as_trace_ref(target: Target) -> TraceRef:
    """Resolves a `target` argument.

    A plain string must be an MLflow trace ID (it starts with ``tr-``); a client request ID
    must be wrapped with `by_request_id()` so that the two can never be confused.
    """
    if isinstance(target, TraceRef):
        return target
    if isinstance(target, str):
        if not target.startswith(_TRACE_ID_PREFIX):
            raise ValueError(
                f"a plain string target must be an MLflow trace ID starting with "
                f"{_TRACE_ID_PREFIX!r}; use by_request_id({target!r}) for a client request ID"
            )
        return TraceRef(trace_id=target)
    raise TypeError(f"target must be a str or a TraceRef, not {type(target).__name__}")


@dataclass(frozen=True)
class Text:
    """Marks a string feedback value as free text (a comment) rather than a category label."""

    value: str


#: What `feedback()` accepts as a value: bool -> boolean, int/float -> number,
#: str -> category, `Text` -> free text, dict/list -> structured.
FeedbackInput: TypeAlias = (
    bool | int | float | str | Text | Mapping[str, JsonValue] | Sequence[JsonValue]
)


class SourceType(enum.Enum):
    """Who or what produced a judgment (mirrors `feedback.v1.SourceType`)."""

    UNSPECIFIED = 0
    HUMAN = 1
    LLM_JUDGE = 2
    CODE = 3


class IngestionState(enum.Enum):
    """Whether an acknowledged judgment is already stored in MLflow."""

    UNSPECIFIED = 0
    STORED = 1
    QUEUED = 2
    DEAD_LETTERED = 3


class AssessmentKind(enum.Enum):
    """Whether an assessment is a feedback or an expectation."""

    UNSPECIFIED = 0
    FEEDBACK = 1
    EXPECTATION = 2


class ValueKind(enum.Enum):
    """How a feedback value was typed when it was recorded."""

    BOOLEAN = "boolean"
    NUMBER = "number"
    CATEGORY = "category"
    TEXT = "text"
    STRUCTURED = "structured"


@dataclass(frozen=True)
class ChatResult:
    """The answer to one `chat()` turn."""

    response: str
    trace_id: str
    client_request_id: str
    #: An end-user feedback token for this turn's trace and user (a browser sends it as
    #: ``authorization: Bearer <token>`` with its vote); empty when the service mints none.
    feedback_token: str = ""


@dataclass(frozen=True)
class ChatCompletion:
    """The terminal message of a streamed chat turn."""

    trace_id: str
    client_request_id: str
    response: str
    #: As `ChatResult.feedback_token`.
    feedback_token: str = ""


@dataclass(frozen=True)
class LogResult:
    """The acknowledgement of one recorded judgment (feedback or expectation)."""

    assessment_id: str
    #: Empty when the target was a client request ID that is not resolved yet.
    trace_id: str
    state: IngestionState
    #: The idempotency key used (the client sets a fresh one when none is given).
    request_id: str
    #: The same source's judgment this one supersedes, as the service knew it when it
    #: acknowledged; "" when none (or anonymous, or not known yet).
    superseded_assessment_id: str = ""


@dataclass(frozen=True)
class RetractResult:
    """The acknowledgement of `retract()`."""

    #: The judgment taken back (it stays in MLflow, invalid).
    assessment_id: str
    trace_id: str
    state: IngestionState
    request_id: str


@dataclass(frozen=True)
class FeedbackItem:
    """One judgment of `log_batch()` (the arguments of `feedback()`)."""

    target: Target
    value: FeedbackInput
    name: str = USER_FEEDBACK
    rationale: str = ""
    source_type: SourceType = SourceType.HUMAN
    source_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    #: Empty: the client sets a fresh one.
    request_id: str = ""


@dataclass(frozen=True)
class RatingResult:
    """One stored rating dimension."""

    dimension: str
    #: The feedback name it was stored under: ``user_<dimension>``.
    name: str
    #: The stored value: ``rating / scale_max``.
    value: float
    assessment_id: str
    #: As `LogResult.superseded_assessment_id`, for this dimension.
    superseded_assessment_id: str = ""


@dataclass(frozen=True)
class RatingsResult:
    """The acknowledgement of `rate()`: one result per dimension, sorted by dimension."""

    trace_id: str
    results: tuple[RatingResult, ...]
    state: IngestionState
    request_id: str


@dataclass(frozen=True)
class Source:
    """The producer of an assessment."""

    type: SourceType
    id: str


@dataclass(frozen=True)
class Assessment:
    """One assessment of a trace, as listed by `list_feedback()`."""

    assessment_id: str
    name: str
    kind: AssessmentKind
    #: The value as plain Python: bool, float, str, or a JSON structure; None when unset
    #: (an expectation's value is here too).
    value: JsonValue
    #: How a feedback value was typed; None for expectations and for feedback without a value.
    value_kind: ValueKind | None
    rationale: str
    source: Source
    metadata: Mapping[str, str]
    span_id: str
    create_time: datetime | None
    state: IngestionState
    #: False when superseded or retracted.
    valid: bool
    #: The assessment this one superseded (MLflow's `overrides`); "" when none.
    supersedes_assessment_id: str = ""
    #: The assessment that superseded this one; "" when none.
    superseded_by_assessment_id: str = ""
    #: True when its source took it back with `retract()`.
    retracted: bool = False


@dataclass(frozen=True)
class FeedbackList:
    """Every assessment of one trace, oldest first."""

    trace_id: str
    assessments: tuple[Assessment, ...] = field(default=())


@dataclass(frozen=True)
class SummaryBucket:
    """The figures of the traces created in one bucket of a summary."""

    start_time: datetime | None
    end_time: datetime | None
    total_traces: int
    traces_with_feedback: int
    feedback_rate: float
    positive_count: int
    negative_count: int
    positive_rate: float
    average_ratings: Mapping[str, float]


@dataclass(frozen=True)
class FeedbackSummary:
    """Feedback statistics of the traces created in a time window (counted by MLflow)."""

    total_traces: int
    traces_with_feedback: int
    feedback_rate: float
    positive_count: int
    negative_count: int
    positive_rate: float
    #: Average of each rating dimension on the 0 to 1 scale they are stored in.
    average_ratings: Mapping[str, float]
    start_time: datetime | None
    end_time: datetime | None
    #: Always False: summaries cover every trace of the window.
    truncated: bool
    #: Per `interval`, oldest first, when `summarize()` was given one.
    buckets: tuple[SummaryBucket, ...] = ()
