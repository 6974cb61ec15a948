"""The trace context of a call: the caller's `traceparent`, and the call's own RPC span.

`begin_trace` (called by `Call`) parses the `traceparent` header into the domain's
`TraceParent`. When OTLP export is on (`configure_otlp`, `FEEDBACK_OTLP_ENDPOINT`), the
call also gets a server span under the caller's (a new trace when it sent none), named and
attributed as OpenTelemetry's RPC conventions say (`rpc.system`, `rpc.service`,
`rpc.method`, `rpc.grpc.status_code`), ended with the call's status and exported in
batches over OTLP/HTTP. The trace parent that the chat servicer reads with
`trace_parent()` and hands to the domain is then that span: the caller's trace runs
through the RPC span into the turn's MLflow trace.

The span provider is the server's own, not OpenTelemetry's global one (MLflow has its own
for its traces).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Mapping

from google.rpc import code_pb2
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode

from ..domain.trace_parent import TRACEPARENT_HEADER, TraceParent, parse_traceparent
from .metrics import split_method

log = logging.getLogger(__name__)

_TRACE_PARENT: contextvars.ContextVar[TraceParent | None] = contextvars.ContextVar(
    "trace_parent", default=None
)

# Server span statuses that are errors (OpenTelemetry's gRPC conventions).
_SERVER_ERRORS = frozenset(
    {
        code_pb2.UNKNOWN,
        code_pb2.DEADLINE_EXCEEDED,
        code_pb2.UNIMPLEMENTED,
        code_pb2.INTERNAL,
        code_pb2.UNAVAILABLE,
        code_pb2.DATA_LOSS,
    }
)

_provider: TracerProvider | None = None
_tracer: trace.Tracer | None = None


def configure_otlp(endpoint: str, *, service_name: str, version: str, timeout_s: float) -> None:
    """Turns on the export of RPC spans to the OTLP/HTTP traces endpoint (a full URL such
    as http://collector:4318/v1/traces)."""
    global _provider, _tracer
    resource = Resource.create({"service.name": service_name, "service.version": version})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=timeout_s))
    )
    _provider, _tracer = provider, provider.get_tracer("feedback_server.edge")
    log.info("RPC spans are exported over OTLP to %s", endpoint)


def shutdown_otlp() -> None:
    """Exports the spans still buffered and stops the export (at shutdown)."""
    global _provider, _tracer
    if _provider is not None:
        _provider.shutdown()
    _provider = _tracer = None


class RpcSpan:
    """The server span of one call (a no-op while OTLP export is off)."""

    __slots__ = ("_span",)

    def __init__(self, span: trace.Span | None) -> None:
        self._span = span

    def end(self, code: int) -> None:
        span = self._span
        if span is None:
            return
        self._span = None
        span.set_attribute("rpc.grpc.status_code", code)
        if code in _SERVER_ERRORS:
            span.set_status(Status(StatusCode.ERROR, code_pb2.Code.Name(code)))
        span.end()


def begin_trace(method: str, metadata: Mapping[str, str], rpc_system: str) -> RpcSpan:
    """Reads the caller's trace parent and starts the call's span (when OTLP export is on);
    keeps for this call the parent of what the call traces."""
    parent = parse_traceparent(metadata.get(TRACEPARENT_HEADER))
    span = None
    if _tracer is not None:
        service, name = split_method(method)
        span = _tracer.start_span(
            f"{service}/{name}",
            context=_otel_context(parent),
            kind=SpanKind.SERVER,
            attributes={"rpc.system": rpc_system, "rpc.service": service, "rpc.method": name},
        )
        context = span.get_span_context()
        if span.is_recording():
            parent = TraceParent(
                f"{context.trace_id:032x}", f"{context.span_id:016x}", int(context.trace_flags)
            )
    _TRACE_PARENT.set(parent)
    return RpcSpan(span)


def trace_parent() -> TraceParent | None:
    """The parent of what the call being handled in this context traces."""
    return _TRACE_PARENT.get()


def _otel_context(parent: TraceParent | None) -> Context:
    """The caller's span as a remote parent; without one, a new trace (whatever span the
    task may have current)."""
    if parent is None:
        return Context()
    remote = SpanContext(
        int(parent.trace_id, 16),
        int(parent.span_id, 16),
        is_remote=True,
        trace_flags=trace.TraceFlags(parent.flags),
    )
    return trace.set_span_in_context(NonRecordingSpan(remote))
