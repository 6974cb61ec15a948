"""The MLflow trace the running task works on: a chat turn's, or the target of a judgment.

The domain says so where it learns the trace (`working_on`); whoever wants to know reads
`CURRENT_TRACE_ID` (the JSON log lines carry it as `trace_id`). It is a context variable:
each RPC and each drainer write runs in its own asyncio task, so none sees another's.
"""

from __future__ import annotations

import contextvars

CURRENT_TRACE_ID: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="")


def working_on(trace_id: str | None) -> None:
    """Records `trace_id` (if any) as the trace of the running task."""
    if trace_id:
        CURRENT_TRACE_ID.set(trace_id)
