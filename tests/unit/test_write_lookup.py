"""A write is acknowledged without waiting on a hung MLflow (FeedbackService._lookup_for_write).

The end-to-end version (MLflow SIGSTOPped, the feedback server restarted) is
tests/resilience/test_mlflow_hang.py; this one checks the rule in-process, in a second."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from feedback_server.domain.feedback import FeedbackIn, FeedbackService
from feedback_server.domain.model import IngestionState, JudgmentKind, SourceType, TraceTarget
from feedback_server.domain.spool import Spool
from feedback_server.domain.traces import TraceRegistry
from feedback_server.metrics import SpoolMetrics
from prometheus_client import CollectorRegistry

GRACE_S = 0.3


class HungGateway:
    """Every MLflow lookup hangs (a frozen MLflow: connections accepted, never answered)."""

    def __init__(self) -> None:
        self.lookups = 0

    async def trace_exists(self, trace_id: str) -> bool:
        self.lookups += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def find_trace_by_client_request_id(self, crid: str) -> str | None:
        self.lookups += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class Drainer:
    def notify(self) -> None:
        pass


async def _write(service: FeedbackService, target: TraceTarget, request_id: str) -> Any:
    return await service.log_judgment(
        FeedbackIn(
            kind=JudgmentKind.FEEDBACK,
            target=target,
            name="user_feedback",
            value=True,
            source_type=SourceType.HUMAN,
            source_id="u",
            metadata={},
            request_id=request_id,
        )
    )


@pytest.mark.timeout(30)
async def test_writes_do_not_wait_on_a_hung_mlflow(tmp_path: Path) -> None:
    gateway = HungGateway()
    metrics = SpoolMetrics(CollectorRegistry())
    async with Spool(tmp_path / "spool.sqlite3", metrics=metrics) as spool:
        service = FeedbackService(
            gateway,  # type: ignore[arg-type]
            TraceRegistry(),
            spool,
            Drainer(),  # type: ignore[arg-type]
            trace_grace_s=GRACE_S,
        )
        by_id = TraceTarget(trace_id="tr-" + "a" * 32)
        by_crid = TraceTarget(client_request_id="req-1")

        # Without the bound, these would wait forever on the hung MLflow.
        first = await asyncio.wait_for(_write(service, by_id, "r1"), 10)
        # The first write gives MLflow its grace period, then is queued unverified.
        assert first.state is IngestionState.QUEUED
        assert first.trace_id == by_id.trace_id

        # Right after, writes do not ask MLflow at all (by trace ID or client request ID).
        second = await asyncio.wait_for(_write(service, by_crid, "r2"), 10)
        third = await asyncio.wait_for(_write(service, by_id, "r3"), 10)
        assert second.state is IngestionState.QUEUED and second.trace_id is None
        assert third.state is IngestionState.QUEUED
        assert gateway.lookups == 1
        assert spool.depth() == 3
