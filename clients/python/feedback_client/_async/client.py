"""`FeedbackClient` and `AsyncFeedbackClient`: the `ChatService` and `FeedbackService` methods.

To add an RPC: its request builder and response converter go into `_convert.py`, its method
here (once, as async code), then `make proto` writes its sync twin into `_sync/`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from feedback.v1 import chat_service_pb2, feedback_service_pb2

from .. import _convert
from .._errors import FeedbackError
from .._types import (
    USER_FEEDBACK,
    ChatResult,
    FeedbackInput,
    FeedbackItem,
    FeedbackList,
    FeedbackSummary,
    JsonValue,
    LogResult,
    RatingsResult,
    RetractResult,
    SourceType,
    Target,
)
from .review import AsyncReviewMethods
from .stream import AsyncChatStream


class AsyncFeedbackClient(AsyncReviewMethods):
    """A typed client of the feedback service (`ChatService`, `FeedbackService`, `ReviewService`).

    `FeedbackClient` makes blocking calls over a `grpc.Channel`; `AsyncFeedbackClient` has the
    same arguments and methods over a `grpc.aio.Channel`, awaited (``stream_chat()`` is not
    awaited: it returns an `AsyncChatStream` to ``async for`` over).

    Args:
        target: The service address, used when no `channel` is given (plaintext unless
            `tls` is given).
        channel: A channel to use instead; the client does not close a channel it was given.
        timeout: The deadline of every call, in seconds (None: no deadline). This includes
            whole streams: use `with_options(timeout=...)` for long answers.
        metadata: gRPC metadata sent with every call, e.g. ``[("authorization", "Bearer ...")]``.
        tls: `TlsOptions` for a TLS channel to `target` (with a client certificate for
            mTLS); ignored when a `channel` is given.

    A `target` of the feedback methods is an MLflow trace ID string (``"tr-..."``) or a
    `TraceRef` from `by_trace_id()` / `by_request_id()`; any other string raises ValueError.
    Every failed call raises `FeedbackError`.

    Every write carries a `request_id` (AIP-155): the caller's, else a fresh one made once
    per call, so a retry of the call stores nothing twice. A judgment from a named source
    (`user_id`, `source_id`) supersedes that source's previous one of the same name on the
    trace: changing a vote is another `thumbs_up()` / `thumbs_down()`; `retract()` takes it
    back.
    """

    # --- ChatService ---------------------------------------------------------------------

    async def chat(
        self,
        message: str,
        *,
        client_request_id: str = "",
        user_id: str = "",
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> ChatResult:
        """Answers one message; `metadata` is recorded on the turn's trace."""
        request = _convert.chat_request(message, client_request_id, user_id, session_id, metadata)
        response: chat_service_pb2.ChatResponse = await self._unary(self._chat.Chat, request)
        return _convert.chat_result(response)

    def stream_chat(
        self,
        message: str,
        *,
        client_request_id: str = "",
        user_id: str = "",
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncChatStream:
        """Answers one message as a stream of text deltas (see `ChatStream`)."""
        request = _convert.stream_chat_request(
            message, client_request_id, user_id, session_id, metadata
        )
        return AsyncChatStream(self._start_stream(self._chat.StreamChat, request))

    # --- FeedbackService -----------------------------------------------------------------

    async def feedback(
        self,
        target: Target,
        name: str,
        value: FeedbackInput,
        *,
        rationale: str = "",
        source_type: SourceType = SourceType.HUMAN,
        source_id: str = "",
        metadata: Mapping[str, str] | None = None,
        request_id: str = "",
    ) -> LogResult:
        """Records one typed judgment.

        `value`: bool -> boolean, int/float -> number, str -> category label,
        `Text("...")` -> free text, dict/list -> structured value.
        """
        request = _convert.feedback_request(
            target, name, value, rationale, source_type, source_id, metadata, request_id
        )
        return await self._log_feedback(request)

    async def thumbs_up(
        self, target: Target, *, rationale: str = "", user_id: str = "", request_id: str = ""
    ) -> LogResult:
        """Records `user_feedback = true` from the human `user_id`."""
        request = _convert.thumbs_request(target, True, rationale, user_id, request_id)
        return await self._log_feedback(request)

    async def thumbs_down(
        self, target: Target, *, rationale: str = "", user_id: str = "", request_id: str = ""
    ) -> LogResult:
        """Records `user_feedback = false` from the human `user_id`."""
        request = _convert.thumbs_request(target, False, rationale, user_id, request_id)
        return await self._log_feedback(request)

    async def _log_feedback(self, request: feedback_service_pb2.LogFeedbackRequest) -> LogResult:
        response: feedback_service_pb2.LogFeedbackResponse = await self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

    async def retract(
        self,
        target: Target,
        *,
        user_id: str,
        name: str = USER_FEEDBACK,
        source_type: SourceType = SourceType.HUMAN,
        request_id: str = "",
    ) -> RetractResult:
        """Takes back the current judgment `name` of `user_id` (a human, or `source_type`)
        on the trace: it stops counting and stays in MLflow, invalid. Raises
        `NotFoundError` when that source has none."""
        request = _convert.retract_request(target, name, source_type, user_id, request_id)
        response: feedback_service_pb2.RetractFeedbackResponse = await self._unary(
            self._feedback.RetractFeedback, request
        )
        return _convert.retract_result(response)

    async def log_batch(
        self, items: Sequence[FeedbackItem]
    ) -> tuple[LogResult | FeedbackError, ...]:
        """Records 1 to 500 judgments in one call and one durable transaction; each result,
        in order, is the item's `LogResult` or the `FeedbackError` it was refused with."""
        response: feedback_service_pb2.BatchLogFeedbackResponse = await self._unary(
            self._feedback.BatchLogFeedback, _convert.batch_request(items)
        )
        return _convert.batch_results(response)

    async def rate(
        self,
        target: Target,
        ratings: Mapping[str, int],
        *,
        scale_max: int = 5,
        rationale: str = "",
        user_id: str = "",
        request_id: str = "",
    ) -> RatingsResult:
        """Records several rating dimensions at once (each stored as `user_<dimension>`)."""
        request = _convert.ratings_request(
            target, ratings, scale_max, rationale, user_id, request_id
        )
        response: feedback_service_pb2.LogRatingsResponse = await self._unary(
            self._feedback.LogRatings, request
        )
        return _convert.ratings_result(response)

    async def expect(
        self,
        target: Target,
        name: str,
        value: JsonValue,
        *,
        source_id: str = "",
        metadata: Mapping[str, str] | None = None,
        request_id: str = "",
    ) -> LogResult:
        """Records a ground-truth expectation (any JSON value except None)."""
        request = _convert.expectation_request(target, name, value, source_id, metadata, request_id)
        response: feedback_service_pb2.LogExpectationResponse = await self._unary(
            self._feedback.LogExpectation, request
        )
        return _convert.log_result(response)

    async def list_feedback(self, target: Target) -> FeedbackList:
        """Lists every assessment of a trace, oldest first (queued ones included)."""
        response: feedback_service_pb2.ListFeedbackResponse = await self._unary(
            self._feedback.ListFeedback, _convert.list_request(target)
        )
        return _convert.feedback_list(response)

    async def summarize(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        feedback_name: str = USER_FEEDBACK,
        *,
        user_id: str = "",
        session_id: str = "",
        trace_metadata: Mapping[str, str] | None = None,
        interval: timedelta | None = None,
    ) -> FeedbackSummary:
        """Summarizes the feedback of the traces created in [start, end) (timezone-aware;
        defaults: the last 24 hours), optionally only those of one user, one session or
        with given trace metadata, and per `interval` (buckets aligned to multiples of it
        since the epoch, UTC). Counted by the MLflow tracking server: exact at any scale."""
        request = _convert.summarize_request(
            start, end, feedback_name, user_id, session_id, trace_metadata, interval
        )
        response: feedback_service_pb2.SummarizeFeedbackResponse = await self._unary(
            self._feedback.SummarizeFeedback, request
        )
        return _convert.feedback_summary(response)
