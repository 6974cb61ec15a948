"""The services over the Connect protocol (JSON and binary, unary and server streaming) and
gRPC-Web, through `connectrpc` (connect-python), on the HTTP port.

The same servicer objects as the gRPC port are served, each call through the same edge
(calls.py: request ID, limits, credentials before the request is decoded, the one error
table, metrics). `connectrpc` does the protocols: framing, content types, timeouts
(`connect-timeout-ms`, `grpc-timeout`), error encodings (the `google.rpc.Status` details
go out as Connect error details and as `grpc-status-details-bin`). Its codecs here do not
parse: they hand the request's bytes to the edge (wire.py decodes them after the
credentials are checked), and encode responses with google.protobuf.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication, Endpoint
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import code_pb2
from protobuf.wkt import Any as AnyDetail

from ..errors import DeadlineExceeded
from .calls import Call, Edge
from .request_id import REQUEST_ID_HEADER
from .wire import decode_binary, decode_json, encode_json


@dataclass(frozen=True, slots=True)
class RawRequest:
    """A request as the codec received it: its bytes, not decoded yet."""

    data: bytes
    json: bool


class _PassThroughCodec:
    """A Connect codec that decodes nothing (the edge does, after the credentials) and
    encodes google.protobuf messages."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._json = name == "json"

    def name(self) -> str:
        return self._name

    def encode(self, message: Message) -> bytes:
        return encode_json(message) if self._json else message.SerializeToString()

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> RawRequest:
        return RawRequest(bytes(data), self._json)


class HttpCallContext:
    """What the servicers use of a call's context (`grpc.aio.ServicerContext` on the gRPC
    port): the time left, and the initial metadata (response headers here)."""

    def __init__(self, ctx: RequestContext[Any, Any]) -> None:
        self.ctx = ctx
        ms = ctx.timeout_ms
        self.deadline = None if ms is None else time.monotonic() + ms / 1000

    def time_remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    async def send_initial_metadata(self, metadata: Iterable[tuple[str, str]]) -> None:
        for key, value in metadata:
            self.ctx.response_headers[key] = value


class ConnectApp(ConnectASGIApplication[Mapping[str, Any]]):
    """Every method of the given services, at `/<package.Service>/<Method>`."""

    @property
    def path(self) -> str:
        return "/"


def connect_app(
    edge: Edge,
    services: Sequence[tuple[ServiceDescriptor, object]],
    *,
    read_max_bytes: int,
) -> ConnectApp:
    """The Connect/gRPC-Web application of `services`: (descriptor, servicer) pairs."""
    endpoints: dict[str, Any] = {}
    for descriptor, servicer in services:
        for method in descriptor.methods:
            behavior = getattr(servicer, method.name)
            if behavior.__module__.endswith("_pb2_grpc"):
                continue  # in the contract, not served yet: Connect answers unimplemented
            path = f"/{descriptor.full_name}/{method.name}"
            request_type = GetMessageClass(method.input_type)
            info = MethodInfo(
                name=method.name,
                service_name=descriptor.full_name,
                input=request_type,
                output=GetMessageClass(method.output_type),
                idempotency_level=IdempotencyLevel.UNKNOWN,
                stream_type=StreamType.SERVER_STREAM
                if method.server_streaming
                else StreamType.UNARY,
            )
            run = _Method(edge, path, request_type, behavior)
            endpoints[path] = (
                Endpoint.server_stream(info, run.stream)
                if method.server_streaming
                else Endpoint.unary(info, run.unary)
            )
    return ConnectApp(
        service=endpoints,
        endpoints=lambda table: table,
        read_max_bytes=read_max_bytes,
        compressions=(),  # identity only: no decompression bombs, no codec surprises
        codecs=[_PassThroughCodec("proto"), _PassThroughCodec("json")],
    )


class _Method:
    """One servicer method behind the edge."""

    def __init__(
        self, edge: Edge, path: str, request_type: type[Message], behavior: Callable[..., Any]
    ) -> None:
        self._edge = edge
        self._path = path
        self._request_type = request_type
        self._behavior = behavior

    def _admit(self, call: Call, raw: RawRequest, context: HttpCallContext) -> Any:
        """Credentials and limits, then the request, decoded (calls.py)."""
        context.ctx.response_headers[REQUEST_ID_HEADER] = call.request_id
        call.admit(context.time_remaining())
        decode = decode_json if raw.json else decode_binary
        return call.decode(partial(decode, self._request_type), raw.data, json_body=raw.json)

    async def unary(self, raw: RawRequest, ctx: RequestContext[Any, Any]) -> Any:
        metadata = _metadata(ctx)
        call = self._edge.begin(self._path, metadata, "unary", _rpc_system(metadata))
        context = HttpCallContext(ctx)
        try:
            request = self._admit(call, raw, context)
            async with _deadline(context):
                response = await self._behavior(request, context)
        except asyncio.CancelledError:
            call.cancelled()
            raise
        except BaseException as exc:
            raise _connect_error(call, exc, ctx) from None
        call.succeeded()
        return response

    async def stream(self, raw: RawRequest, ctx: RequestContext[Any, Any]) -> AsyncIterator[Any]:
        metadata = _metadata(ctx)
        call = self._edge.begin(self._path, metadata, "server_stream", _rpc_system(metadata))
        context = HttpCallContext(ctx)
        try:
            request = self._admit(call, raw, context)
            items = self._behavior(request, context)
            try:
                while True:
                    try:
                        async with _deadline(context):
                            item = await anext(items)
                    except StopAsyncIteration:
                        break
                    call.sent()
                    yield item
            finally:
                await items.aclose()
        except (asyncio.CancelledError, GeneratorExit):
            call.cancelled()
            raise
        except BaseException as exc:
            raise _connect_error(call, exc, ctx) from None
        call.succeeded()


@contextlib.asynccontextmanager
async def _deadline(context: HttpCallContext) -> AsyncIterator[None]:
    """The call's deadline (`connect-timeout-ms`, `grpc-timeout`) over what runs inside:
    past it, `DeadlineExceeded` (connectrpc reads the header; it does not enforce it)."""
    if context.deadline is None:
        yield
        return
    left = max(0.0, context.deadline - time.monotonic())
    try:
        async with asyncio.timeout_at(asyncio.get_running_loop().time() + left) as scope:
            yield
    except TimeoutError:
        if scope.expired():
            raise DeadlineExceeded("the deadline passed") from None
        raise


def _metadata(ctx: RequestContext[Any, Any]) -> dict[str, str]:
    return {key.lower(): value for key, value in ctx.request_headers.items()}


def _rpc_system(metadata: Mapping[str, str]) -> str:
    """OpenTelemetry's name of the call's protocol: gRPC-Web is gRPC, the rest Connect."""
    grpc_web = metadata.get("content-type", "").startswith("application/grpc-web")
    return "grpc" if grpc_web else "connect_rpc"


def _connect_error(call: Call, exc: BaseException, ctx: RequestContext[Any, Any]) -> ConnectError:
    """The `ConnectError` of the one table's status for `exc`, with the same details and
    trailing metadata as on the gRPC port."""
    status, trailing = call.failure(exc)
    for key, value in trailing:
        ctx.response_trailers[key] = value
    details = [AnyDetail(type_url=d.type_url, value=d.value) for d in status.details]
    return ConnectError(_CODES[status.code], status.message, details)


_CODES = {
    number: Code(name.lower().replace("cancelled", "canceled"))
    for name, number in code_pb2.Code.items()
    if number != code_pb2.OK
}
