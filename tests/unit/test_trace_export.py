"""The trace exporter (domain/trace_export.py) on a real spool, with a fake MLflow: recorded
traces are exported and deleted, retried through outages, dead-lettered when refused for
good, replayable, and still there after a restart."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from feedback_server.domain.spool import Spool
from feedback_server.domain.trace_export import TraceExporter
from feedback_server.domain.traces import ExportOutcome, ExportResult, TraceRecord, TraceRegistry

from tests.unit.test_spool import eventually, new_spool, trace_id

pytestmark = pytest.mark.timeout(60)


class FakeExports:
    def __init__(self, script: Callable[[str, int], ExportResult] | None = None) -> None:
        self.script = script
        self.attempts: Counter[str] = Counter()
        self.stored: dict[str, str] = {}

    async def export_trace(self, record: TraceRecord) -> ExportOutcome:
        await asyncio.sleep(0)
        self.attempts[record.trace_id] += 1
        result = (
            self.script(record.trace_id, self.attempts[record.trace_id])
            if self.script
            else ExportResult.EXPORTED
        )
        if result is ExportResult.EXPORTED:
            self.stored[record.trace_id] = record.payload
        detail = "MLflow refused: PERMISSION_DENIED (HTTP 403)" if result.name == "REJECTED" else ""
        return ExportOutcome(result, detail)


def _exporter(spool: Spool, exports: FakeExports, registry: TraceRegistry) -> TraceExporter:
    return TraceExporter(
        spool,
        exports,
        registry,
        concurrency=3,
        base_backoff_s=0.01,
        max_backoff_s=0.05,
        poll_interval_s=0.05,
        rng=random.Random(3),
    )


async def _record(spool: Spool, registry: TraceRegistry, n: int) -> list[str]:
    ids = [trace_id(100 + i) for i in range(n)]
    for i, tid in enumerate(ids):
        assert await spool.record_trace(TraceRecord(tid, f"crid-{i}", f'{{"trace": {i}}}'))
        registry.register(tid, f"crid-{i}")
    return ids


@pytest.fixture
async def spool(tmp_path: Path) -> object:
    s = new_spool(tmp_path)
    await s.start()
    yield s
    await s.close()


async def test_recorded_traces_are_exported_once_and_their_waiters_released(
    spool: Spool,
) -> None:
    registry, exports = TraceRegistry(), FakeExports()
    ids = await _record(spool, registry, 7)
    assert not await spool.record_trace(TraceRecord(ids[0], "crid-0", "{}"))  # idempotent
    exporter = _exporter(spool, exports, registry)
    exporter.start()
    try:
        assert all(await asyncio.wait_for(asyncio.gather(*map(registry.wait_exported, ids)), 5))
    finally:
        await exporter.stop(1.0)
    assert set(exports.stored) == set(ids) and set(exports.attempts.values()) == {1}
    assert exports.stored[ids[3]] == '{"trace": 3}'
    assert (await spool.stats()).traces_pending == 0  # exported rows are deleted
    assert spool.metrics.traces_exported._value.get() == 7


async def test_an_outage_is_retried_and_a_refusal_is_dead_lettered_then_replayed(
    spool: Spool,
) -> None:
    registry = TraceRegistry()
    ids = await _record(spool, registry, 4)
    refused = ids[1]
    allowed: set[str] = set()

    def script(tid: str, attempt: int) -> ExportResult:
        if tid == refused and tid not in allowed:
            return ExportResult.REJECTED
        return ExportResult.UNAVAILABLE if attempt <= 3 else ExportResult.EXPORTED

    exports = FakeExports(script)
    exporter = _exporter(spool, exports, registry)
    exporter.start()
    try:
        results = await asyncio.wait_for(asyncio.gather(*map(registry.wait_exported, ids)), 10)
        assert results == [True, False, True, True]
        (dead,) = await spool.list_dead_traces()
        assert dead.trace_id == refused and "PERMISSION_DENIED" in (dead.last_error or "")
        assert min(exports.attempts[t] for t in ids if t != refused) == 4
        allowed.add(refused)  # the operator fixed MLflow's permissions
        assert await spool.replay_traces([refused]) == 1
        await eventually(lambda: refused in exports.stored, within=5)
    finally:
        await exporter.stop(1.0)
    stats = await spool.stats()
    assert (stats.traces_pending, stats.traces_dead_lettered) == (0, 0)


async def test_traces_recorded_before_a_restart_are_still_there(tmp_path: Path) -> None:
    spool = new_spool(tmp_path)
    await spool.start()
    ids = await _record(spool, TraceRegistry(), 3)
    await spool.close()  # as if killed: nothing was exported
    again = new_spool(tmp_path)
    await again.start()
    try:
        assert await again.pending_trace_ids() == [(t, f"crid-{i}") for i, t in enumerate(ids)]
        registry, exports = TraceRegistry(), FakeExports()
        for tid, crid in await again.pending_trace_ids():
            registry.register(tid, crid)
        assert registry.trace_for("crid-2") == ids[2]
        exporter = _exporter(again, exports, registry)
        exporter.start()
        try:
            assert all(await asyncio.wait_for(asyncio.gather(*map(registry.wait_exported, ids)), 5))
        finally:
            await exporter.stop(1.0)
    finally:
        await again.close()
