"""The synchronous client, over a `grpc.Channel`."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import grpc
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
)

from . import _convert
from ._errors import from_rpc_error, metadata_str, missing_completion
from ._review import ReviewMethods
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

DEFAULT_TARGET = "127.0.0.1:50051"


class ChatStream(Iterator[str]):
    """A streamed chat turn: iterate it for the text deltas, in order.

    Once the stream is exhausted, `completion` holds the terminal message (trace ID,
    client request ID and full text). `trace_id_header` is the trace ID sent in the initial
    metadata, known before the first delta. Use it as a context manager (or call `cancel()`)
    to stop a stream early::

        with client.stream_chat("Hello") as stream:
            for delta in stream:
                print(delta, end="")
        client.thumbs_up(stream.completion.trace_id)  # or: stream.result().trace_id

    A failure raises `FeedbackError` from the iteration; its `trace_id` names the trace of
    the failed turn when the service sent one.
    """

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
        """The trace ID from the initial metadata (`x-mlflow-trace-id`).

        Waits for the initial metadata if it has not arrived yet (it arrives at the latest
        with the first message), so it is known before the first delta is read.
        """
        self._read_headers()
        return self._trace_id_header

    @property
    def trace_id(self) -> str | None:
        """The trace ID of this turn: from the completion, else from the initial metadata."""
        if self._completion is not None:
            return self._completion.trace_id
        return self.trace_id_header

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._parts)

    def _read_headers(self) -> None:
        if self._headers_read:
            return
        self._headers_read = True
        try:
            self._trace_id_header = metadata_str(
                self._call.initial_metadata(), TRACE_ID_METADATA_KEY
            )
        except Exception:
            self._trace_id_header = None

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        while not self._done:
            try:
                message: chat_service_pb2.StreamChatResponse = next(self._call)
            except StopIteration:
                self._done = True
                self._read_headers()
                if self._completion is None:
                    raise missing_completion(self._trace_id_header) from None
                raise
            except grpc.RpcError as error:
                self._done = True
                self._read_headers()
                raise from_rpc_error(error, trace_id=self._trace_id_header) from error
            event = message.WhichOneof("event")
            if event == "delta":
                self._parts.append(message.delta.content)
                return message.delta.content
            if event == "completion":
                self._completion = _convert.chat_completion(message.completion)
        raise StopIteration

    def result(self) -> ChatCompletion:
        """Reads the rest of the stream and returns its completion."""
        for _ in self:
            pass
        if self._completion is None:  # pragma: no cover - __next__ raises first
            raise missing_completion(self.trace_id)
        return self._completion

    def cancel(self) -> None:
        """Stops the stream (the service sees `CANCELLED`); a no-op once it ended."""
        if not self._done:
            self._done = True
            self._call.cancel()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()


class FeedbackClient(ReviewMethods):
    """A typed client of the feedback service (`ChatService` and `FeedbackService`).

    Args:
        target: The service address, used when no `channel` is given (insecure channel;
            pass a `grpc.secure_channel(...)` as `channel` for TLS).
        channel: A channel to use instead; the client does not close a channel it was given.
        timeout: The deadline of every call, in seconds (None: no deadline). This includes
            whole streams: use `with_options(timeout=...)` for long answers.
        metadata: gRPC metadata sent with every call, e.g. ``[("authorization", "Bearer ...")]``.

    A `target` of the feedback methods is an MLflow trace ID string (``"tr-..."``) or a
    `TraceRef` from `by_trace_id()` / `by_request_id()`; any other string raises ValueError.
    Every failed call raises `FeedbackError`.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        channel: grpc.Channel | None = None,
        timeout: float | None = 10.0,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> None:
        self._owns_channel = channel is None
        self._channel = grpc.insecure_channel(target) if channel is None else channel
        self._timeout = timeout
        self._metadata = tuple(metadata)
        self._chat = chat_service_pb2_grpc.ChatServiceStub(self._channel)
        self._feedback = feedback_service_pb2_grpc.FeedbackServiceStub(self._channel)

    # --- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Closes the channel if the client created it."""
        if self._owns_channel:
            self._owns_channel = False
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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

    def _unary(self, method: Any, request: Any) -> Any:
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

    # --- ChatService ---------------------------------------------------------------------

    def chat(
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
        response: chat_service_pb2.ChatResponse = self._unary(self._chat.Chat, request)
        return _convert.chat_result(response)

    def stream_chat(
        self,
        message: str,
        *,
        client_request_id: str = "",
        user_id: str = "",
        session_id: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> ChatStream:
        """Answers one message as a stream of text deltas (see `ChatStream`)."""
        request = _convert.stream_chat_request(
            message, client_request_id, user_id, session_id, metadata
        )
        try:
            call = self._chat.StreamChat(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        return ChatStream(call)

    # --- FeedbackService -----------------------------------------------------------------

    def feedback(
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
        response: feedback_service_pb2.LogFeedbackResponse = self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

    def thumbs_up(
        self, target: Target, *, rationale: str = "", user_id: str = "", request_id: str = ""
    ) -> LogResult:
        """Records `user_feedback = true` from the human `user_id`."""
        request = _convert.thumbs_request(target, True, rationale, user_id, request_id)
        response: feedback_service_pb2.LogFeedbackResponse = self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

    def thumbs_down(
        self, target: Target, *, rationale: str = "", user_id: str = "", request_id: str = ""
    ) -> LogResult:
        """Records `user_feedback = false` from the human `user_id`."""
        request = _convert.thumbs_request(target, False, rationale, user_id, request_id)
        response: feedback_service_pb2.LogFeedbackResponse = self._unary(
            self._feedback.LogFeedback, request
        )
        return _convert.log_result(response)

    def rate(
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
        response: feedback_service_pb2.LogRatingsResponse = self._unary(
            self._feedback.LogRatings, request
        )
        return _convert.ratings_result(response)

    def expect(
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
        response: feedback_service_pb2.LogExpectationResponse = self._unary(
            self._feedback.LogExpectation, request
        )
        return _convert.log_result(response)

    def list_feedback(self, target: Target) -> FeedbackList:
        """Lists every assessment of a trace, oldest first (queued ones included)."""
        response: feedback_service_pb2.ListFeedbackResponse = self._unary(
            self._feedback.ListFeedback, _convert.list_request(target)
        )
        return _convert.feedback_list(response)

    def summarize(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        feedback_name: str = USER_FEEDBACK,
    ) -> FeedbackSummary:
        """Summarizes the feedback of the traces created in [start, end) (timezone-aware;
        defaults: the last 24 hours)."""
        request = _convert.summarize_request(start, end, feedback_name)
        response: feedback_service_pb2.SummarizeFeedbackResponse = self._unary(
            self._feedback.SummarizeFeedback, request
        )
        return _convert.feedback_summary(response)
