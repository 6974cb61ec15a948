"""RPC metrics, recorded once per call by the edge (README "Operations").

The names, labels and label values are those of go-grpc-prometheus (also used by its Java
and Python ports), so the dashboards and alerts written for gRPC services in Go work
unchanged:

- `grpc_server_started_total{grpc_type, grpc_service, grpc_method}`: calls started;
- `grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}`: calls
  finished, by status code;
- `grpc_server_handling_seconds{grpc_type, grpc_service, grpc_method}`: a histogram of the
  time from start to status;
- `grpc_server_msg_received_total` / `grpc_server_msg_sent_total{grpc_type, grpc_service,
  grpc_method}`: messages read and written (one each for a successful unary call).

`grpc_type` is `unary`, `client_stream`, `server_stream` or `bidi_stream`; `grpc_service` is
the full service name (`feedback.v1.ChatService`) and `grpc_method` the method's (`Chat`);
`grpc_code` is the code's name as Go spells it (`OK`, `Canceled`, `InvalidArgument`, ...).

Protocol-neutral: a call is named by its full method name (`/package.Service/Method`) and
ends with a `google.rpc.Code` value, so the gRPC interceptor and an HTTP port (Connect,
gRPC-Web) record into the same series.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from google.protobuf.descriptor import ServiceDescriptor
from google.rpc import code_pb2
from prometheus_client import Counter, Histogram

RpcType = Literal["unary", "client_stream", "server_stream", "bidi_stream"]

#: `google.rpc.Code` value -> the label value (Go's `codes.Code.String()`).
CODE_LABELS = (
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
)

_LABELS = ("grpc_type", "grpc_service", "grpc_method")

STARTED = Counter("grpc_server_started_total", "RPCs started on the server.", _LABELS)
HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by status code.",
    (*_LABELS, "grpc_code"),
)
HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time from an RPC's start to its status, in seconds.",
    _LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MSG_RECEIVED = Counter(
    "grpc_server_msg_received_total", "Messages received on the server.", _LABELS
)
MSG_SENT = Counter("grpc_server_msg_sent_total", "Messages sent by the server.", _LABELS)


def code_label(code: int) -> str:
    """The `grpc_code` label of a `google.rpc.Code` value (`Unknown` for one out of range)."""
    return CODE_LABELS[code] if 0 <= code < len(CODE_LABELS) else "Unknown"


def split_method(method: str) -> tuple[str, str]:
    """`/package.Service/Method` -> (`package.Service`, `Method`)."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


@dataclass(frozen=True, slots=True)
class _Series:
    """The children of one (type, method): looked up once, not on every call."""

    labels: tuple[str, str, str]
    started: Any
    seconds: Any
    received: Any
    sent: Any


@functools.lru_cache(maxsize=1024)
def _series(method: str, rpc_type: RpcType) -> _Series:
    labels = (rpc_type, *split_method(method))
    return _Series(
        labels,
        STARTED.labels(*labels),
        HANDLING_SECONDS.labels(*labels),
        MSG_RECEIVED.labels(*labels),
        MSG_SENT.labels(*labels),
    )


class RpcCall:
    """One call being handled, from start to status.

    Creating it counts the call as started (and, for `unary` and `server_stream`, its one
    request as received); `sent()` counts a streamed response; `handled(code)` ends it once
    (and counts a successful unary call's one response as sent).
    """

    __slots__ = ("_done", "_series", "_start", "rpc_type")

    def __init__(self, method: str, rpc_type: RpcType) -> None:
        self._series = _series(method, rpc_type)
        self.rpc_type = rpc_type
        self._start = time.perf_counter()
        self._done = False
        self._series.started.inc()
        if rpc_type in ("unary", "server_stream"):
            self._series.received.inc()

    def received(self) -> None:
        """One more request message read (client and bidi streams)."""
        self._series.received.inc()

    def sent(self) -> None:
        """One more response message written (server and bidi streams)."""
        self._series.sent.inc()

    def handled(self, code: int) -> None:
        """The call ended with `code` (a `google.rpc.Code` value); later calls are ignored."""
        if self._done:
            return
        self._done = True
        series = self._series
        series.seconds.observe(time.perf_counter() - self._start)
        HANDLED.labels(*series.labels, code_label(code)).inc()
        if code == code_pb2.OK and self.rpc_type == "unary":
            series.sent.inc()


def rpc_type_of(client_streaming: bool, server_streaming: bool) -> RpcType:
    """The `grpc_type` of a method that streams requests and/or responses."""
    if client_streaming:
        return "bidi_stream" if server_streaming else "client_stream"
    return "server_stream" if server_streaming else "unary"


def initialize(services: Iterable[ServiceDescriptor]) -> None:
    """Creates every series of the methods of `services` at zero, every code included, so
    rates and alerts see a 0 before the first call (go-grpc-prometheus' InitializeMetrics)."""
    for service in services:
        for method in service.methods:
            rpc_type = rpc_type_of(method.client_streaming, method.server_streaming)
            series = _series(f"/{service.full_name}/{method.name}", rpc_type)
            for label in CODE_LABELS:
                HANDLED.labels(*series.labels, label)
