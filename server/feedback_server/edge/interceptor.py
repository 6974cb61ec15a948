"""The grpc.aio interceptor every RPC of the gRPC port passes through, unary and streaming.

It hands the servicer's handler to grpc.aio without its request deserializer, so the
call receives the request's bytes: the edge (calls.py) checks the credentials from the
method and the metadata first, then decodes them (wire.py), then runs the servicer. The
call's end is the edge's too: exception -> status through the one table, metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import grpc
from google.protobuf.message import Message

from .calls import Call, Edge
from .wire import decode_binary, undecodable

_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, edge: Edge) -> None:
        self._edge = edge

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        metadata = dict(details.invocation_metadata or ())
        decoder = _decoder(handler.request_deserializer, method)
        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def unary(data: bytes, context: grpc.aio.ServicerContext) -> Any:
                call = self._edge.begin(method, metadata, "unary")
                try:
                    call.admit(context.time_remaining())
                    response = await inner_uu(call.decode(decoder, data), context)
                except BaseException as exc:
                    await _fail(call, exc, context)
                    raise
                call.succeeded()
                return response

            return grpc.unary_unary_rpc_method_handler(unary, None, handler.response_serializer)
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def stream(data: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                call = self._edge.begin(method, metadata, "server_stream")
                try:
                    call.admit(context.time_remaining())
                    async for item in inner_us(call.decode(decoder, data), context):
                        call.sent()
                        yield item
                except BaseException as exc:
                    await _fail(call, exc, context)
                    raise
                call.succeeded()

            return grpc.unary_stream_rpc_method_handler(stream, None, handler.response_serializer)
        return handler  # client/bidi streaming: only server reflection, which is public


def _decoder(deserializer: Callable[[bytes], Any] | None, method: str) -> Callable[[bytes], Any]:
    """The handler's deserializer (a message class's `FromString`), through wire.py."""
    message_type = getattr(deserializer, "__self__", None)
    if isinstance(message_type, type) and issubclass(message_type, Message):
        return partial(decode_binary, message_type)
    if deserializer is None:
        return lambda data: data

    def decode(data: bytes) -> Any:  # another deserializer: its failures are undecodable
        try:
            return deserializer(data)
        except Exception:
            raise undecodable(method) from None

    return decode


async def _fail(call: Call, exc: BaseException, context: grpc.aio.ServicerContext) -> None:
    """Ends the call with the status of `exc` (raises AbortError); cancellation and aborts
    already in progress return, and the caller re-raises them."""
    if isinstance(exc, asyncio.CancelledError | grpc.aio.AbortError):
        call.cancelled()
        return
    status, trailing = call.failure(exc)
    await context.abort(
        _GRPC_CODES[status.code],
        status.message,
        trailing_metadata=(*trailing, ("grpc-status-details-bin", status.SerializeToString())),
    )
