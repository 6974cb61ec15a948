"""The asynchronous client, over a `grpc.aio.Channel`: the same methods as `FeedbackClient`."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Mapping, Sequence
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

from . import _convert
from ._errors import from_rpc_error, metadata_str, missing_completion
from ._review import AsyncReviewMethods
from ._sync import DEFAULT_TARGET
from ._types import (
    TRACE_ID_METADATA_KEY,
    USER_FEEDBACK,
    ChatCompletion,
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


class AsyncChatStream(AsyncIterator[str]):
    """The `grpc.aio` twin of `ChatStream`: ``async for delta in stream``, then `completion`."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._headers_read = False
        self._trace_id_header: str | None = None
        self._completion: ChatCompletion | None = None
        self._parts: list[str] = []
        self._done = False

    @property
    def completion(self) -> ChatCompletion | None:
        """The terminal message; None until the stream has been read to its end."""
        return self._completion

    @property
    def trace_id_header(self) -> str | None:
        """The trace ID from the initial metadata (`x-mlflow-trace-id`), once received (at
        the latest with the first message); see `wait_trace_id_header()`."""
        return self._trace_id_header

    async def wait_trace_id_header(self) -> str | None:
        """Waits for the initial metadata and returns its trace ID, before any delta."""
        await self._read_headers()
        return self._trace_id_header

    @property
    def trace_id(self) -> str | None:
        """The trace ID of this turn: from the completion, else from the initial metadata."""
        if self._completion is not None:
            return self._completion.trace_id
        return self._trace_id_header

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._parts)

    async def _read_headers(self) -> None:
        if self._headers_read:
            return
        self._headers_read = True
        try:
            self._trace_id_header = metadata_str(
                await self._call.initial_metadata(), TRACE_ID_METADATA_KEY
            )
        except Exception:
            self._trace_id_header = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        while not self._done:
            try:
                message = await self._call.read()
            except grpc.RpcError as error:
                self._done = True
                await self._read_headers()
                raise from_rpc_error(error, trace_id=self._trace_id_header) from error
            await self._read_headers()
            if message is grpc.aio.EOF:
                self._done = True
                if self._completion is None:
                    raise missing_completion(self._trace_id_header)
                break
            assert isinstance(message, chat_service_pb2.StreamChatResponse)
            event = message.WhichOneof("event")
            if event == "delta":
                self._parts.append(message.delta.content)
                return message.delta.content
            if event == "completion":
                self._completion = _convert.chat_completion(message.completion)
        raise StopAsyncIteration

    async def result(self) -> ChatCompletion:
        """Reads the rest of the stream and returns its completion."""
        async for _ in self:
            pass
        if self._completion is None:  # pragma: no cover - __anext__ raises first
            raise missing_completion(self.trace_id)
        return self._completion

    def cancel(self) -> None:
        """Stops the stream (the service sees `CANCELLED`); a no-op once it ended."""
        if not self._done:
            self._done = True
            self._call.cancel()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()


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
