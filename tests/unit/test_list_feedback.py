"""ListFeedback merges what MLflow has with what the spool still holds: a judgment the
drainer stores while the two reads are under way is listed all the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from feedback_server.domain.feedback import FeedbackService
from feedback_server.domain.model import TraceTarget
from feedback_server.domain.spool import Spool
from feedback_server.domain.traces import TraceRegistry
from feedback_server.metrics import SpoolMetrics
from prometheus_client import CollectorRegistry

from tests.unit.test_write_lookup import GRACE_S, Drainer, _write


class DrainingGateway:
    """MLflow answering a list of assessments from before a write that the drainer finishes
    (and marks stored in the spool) while the list is on its way back."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool

    async def trace_exists(self, trace_id: str) -> bool:
        return True

    async def list_assessments(self, trace_id: str) -> list[Any]:
        for entry in await self.spool.pending_for_trace(trace_id):
            await self.spool.mark_stored(entry.judgment.assessment_id, trace_id)
        return []


async def test_a_judgment_drained_during_list_feedback_is_still_listed(tmp_path: Path) -> None:
    metrics = SpoolMetrics(CollectorRegistry())
    async with Spool(tmp_path / "spool.sqlite3", metrics=metrics) as spool:
        registry = TraceRegistry()
        service = FeedbackService(
            DrainingGateway(spool),  # type: ignore[arg-type]
            registry,
            spool,
            Drainer(),  # type: ignore[arg-type]
            trace_grace_s=GRACE_S,
        )
        target = TraceTarget(trace_id="tr-" + "b" * 32)
        accepted = await _write(service, target, "r-list")
        _, items = await service.list_feedback(target)
        assert [a.assessment_id for a in items] == accepted.assessment_ids
