"""One interceptor for every RPC, unary and streaming: request ID, optional bearer-token
auth, exception -> status through the one table in edge/status.py, and RPC metrics."""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from prometheus_client import Counter, Histogram

from ..errors import DeadlineExceeded, ServiceError, Unauthenticated
from .status import to_status

log = logging.getLogger(__name__)

REQUEST_ID = contextvars.ContextVar("request_id", default="")
REQUEST_ID_HEADER = "x-request-id"
_TRAILING_ATTR = "_feedback_trailing_metadata"
# Probes and discovery stay open when auth is on.
_PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

RPC_TOTAL = Counter(
    "feedback_rpc_total", "RPCs handled, by method and status code", ["method", "code"]
)
RPC_SECONDS = Histogram(
    "feedback_rpc_seconds",
    "RPC handling time in seconds, by method",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

Metadata = Sequence[tuple[str, str]]


def add_trailing_metadata(exc: BaseException, metadata: Metadata) -> None:
    """Attaches trailing metadata (e.g. the trace ID) to an error on its way out."""
    setattr(exc, _TRAILING_ATTR, (*getattr(exc, _TRAILING_ATTR, ()), *metadata))


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, auth_token: str = "") -> None:
        self._auth_token = auth_token.encode()

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
                start = self._begin(method, details, context)
                try:
                    self._check_call(method, details, context)
                    response = await inner_uu(request, context)
                except BaseException as exc:
                    await self._fail(method, start, exc, context)
                    raise
                self._done(method, start, grpc.StatusCode.OK)
                return response

            return grpc.unary_unary_rpc_method_handler(
                unary, handler.request_deserializer, handler.response_serializer
            )
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                start = self._begin(method, details, context)
                try:
                    self._check_call(method, details, context)
                    async for item in inner_us(request, context):
                        yield item
                except BaseException as exc:
                    await self._fail(method, start, exc, context)
                    raise
                self._done(method, start, grpc.StatusCode.OK)

            return grpc.unary_stream_rpc_method_handler(
                stream, handler.request_deserializer, handler.response_serializer
            )
        return handler  # client/bidi streaming: none in this API

    # --- parts -------------------------------------------------------------------------

    def _begin(
        self, method: str, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> float:
        incoming = dict(details.invocation_metadata or ()).get(REQUEST_ID_HEADER, "")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else ""
        REQUEST_ID.set(request_id or uuid.uuid4().hex)
        return time.perf_counter()

    def _check_call(
        self, method: str, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded("the deadline passed before the call started")
        if self._auth_token and not method.startswith(_PUBLIC_PREFIXES):
            given = dict(details.invocation_metadata or ()).get("authorization", "")
            expected = b"Bearer " + self._auth_token
            if not hmac.compare_digest(given.encode(), expected):
                raise Unauthenticated("missing or invalid bearer token")

    def _done(self, method: str, start: float, code: grpc.StatusCode) -> None:
        RPC_TOTAL.labels(method, code.name).inc()
        RPC_SECONDS.labels(method).observe(time.perf_counter() - start)

    async def _fail(
        self, method: str, start: float, exc: BaseException, context: grpc.aio.ServicerContext
    ) -> None:
        """Ends the call with the status of `exc` (raises AbortError); cancellation and
        aborts already in progress return, and the caller re-raises them."""
        if isinstance(exc, asyncio.CancelledError | grpc.aio.AbortError):
            self._done(method, start, grpc.StatusCode.CANCELLED)
            return
        request_id = REQUEST_ID.get()
        status = to_status(exc, request_id)
        code = next(c for c in grpc.StatusCode if c.value[0] == status.code)
        if isinstance(exc, ServiceError):
            log.info("%s -> %s: %s [request_id=%s]", method, code.name, exc.message, request_id)
        else:
            log.error("%s failed [request_id=%s]", method, request_id, exc_info=exc)
        self._done(method, start, code)
        trailing = (
            *getattr(exc, _TRAILING_ATTR, ()),
            (REQUEST_ID_HEADER, request_id),
            ("grpc-status-details-bin", status.SerializeToString()),
        )
        await context.abort(code, status.message, trailing_metadata=trailing)
