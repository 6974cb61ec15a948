"""A small typed Python client of the feedback service (`feedback.v1`).

    from feedback_client import FeedbackClient, FeedbackError

    with FeedbackClient("127.0.0.1:50051") as client:
        answer = client.chat("What is MLflow?", user_id="u-1")
        client.thumbs_up(answer.trace_id, user_id="u-1")

Feedback targets are MLflow trace IDs (``"tr-..."``) or `TraceRef`s built with
`by_trace_id()` / `by_request_id()`. Every failed call raises `FeedbackError`.
"""

from ._async import AsyncChatStream, AsyncFeedbackClient
from ._errors import (
    DeadlineExceededError,
    FeedbackError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
)
from ._sync import ChatStream, FeedbackClient
from ._types import (
    TRACE_ID_METADATA_KEY,
    USER_FEEDBACK,
    Assessment,
    AssessmentKind,
    ChatCompletion,
    ChatResult,
    FeedbackInput,
    FeedbackList,
    FeedbackSummary,
    IngestionState,
    JsonValue,
    LogResult,
    RatingResult,
    RatingsResult,
    Source,
    SourceType,
    Target,
    Text,
    TraceRef,
    ValueKind,
    by_request_id,
    by_trace_id,
)

__all__ = [
    "TRACE_ID_METADATA_KEY",
    "USER_FEEDBACK",
    "Assessment",
    "AssessmentKind",
    "AsyncChatStream",
    "AsyncFeedbackClient",
    "ChatCompletion",
    "ChatResult",
    "ChatStream",
    "DeadlineExceededError",
    "FeedbackClient",
    "FeedbackError",
    "FeedbackInput",
    "FeedbackList",
    "FeedbackSummary",
    "FieldViolation",
    "IngestionState",
    "InvalidArgumentError",
    "JsonValue",
    "LogResult",
    "NotFoundError",
    "PermissionDeniedError",
    "RatingResult",
    "RatingsResult",
    "ResourceExhaustedError",
    "Source",
    "SourceType",
    "Target",
    "Text",
    "TraceRef",
    "UnauthenticatedError",
    "UnavailableError",
    "ValueKind",
    "by_request_id",
    "by_trace_id",
]
