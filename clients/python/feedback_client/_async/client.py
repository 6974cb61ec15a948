"""The asynchronous client, over a `grpc.aio.Channel`: the same methods as `FeedbackClient`."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import grpc
import grpc.aio
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
)

from .. import _convert
from .._errors import from_rpc_error
from .._sync import DEFAULT_TARGET
from .._types import (
    USER_FEEDBACK,
    ChatResult,
    FeedbackInput,
    FeedbackList,
    FeedbackSummary,
    JsonValue,
    LogResult,
    RatingsResult,
    SourceType,
    Target,
)
from .review import AsyncReviewMethods
from .stream import AsyncChatStream


class AsyncFeedbackClient(AsyncReviewMethods):
    """The `grpc.aio` twin of `FeedbackClient`: same arguments, same methods, awaited.

    ``stream_chat()`` is not awaited: it returns an `AsyncChatStream` to ``async for`` over.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        channel: grpc.aio.Channel | None = None,
        timeout: float | None = 10.0,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._owns_channel = channel is None
        self._channel = grpc.aio.insecure_channel(target) if channel is None else channel
        self._timeout = timeout
        self._metadata = tuple(metadata)
        self._chat = chat_service_pb2_grpc.ChatServiceStub(self._channel)
        self._feedback = feedback_service_pb2_grpc.FeedbackServiceStub(self._channel)

    async def close(self) -> None:
        """Closes the channel if the client created it."""
        if self._owns_channel:
            self._owns_channel = False
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def with_options(
        self,
        *,
        timeout: float | None = None,
        metadata: Sequence[tuple[str, str]] | None = None,
    ) -> Self:
        """A client sharing this one's channel, with another timeout and/or gRPC metadata."""
        clone = copy.copy(self)
        clone._owns_channel = False
        if timeout is not None:
            clone._timeout = timeout
        if metadata is not None:
            clone._metadata = tuple(metadata)
        return clone

    async def _unary(self, method: Any, request: Any) -> Any:
        try:
            return await method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

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
        """Answers one message as a stream of text deltas (see `AsyncChatStream`)."""
        request = _convert.stream_chat_request(
            message, client_request_id, user_id, session_id, metadata
        )
        call = self._chat.StreamChat(request, timeout=self._timeout, metadata=self._metadata)
        return AsyncChatStream(call)

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
        """Records one typed judgment (see `FeedbackClient.feedback`)."""
        request = _convert.feedback_request(
            target, name, value, rationale, source_type, source_id, metadata, request_id
        )
        response: feedback_service_pb2.LogFeedbackResponse = await self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

    async def thumbs_up(
        self, target: Target, *, rationale: str = "", user_id: str = "", request_id: str = ""
    ) -> LogResult:
        """Records `user_feedback = true` from the human `user_id`."""
        request = _convert.thumbs_request(target, True, rationale, user_id, request_id)
        response: feedback_service_pb2.LogFeedbackResponse = await self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

    async def thumbs_down(
        self, target: Target, *, rationale: str = "", user_id: str = "", request_id: str = ""
    ) -> LogResult:
        """Records `user_feedback = false` from the human `user_id`."""
        request = _convert.thumbs_request(target, False, rationale, user_id, request_id)
        response: feedback_service_pb2.LogFeedbackResponse = await self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

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
    ) -> FeedbackSummary:
        """Summarizes the feedback of the traces created in [start, end) (timezone-aware;
        defaults: the last 24 hours)."""
        request = _convert.summarize_request(start, end, feedback_name)
        response: feedback_service_pb2.SummarizeFeedbackResponse = await self._unary(
            self._feedback.SummarizeFeedback, request
        )
        return _convert.feedback_summary(response)
