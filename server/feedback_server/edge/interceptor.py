"""The grpc.aio interceptor every RPC passes through, unary and streaming: request ID,
credential check (auth.py), deadline, exception -> status through the one table
(status.py), and RPC metrics (metrics.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.rpc import code_pb2

from ..errors import DeadlineExceeded, ServiceError
from .auth import Authenticator
from .metrics import RpcCall, RpcType
from .request_id import REQUEST_ID, REQUEST_ID_HEADER, begin_request
from .status import to_status, trailing_metadata

log = logging.getLogger(__name__)

_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, auth_token: str = "") -> None:
        self._auth = Authenticator(auth_token)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
                call, metadata = self._begin(details, "unary")
                try:
                    self._check_call(method, metadata, context)
                    response = await inner_uu(request, context)
                except BaseException as exc:
                    await self._fail(method, call, exc, context)
                    raise
                call.handled(code_pb2.OK)
                return response

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                call, metadata = self._begin(details, "server_stream")
                try:
                    self._check_call(method, metadata, context)
                    async for item in inner_us(request, context):
                        call.sent()
                        yield item
                except BaseException as exc:
                    await self._fail(method, call, exc, context)
                    raise
                call.handled(code_pb2.OK)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler  # client/bidi streaming: none in this API

    # --- parts -------------------------------------------------------------------------

    def _begin(
        self, details: grpc.HandlerCallDetails, rpc_type: RpcType
    ) -> tuple[RpcCall, dict[str, str]]:
        metadata = dict(details.invocation_metadata or ())
        begin_request(metadata)
        return RpcCall(details.method, rpc_type), metadata

    def _check_call(
        self, method: str, metadata: dict[str, str], context: grpc.aio.ServicerContext
    ) -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded("the deadline passed before the call started")
        self._auth.check(method, metadata)

    async def _fail(
        self, method: str, call: RpcCall, exc: BaseException, context: grpc.aio.ServicerContext
    ) -> None:
        """Ends the call with the status of `exc` (raises AbortError); cancellation and
        aborts already in progress return, and the caller re-raises them."""
        if isinstance(exc, asyncio.CancelledError | grpc.aio.AbortError):
            call.handled(code_pb2.CANCELLED)
            return
        request_id = REQUEST_ID.get()
        status = to_status(exc, request_id)
        code = _GRPC_CODES[status.code]
        if isinstance(exc, ServiceError):
            log.info("%s -> %s: %s [request_id=%s]", method, code.name, exc.message, request_id)
        else:
            log.error("%s failed [request_id=%s]", method, request_id, exc_info=exc)
        call.handled(status.code)
        trailing = (
            *trailing_metadata(exc),
            (REQUEST_ID_HEADER, request_id),
            ("grpc-status-details-bin", status.SerializeToString()),
        )
        await context.abort(code, status.message, trailing_metadata=trailing)
