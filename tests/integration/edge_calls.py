"""Calls to both ports of a feedback server with nothing of ours in between: raw bytes over
a gRPC channel, and the Connect and gRPC-Web protocols spoken over plain HTTP (urllib), so
the tests see exactly what a foreign client sees: codes, details, headers, bytes.

Every call returns a `Reply`: the status code name (`OK`, `INVALID_ARGUMENT`, ...), the
message text, the `google.rpc.Status` details and the response messages.
"""

from __future__ import annotations

import base64
import json
import ssl
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import grpc
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2

PORTS = ("grpc", "connect-proto", "connect-json", "grpc-web")
#: Exception text a caller must never see.
LEAKS = ("Traceback", "DecodeError", "Error parsing", "Exception", "RecursionError", 'File "')


@dataclass
class Reply:
    code: str
    message: str = ""
    details: list[Any] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)  # binary, or JSON text as bytes
    headers: dict[str, str] = field(default_factory=dict)

    def detail(self, kind: type[Message]) -> Any:
        found = [d for d in self.details if isinstance(d, kind)]
        return found[0] if found else None

    def fields(self) -> list[str]:
        bad = self.detail(error_details_pb2.BadRequest)
        return [v.field for v in bad.field_violations] if bad else []

    def assert_clean(self) -> None:
        text = self.message + " ".join(str(d) for d in self.details)
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} in the error: {text}"


def _details(status: status_pb2.Status) -> list[Any]:
    out: list[Any] = []
    for any_detail in status.details:
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
            error_details_pb2.RequestInfo,
            error_details_pb2.ResourceInfo,
        ):
            if any_detail.Is(kind.DESCRIPTOR):
                detail = kind()
                any_detail.Unpack(detail)
                out.append(detail)
    return out


# --- gRPC -------------------------------------------------------------------------------


def grpc_call(
    channel: grpc.Channel,
    method: str,
    data: bytes,
    *,
    streaming: bool = False,
    metadata: tuple[tuple[str, str], ...] = (),
    timeout: float = 30,
) -> Reply:
    """`data` as the request bytes of `method` (`/package.Service/Method`)."""
    try:
        if streaming:
            call = channel.unary_stream(method)(data, metadata=metadata, timeout=timeout)
            messages = list(call)
        else:
            messages = [channel.unary_unary(method)(data, metadata=metadata, timeout=timeout)]
        return Reply("OK", messages=messages)
    except grpc.RpcError as err:
        trailing = dict(err.trailing_metadata() or ())  # type: ignore[attr-defined]
        status = status_pb2.Status()
        if "grpc-status-details-bin" in trailing:
            status.ParseFromString(trailing["grpc-status-details-bin"])
        code = err.code().name  # type: ignore[attr-defined]
        details = err.details() or ""  # type: ignore[attr-defined]
        return Reply(
            code, details, _details(status), headers={k: str(v) for k, v in trailing.items()}
        )


# --- HTTP: Connect and gRPC-Web ----------------------------------------------------------


def envelope(data: bytes, flags: int = 0) -> bytes:
    return struct.pack(">BI", flags, len(data)) + data


def http_call(
    base_url: str,
    method: str,
    data: bytes,
    *,
    protocol: str,
    streaming: bool = False,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 30,
) -> Reply:
    """`data` (binary protobuf, or JSON for `connect-json`) as the request of `method`
    over `protocol`: `connect-proto`, `connect-json` or `grpc-web`."""
    json_codec = protocol == "connect-json"
    if protocol == "grpc-web":
        content_type, body = "application/grpc-web+proto", envelope(data)
    elif streaming:
        content_type = "application/connect+" + ("json" if json_codec else "proto")
        body = envelope(data)
    else:
        content_type, body = "application/" + ("json" if json_codec else "proto"), data
    request = urllib.request.Request(
        base_url + method,
        data=body,
        method="POST",
        headers={"content-type": content_type, "connect-protocol-version": "1", **(headers or {})},
    )
    handlers: list[Any] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        status, raw, got = err.code, err.read(), dict(err.headers)
    got = {k.lower(): v for k, v in got.items()}
    if protocol == "grpc-web":
        if status == 404:  # gRPC-Web: no such method
            return Reply("UNIMPLEMENTED", headers=got)
        return _grpc_web_reply(raw, got)
    if streaming and status == 200:
        return _connect_stream_reply(raw, got)
    if status == 200:
        return Reply("OK", messages=[raw], headers=got)
    return _connect_error_reply(json.loads(raw) if raw else {}, got, status)


def _frames(raw: bytes) -> list[tuple[int, bytes]]:
    frames, at = [], 0
    while at + 5 <= len(raw):
        flags, size = struct.unpack(">BI", raw[at : at + 5])
        frames.append((flags, raw[at + 5 : at + 5 + size]))
        at += 5 + size
    return frames


def _connect_error_reply(error: dict[str, Any], headers: dict[str, str], status: int = 0) -> Reply:
    # Connect's HTTP status -> code mapping, for errors without a body (404: no such method)
    fallback = "UNIMPLEMENTED" if status == 404 else f"HTTP_{status}"
    code = str(error.get("code", fallback)).upper().replace("CANCELED", "CANCELLED")
    proto_status = status_pb2.Status()
    for detail in error.get("details", []):
        packed = proto_status.details.add()
        packed.type_url = "type.googleapis.com/" + detail["type"]
        packed.value = base64.b64decode(detail["value"] + "===")
    return Reply(code, error.get("message", ""), _details(proto_status), headers=headers)


def _connect_stream_reply(raw: bytes, headers: dict[str, str]) -> Reply:
    messages, end = [], {}
    for flags, payload in _frames(raw):
        if flags & 0x02:
            end = json.loads(payload)
        else:
            messages.append(payload)
    if "error" in end:
        reply = _connect_error_reply(end["error"], headers)
        reply.messages = messages
        for key, values in end.get("metadata", {}).items():
            reply.headers[key.lower()] = values[0]
        return reply
    return Reply("OK", messages=messages, headers=headers)


def _grpc_web_reply(raw: bytes, headers: dict[str, str]) -> Reply:
    messages, trailers = [], dict(headers)
    for flags, payload in _frames(raw):
        if flags & 0x80:
            for line in payload.decode().split("\r\n"):
                if ":" in line:
                    key, value = line.split(":", 1)
                    trailers[key.strip().lower()] = value.strip()
        else:
            messages.append(payload)
    number = int(trailers.get("grpc-status", "2"))
    status = status_pb2.Status()
    if "grpc-status-details-bin" in trailers:
        encoded = trailers["grpc-status-details-bin"]
        status.ParseFromString(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    return Reply(
        code_pb2.Code.Name(number),
        unquote(trailers.get("grpc-message", "")),
        _details(status),
        messages,
        trailers,
    )


def call(
    port: str,
    *,
    channel: grpc.Channel,
    base_url: str,
    method: str,
    request: Message | bytes,
    streaming: bool = False,
    token: str = "",
) -> Reply:
    """One call of `method` on `port` (one of `PORTS`), with `request` encoded as that port
    encodes it (bytes are sent as they are), `token` as its bearer credential."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    if isinstance(request, Message):
        if port == "connect-json":
            from google.protobuf import json_format

            data = json_format.MessageToJson(request, indent=None).encode()
        else:
            data = request.SerializeToString()
    else:
        data = request
    if port == "grpc":
        return grpc_call(channel, method, data, streaming=streaming, metadata=metadata)
    return http_call(
        base_url, method, data, protocol=port, streaming=streaming, headers=dict(metadata)
    )


class Ports:
    """Both ports of a server started by `start_service` (its HTTP port on `http_port`)."""

    def __init__(self, service: Any, http_port: int, token: str = "") -> None:
        self.service = service
        self.base_url = f"http://127.0.0.1:{http_port}"
        self.channel = grpc.insecure_channel(f"127.0.0.1:{service.app.port}")
        self.token = token

    async def call(
        self,
        port: str,
        method: str,
        request: Message | bytes,
        *,
        token: str | None = None,
        streaming: bool = False,
    ) -> Reply:
        """`call`, off the event loop, with this server's default credential."""
        import asyncio

        return await asyncio.to_thread(
            call,
            port,
            channel=self.channel,
            base_url=self.base_url,
            method=method,
            request=request,
            streaming=streaming,
            token=self.token if token is None else token,
        )
