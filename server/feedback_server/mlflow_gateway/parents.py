"""A chat turn's MLflow trace as the continuation of the caller's trace (`TraceParent`).

MLflow 3 traces are OpenTelemetry traces: an MLflow trace ID is `tr-` + the OTel trace ID
of its root span. MLflow's span processor starts a trace only for a span without a parent
(a span with a remote parent would join a trace that this process does not hold). So the
turn's root span is started as a root whose OTel trace ID is the caller's
(`caller_trace_id`: MLflow's tracer provider draws the trace ID from an ID generator that
answers the chosen one inside that block), and once the trace has ended its root span is
given the caller's span as parent (`adopt`), before the trace is recorded: the stored
trace then has the caller's trace ID, and its root span the caller's span as parent.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from mlflow.entities import Link, Trace
from mlflow.tracing import provider as mlflow_provider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import SpanContext, TraceFlags

from ..domain.trace_parent import TraceParent

_CHOSEN: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "chosen_trace_id", default=None
)


class _ChosenTraceIds(IdGenerator):
    """The provider's ID generator, except for the trace ID chosen in this context."""

    def __init__(self, inner: IdGenerator) -> None:
        self.inner = inner

    def generate_span_id(self) -> int:
        return self.inner.generate_span_id()

    def generate_trace_id(self) -> int:
        chosen = _CHOSEN.get()
        return self.inner.generate_trace_id() if chosen is None else chosen


def mlflow_trace_id(parent: TraceParent) -> str:
    """The MLflow trace ID of a trace that continues `parent`."""
    return f"tr-{parent.trace_id}"


def link_to(parent: TraceParent) -> Link:
    return Link.from_dict({"trace_id": mlflow_trace_id(parent), "span_id": parent.span_id})


@contextlib.contextmanager
def caller_trace_id(parent: TraceParent) -> Iterator[None]:
    """Inside this block, a root span started by MLflow's tracer gets the caller's trace ID."""
    mlflow_provider._get_tracer(__name__)  # MLflow's tracer provider, initialized once
    _choose_ids(mlflow_provider.provider.get())
    token = _CHOSEN.set(int(parent.trace_id, 16))
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def _choose_ids(tracer_provider: object) -> None:
    """Puts `_ChosenTraceIds` in MLflow's tracer provider and the tracers it made (each
    keeps the generator it was made with); MLflow may replace its provider at any time."""
    if not isinstance(tracer_provider, TracerProvider):
        return  # tracing disabled
    tracers: dict[Any, Any] = getattr(tracer_provider, "_tracers", {})
    for holder in (tracer_provider, *tracers.values()):
        if not isinstance(holder.id_generator, _ChosenTraceIds):
            holder.id_generator = _ChosenTraceIds(holder.id_generator)


def adopt(trace: Trace, root_span_id: str, parent: TraceParent) -> None:
    """Makes the caller's span the parent of the ended trace's root span."""
    for span in trace.data.spans:
        otel_span: Any = span._span
        if span.span_id == root_span_id and otel_span.context.trace_id == int(parent.trace_id, 16):
            otel_span._parent = SpanContext(
                trace_id=otel_span.context.trace_id,
                span_id=int(parent.span_id, 16),
                is_remote=True,
                trace_flags=TraceFlags(parent.flags),
            )
