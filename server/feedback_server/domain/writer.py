"""The drainer's `AssessmentWriter`: one spooled judgment into MLflow."""

from __future__ import annotations

from ..errors import Unavailable
from .model import Judgment, WriteOutcome, WriteResult
from .ports import JudgmentStore
from .traces import TraceRegistry


class MlflowWriter:
    """Drains one judgment into MLflow (the spool's `AssessmentWriter`)."""

    def __init__(self, gateway: JudgmentStore, registry: TraceRegistry) -> None:
        self._gateway = gateway
        self._registry = registry

    async def write(self, judgment: Judgment, trace_id_hint: str | None) -> WriteOutcome:
        trace_id = trace_id_hint or judgment.target.trace_id
        if trace_id is None:
            crid = judgment.target.client_request_id or ""
            trace_id = self._registry.trace_for(crid)
            if trace_id is None:
                try:
                    trace_id = await self._gateway.find_trace_by_client_request_id(crid)
                except Unavailable as exc:
                    return WriteOutcome(WriteResult.UNAVAILABLE, None, str(exc))
            if trace_id is None:
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, None, "client request ID unknown")
        # Feedback on a trace this process produced waits for its export, not for a poll.
        await self._registry.wait_exported(trace_id)
        return await self._gateway.write_assessment(judgment, trace_id)
