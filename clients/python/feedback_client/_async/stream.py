"""`ChatStream` and `AsyncChatStream`: the text deltas of a streamed chat turn, then its end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

from feedback.v1 import chat_service_pb2

from .. import _convert
from .._errors import missing_completion
from .._flavour import AsyncGrpc, AsyncStreamBase
from .._types import ChatCompletion


class AsyncChatStream(AsyncStreamBase, AsyncIterator[str]):
    """A streamed chat turn: iterate it for the text deltas, in order.

    Once the stream is exhausted, `completion` holds the terminal message (trace ID,
    client request ID and full text). `trace_id_header` is the trace ID sent in the initial
    metadata, known before the first delta. Use it as a context manager (or call `cancel()`)
    to stop a stream early::

        with client.stream_chat("Hello") as stream:
            for delta in stream:
                print(delta, end="")
        client.thumbs_up(stream.completion.trace_id)  # or: stream.result().trace_id

    `AsyncChatStream` is the same with ``async with`` and ``async for``; ``await
    stream.wait_trace_id_header()`` waits for the initial metadata. A failure raises
    `FeedbackError` from the iteration; its `trace_id` names the trace of the failed turn
    when the service sent one.
    """

    def __init__(self, call: Any) -> None:
        super().__init__(call)
        self._messages = aiter(call)
        self._completion: ChatCompletion | None = None
        self._parts: list[str] = []
        self._done = False

    @property
    def completion(self) -> ChatCompletion | None:
        """The terminal message; None until the stream has been read to its end."""
        return self._completion

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

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        while not self._done:
            try:
                message: chat_service_pb2.StreamChatResponse = await anext(self._messages)
            except StopAsyncIteration:
                self._done = True
                await self._read_headers()
                if self._completion is None:
                    raise missing_completion(self._trace_id_header) from None
                raise
            except AsyncGrpc.ERRORS as error:
                self._done = True
                await self._read_headers()
                raise AsyncGrpc.error(error, self._trace_id_header) from error
            await self._message_read()
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
        if self._completion is None:  # pragma: no cover - the iteration raises first
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
