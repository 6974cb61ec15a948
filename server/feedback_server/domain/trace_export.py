"""The trace exporter: moves recorded chat traces from the spool into MLflow.

A finished turn's trace is in the spool before the turn is answered (domain/chat.py). This
background task exports the recorded traces, oldest due first, at most `concurrency` at a
time (the gateway's export pool), and settles each trace's export in the `TraceRegistry`,
on which feedback for that trace waits:

- `EXPORTED`: MLflow has the trace; its row is deleted.
- `UNAVAILABLE`: retried with capped backoff, forever (a recorded trace is never dropped
  because MLflow is down); consecutive outages pause all exports, as in the drainer.
- `REJECTED`: MLflow refused the trace for good (401, 403, other 4xx); it becomes a dead
  letter with the reason (`feedback-admin traces list|replay`), and feedback waiting for
  it goes on to MLflow's own answer (trace not found, then the TTL).
- An unreadable row is dead-lettered at once.

A process killed at any point leaves the trace recorded: the next start registers every
pending trace (`ChatService.restore`) and exports it again; exporting a trace twice is harmless
(MLflow merges the second copy into the first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

from .backoff import Backoff, Outage, finish_or_cancel, poll_loop
from .ports import TraceExports
from .traces import ExportOutcome, ExportResult, TraceRecord, TraceRegistry

if TYPE_CHECKING:
    from .spool import Spool, TraceEntry

log = logging.getLogger(__name__)


class TraceExporter:
    """Background task exporting the spool's recorded traces. See the module docstring."""

    def __init__(
        self,
        spool: Spool,
        exports: TraceExports,
        registry: TraceRegistry,
        *,
        concurrency: int = 4,
        base_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        poll_interval_s: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.spool = spool
        self.exports = exports
        self.registry = registry
        self.concurrency = max(1, concurrency)
        self.poll_interval_s = poll_interval_s
        self.metrics = spool.metrics
        self._backoff = Backoff(base_backoff_s, max_backoff_s, rng)
        self._outage = Outage(self._backoff, spool.clock)
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self.spool.add_trace_listener(self.notify)
            self._task = asyncio.create_task(self._run(), name="trace-exporter")

    def notify(self) -> None:
        """A trace was recorded: look now (unless every slot is busy)."""
        if len(self._inflight) < self.concurrency:
            self._wake.set()

    async def stop(self, grace_s: float = 5.0) -> int:
        """Stops starting exports and gives those in flight `grace_s` to finish; returns how
        many were cancelled (their traces stay recorded for the next start)."""
        if self._task is None:
            return 0
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        cancelled = await finish_or_cancel(self._inflight.values(), grace_s)
        if cancelled:
            log.warning("%d trace exports cancelled at shutdown (still recorded)", cancelled)
        return cancelled

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        await poll_loop(
            "trace exporter",
            self._dispatch,
            self._wake,
            lambda: self._stopping,
            self.poll_interval_s,
        )

    async def _dispatch(self) -> float:
        paused = self._outage.remaining_s()
        if paused > 0:
            return min(self.poll_interval_s, paused)
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return self.poll_interval_s  # a finishing export wakes the loop
        due = await self.spool.due_traces(limit=free + len(self._inflight))
        now = self.spool.now_st()
        for entry in due:
            if entry.trace_id in self._inflight:
                continue
            if entry.due_st > now:
                return max(0.0, min(self.poll_interval_s, (entry.due_st - now) / 1000))
            if free == 0:
                break
            self._launch(entry)
            free -= 1
        return self.poll_interval_s

    def _launch(self, entry: TraceEntry) -> None:
        trace_id = entry.trace_id
        task = asyncio.create_task(self._process(entry), name=f"export:{trace_id}")
        self._inflight[trace_id] = task

        def done(_: asyncio.Task[None]) -> None:
            if self._inflight.get(trace_id) is task:
                del self._inflight[trace_id]
            self._wake.set()

        task.add_done_callback(done)

    async def _process(self, entry: TraceEntry) -> None:
        trace_id = entry.trace_id
        try:
            if entry.problem is not None:
                outcome = ExportOutcome(ExportResult.REJECTED, entry.problem)
            else:
                outcome = await self._export(entry.record)
            self.metrics.trace_export_attempts.labels(result=outcome.result.value).inc()
            if outcome.result is ExportResult.EXPORTED:
                self._outage.answered()
                await self.spool.trace_exported(trace_id)
                self.metrics.traces_exported.inc()
                waited = self.spool.wall_ms() - entry.recorded_ms
                self.metrics.trace_export_latency.observe(max(0.0, waited / 1000))
                self.registry.settle(trace_id, exported=True)
            elif outcome.result is ExportResult.REJECTED:
                self._outage.answered()
                log.warning("trace %s dead-lettered: %s", trace_id, outcome.detail)
                await self.spool.trace_dead(trace_id, outcome.detail or "rejected by MLflow")
                self.registry.settle(trace_id, exported=False)
            else:
                self._outage.unavailable()
                due = self.spool.now_st() + int(self._backoff.delay_s(entry.attempts + 1) * 1000)
                await self.spool.trace_retry(trace_id, due, outcome.detail or "MLflow unavailable")
        except asyncio.CancelledError:
            raise
        except Exception:
            # Recording the outcome failed (disk trouble): the trace stays recorded and is
            # exported again; back off so this is no hot loop.
            log.exception("recording the export of trace %s failed", trace_id)
            self._outage.pause(self._backoff.delay_s(self._outage.rounds + 1))

    async def _export(self, record: TraceRecord) -> ExportOutcome:
        try:
            return await self.exports.export_trace(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("trace export of %s raised; retrying", record.trace_id, exc_info=True)
            return ExportOutcome(ExportResult.UNAVAILABLE, f"exporter error: {type(exc).__name__}")
