"""The caller's trace context of a call: its `traceparent`, read once by the edge.

`begin_trace` (called by `Call`) parses the header into the domain's `TraceParent` and
keeps it for the call's task; the chat servicer reads it with `trace_parent()` and hands it
to the domain, which makes it the parent of the turn's MLflow trace.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping

from ..domain.trace_parent import TRACEPARENT_HEADER, TraceParent, parse_traceparent

_TRACE_PARENT: contextvars.ContextVar[TraceParent | None] = contextvars.ContextVar(
    "trace_parent", default=None
)


def begin_trace(metadata: Mapping[str, str]) -> TraceParent | None:
    """Reads (and keeps for this call) the caller's trace parent; None when it sent none
    or an invalid one."""
    parent = parse_traceparent(metadata.get(TRACEPARENT_HEADER))
    _TRACE_PARENT.set(parent)
    return parent


def trace_parent() -> TraceParent | None:
    """The trace parent of the call being handled in this context."""
    return _TRACE_PARENT.get()
