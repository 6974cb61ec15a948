"""The channel of a client, its lifecycle, and the one way every RPC is called."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from feedback.v1 import (
    chat_service_pb2_grpc,
    feedback_service_pb2_grpc,
    review_service_pb2_grpc,
)

from .._flavour import AsyncChannel, AsyncGrpc
from .._types import DEFAULT_TARGET, TlsOptions

Metadata = tuple[tuple[str, str], ...]


class AsyncClientBase:
    """A channel (created or given), the stubs of every service over it, and the call options."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        channel: AsyncChannel | None = None,
        timeout: float | None = 10.0,
        metadata: Sequence[tuple[str, str]] = (),
        tls: TlsOptions | None = None,
    ) -> None:
        self._owns_channel = channel is None
        if channel is None:
            channel = (
                AsyncGrpc.insecure_channel(target)
                if tls is None
                else AsyncGrpc.secure_channel(target, tls)
            )
        self._channel = channel
        self._timeout = timeout
        self._metadata: Metadata = tuple(metadata)
        self._chat = chat_service_pb2_grpc.ChatServiceStub(self._channel)
        self._feedback = feedback_service_pb2_grpc.FeedbackServiceStub(self._channel)
        self._review = review_service_pb2_grpc.ReviewServiceStub(self._channel)

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

    def _options(self, metadata: Metadata | None) -> dict[str, Any]:
        return {
            "timeout": self._timeout,
            "metadata": self._metadata if metadata is None else metadata,
        }

    async def _unary(self, method: Any, request: Any, metadata: Metadata | None = None) -> Any:
        """Calls a unary RPC with the client's options (and `metadata` instead of its own)."""
        try:
            return await method(request, **self._options(metadata))
        except AsyncGrpc.ERRORS as error:
            raise AsyncGrpc.error(error) from error

    def _start_stream(self, method: Any, request: Any, metadata: Metadata | None = None) -> Any:
        """Starts a server-streaming RPC; the failures of a started call come from reading it."""
        try:
            return method(request, **self._options(metadata))
        except AsyncGrpc.ERRORS as error:
            raise AsyncGrpc.error(error) from error
