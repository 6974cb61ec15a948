"""The stream of a chat turn of the asynchronous client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

import grpc
import grpc.aio
from feedback.v1 import (
    chat_service_pb2,
)

from .. import _convert
from .._errors import from_rpc_error, metadata_str, missing_completion
from .._types import (
    TRACE_ID_METADATA_KEY,
    ChatCompletion,
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
