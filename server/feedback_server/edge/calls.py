"""One call through the edge, whichever port it came in on.

`Edge.begin` opens a `Call`: its request ID, its start time. Then, in this order, before
the servicer runs:

1. `admit`: the deadline has not passed, a slot among the calls in flight (limits.py),
   the credentials (auth.py) -- all from the method and the metadata, before any byte of
   the request is decoded;
2. `decode`: the request bytes -> the message (wire.py), hostile input refused (a request
   larger than any valid one of its RPC before it is decoded);
3. the feedback token's rights on the decoded request (auth.py).

`Call.failure` turns any exception into the `google.rpc.Status` of the one table
(status.py), logs it (an unexpected one with its stack, server-side only) and records the
call's metrics; `Call.succeeded` records a good one. The gRPC interceptor (interceptor.py)
and the HTTP port (connect.py) each only move bytes, metadata and statuses in and out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from google.rpc import code_pb2, status_pb2

from ..errors import DeadlineExceeded, ServiceError
from .auth import FULL, PUBLIC_PREFIXES, Authenticator, Grant
from .limits import CallLimiter
from .metrics import RpcCall, RpcType
from .request_id import REQUEST_ID_HEADER, begin_request
from .status import Metadata, to_status, trailing_metadata
from .tracing import begin_trace
from .wire import check_size

log = logging.getLogger("feedback_server.edge")

T = TypeVar("T")


class Edge:
    """What both ports share: the authenticator and the limit on calls in flight."""

    def __init__(self, auth: Authenticator, limiter: CallLimiter) -> None:
        self.auth = auth
        self.limiter = limiter

    def begin(
        self, method: str, metadata: Mapping[str, str], rpc_type: RpcType, rpc_system: str = "grpc"
    ) -> Call:
        """`rpc_system`: OpenTelemetry's name of the protocol ("grpc", "connect_rpc")."""
        return Call(self, method, metadata, rpc_type, rpc_system)


class Call:
    def __init__(
        self,
        edge: Edge,
        method: str,
        metadata: Mapping[str, str],
        rpc_type: RpcType,
        rpc_system: str = "grpc",
    ) -> None:
        self._edge = edge
        self.method = method
        self.metadata = metadata
        self.request_id = begin_request(metadata)
        self._span = begin_trace(method, metadata, rpc_system)
        self._rpc = RpcCall(method, rpc_type)
        self.grant: Grant = FULL
        self._slot = False
        self._finished = False

    # --- before the servicer --------------------------------------------------------

    def admit(self, time_remaining: float | None) -> None:
        if time_remaining is not None and time_remaining <= 0:
            raise DeadlineExceeded("the deadline passed before the call started")
        if not self.method.startswith(PUBLIC_PREFIXES):
            self._edge.limiter.acquire()
            self._slot = True
        self.grant = self._edge.auth.check(self.method, self.metadata)

    def decode(self, decoder: Callable[[bytes], T], data: bytes, *, json_body: bool = False) -> T:
        check_size(self.method, data, json_body=json_body)
        request = decoder(data)
        if self.grant.claims is not None:
            self.grant.authorize(request)
            self._edge.auth.trust_token_trace(self.grant)
        return request

    # --- after it ---------------------------------------------------------------------

    def sent(self) -> None:
        """One streamed response written."""
        self._rpc.sent()

    def succeeded(self) -> None:
        self._finish(code_pb2.OK)

    def cancelled(self) -> None:
        self._finish(code_pb2.CANCELLED)

    def failure(self, exc: BaseException) -> tuple[status_pb2.Status, Metadata]:
        """The status to send for `exc` and the trailing metadata to send with it (the
        request ID, and what the servicer attached, such as a trace ID)."""
        status = to_status(exc, self.request_id)
        code = code_pb2.Code.Name(status.code)
        if isinstance(exc, ServiceError):
            log.info(
                "%s -> %s: %s [request_id=%s]", self.method, code, exc.message, self.request_id
            )
        else:
            log.error("%s failed [request_id=%s]", self.method, self.request_id, exc_info=exc)
        self._finish(status.code)
        return status, (*trailing_metadata(exc), (REQUEST_ID_HEADER, self.request_id))

    def _finish(self, code: int) -> None:
        if self._finished:
            return
        self._finished = True
        if self._slot:
            self._edge.limiter.release()
        self._rpc.handled(code)
        self._span.end(code)


def is_cancellation(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.CancelledError)


__all__ = ["Call", "Edge", "is_cancellation"]
