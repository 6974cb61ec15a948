"""The drainer: writes spooled judgments to MLflow in the background.

Rules (docs/spool.md, "How it works"; README "Errors" for what callers see):

- At most `concurrency` writes in flight, and never two for the same
  `TraceTarget.order_key`: the spool only hands out the first pending entry of
  each key, so judgments on one trace are written in acknowledgment order.
- `STORED` marks the entry stored (with the resolved trace ID).
- `TRACE_NOT_FOUND` is retried with exponential backoff and jitter until
  `wait_st + trace_wait_ttl_s` (acknowledgment, or replay, in spool time: a step of
  the wall clock neither shortens nor stretches it), then dead-lettered with the
  reason "trace not found within TTL".
- `UNAVAILABLE` (and any exception raised by the writer) is retried with
  capped backoff and jitter, forever: an acknowledged judgment is never dropped
  because MLflow is down. Consecutive `UNAVAILABLE` answers also pause all
  dispatching for the same backoff, so an outage costs one probe per backoff
  period instead of one per pending judgment.
- `REJECTED` is dead-lettered immediately with the writer's detail.
- A row the spool could not decode (`SpoolEntry.problem`) is dead-lettered at once
  with that reason, without calling the writer: one bad row never stops the others.

Pauses are kept on the monotonic clock and schedules in spool time (domain/clock.py).

Crash safety: an entry is marked stored only after the writer answered
`STORED`, and nothing marks an entry "in flight" on disk; a process killed
mid-write leaves the entry pending, and the writer being idempotent on
`assessment_id` makes the second write harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from feedback_server.domain.backoff import Backoff, Outage, finish_or_cancel, poll_loop
from feedback_server.domain.model import IngestionState, Judgment, WriteOutcome, WriteResult

if TYPE_CHECKING:  # spool.py re-exports this module's names: no import cycle at run time
    from feedback_server.domain.spool import Spool, SpoolEntry
    from feedback_server.metrics import SpoolMetrics

log = logging.getLogger(__name__)

TRACE_NOT_FOUND_REASON = "trace not found within TTL"


class AssessmentWriter(Protocol):
    """Stores one judgment as an MLflow assessment (implemented by the MLflow gateway).

    Must be idempotent on `judgment.assessment_id` ("already exists" is `STORED`)
    and must not raise for expected failures: it answers a `WriteOutcome`.
    `trace_id_hint` is the trace ID already known for the judgment (its target,
    or the one resolved by an earlier attempt), if any.
    """

    async def write(self, judgment: Judgment, trace_id_hint: str | None) -> WriteOutcome: ...


class _Waiter:
    __slots__ = ("future", "remaining")

    def __init__(self, remaining: set[str], future: asyncio.Future[bool]) -> None:
        self.remaining = remaining
        self.future = future


class Drainer:
    """Background task moving spooled judgments into MLflow. See the module docstring."""

    def __init__(
        self,
        spool: Spool,
        writer: AssessmentWriter,
        *,
        concurrency: int = 8,
        base_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        trace_wait_ttl_s: float = 600.0,
        poll_interval_s: float = 1.0,
        metrics: SpoolMetrics | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.spool = spool
        self.writer = writer
        self.concurrency = concurrency
        self.base_backoff_s = base_backoff_s
        self.max_backoff_s = max_backoff_s
        self.trace_wait_ttl_s = trace_wait_ttl_s
        self.poll_interval_s = poll_interval_s
        self.metrics = metrics if metrics is not None else spool.metrics
        self._backoff = Backoff(base_backoff_s, max_backoff_s, rng)
        self._outage = Outage(self._backoff, spool.clock)
        self._inflight: dict[str, asyncio.Task[None]] = {}  # order_key -> write task
        self._waiters: dict[str, set[_Waiter]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_refresh = 0.0
        # Entries whose write finished while `heads` was being read: the read may
        # predate their new state, so they are skipped until the next read.
        self._finished_during_read: set[str] | None = None

    # ------------------------------------------------------------------ public API

    def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self.spool.add_enqueue_listener(self.notify)
        self._task = asyncio.create_task(self._run(), name="spool-drainer")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stops dispatching, lets writes in flight finish for up to `grace_s`, cancels the rest.

        Cancelled writes leave their entries pending: they are written again on
        the next start (the writer is idempotent).
        """
        if self._task is None:
            return
        self._stopping = True
        self.spool.remove_enqueue_listener(self.notify)
        self._wake.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        cancelled = await finish_or_cancel(self._inflight.values(), grace_s)
        if cancelled:
            log.warning("drainer stopped with %d writes cancelled (still pending)", cancelled)
        for waiters in list(self._waiters.values()):
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_result(False)
        self._waiters.clear()

    def notify(self) -> None:
        """Wakes the drainer now (new judgments were enqueued). With every slot busy there is
        nothing to start: the next finishing write wakes it, so a burst of acknowledgments
        does not wake it once per judgment."""
        if len(self._inflight) < self.concurrency:
            self._wake.set()

    async def wait_stored(self, assessment_ids: Iterable[str], timeout_s: float) -> bool:
        """True once all entries are stored in MLflow; False on timeout, dead letter, unknown ID."""
        ids = set(assessment_ids)
        if not ids:
            return True
        waiter = _Waiter(set(ids), asyncio.get_running_loop().create_future())
        for aid in ids:  # register before reading, so no transition is missed
            self._waiters.setdefault(aid, set()).add(waiter)
        try:
            entries = await self.spool.get(ids)
            for aid in ids:
                entry = entries.get(aid)
                if entry is None or entry.state is IngestionState.DEAD_LETTERED:
                    return False
                if entry.state is IngestionState.STORED:
                    waiter.remaining.discard(aid)
            if not waiter.remaining:
                return True
            if self._task is None:
                return False
            try:
                return await asyncio.wait_for(asyncio.shield(waiter.future), timeout_s)
            except TimeoutError:
                return False
        finally:
            for aid in ids:
                waiters = self._waiters.get(aid)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiters[aid]

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        await poll_loop(
            "drainer", self._poll, self._wake, lambda: self._stopping, self.poll_interval_s
        )

    async def _poll(self) -> float:
        now = asyncio.get_running_loop().time()
        if now - self._last_refresh >= self.poll_interval_s:
            self._last_refresh = now
            await self.spool.refresh()  # picks up changes made by the admin CLI
        return await self._dispatch()

    async def _dispatch(self) -> float:
        """Starts writes for due heads; returns how long to sleep before looking again."""
        paused = self._outage.remaining_s()
        if paused > 0:
            return min(self.poll_interval_s, paused)
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return self.poll_interval_s  # a finishing write wakes the loop
        finished: set[str] = set()
        self._finished_during_read = finished
        try:
            heads = await self.spool.heads(limit=free + len(self._inflight) + 1)
        finally:
            self._finished_during_read = None
        free = self.concurrency - len(self._inflight)
        now = self.spool.now_st()
        next_due: int | None = None
        for entry in heads:
            if entry.order_key in self._inflight:
                continue  # its earlier judgment is being written
            if entry.assessment_id in finished:
                return 0.0  # stale read: look again now
            if entry.due_st > now:
                next_due = entry.due_st
                break
            if free == 0:
                break
            self._launch(entry)
            free -= 1
        if next_due is None:
            return self.poll_interval_s
        return max(0.0, min(self.poll_interval_s, (next_due - now) / 1000))

    def _launch(self, entry: SpoolEntry) -> None:
        key = entry.order_key
        task = asyncio.create_task(self._process(entry), name=f"drain:{entry.assessment_id}")
        self._inflight[key] = task

        def done(_: asyncio.Task[None]) -> None:
            if self._inflight.get(key) is task:
                del self._inflight[key]
            if self._finished_during_read is not None:
                self._finished_during_read.add(entry.assessment_id)
            self._wake.set()

        task.add_done_callback(done)

    # ------------------------------------------------------------- one attempt

    async def _process(self, entry: SpoolEntry) -> None:
        try:
            if entry.problem is not None:
                await self._dead_letter(entry, entry.problem, "unreadable", entry.trace_id)
                return
            outcome = await self._write(entry)
            await self._record(entry, outcome)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Recording the outcome failed (disk trouble). The entry stays pending
            # and is written again (idempotently); back off so this is no hot loop.
            log.exception("recording the drain outcome of %s failed", entry.assessment_id)
            self._outage.pause(self._backoff.delay_s(self._outage.rounds + 1))

    async def _write(self, entry: SpoolEntry) -> WriteOutcome:
        try:
            return await self.writer.write(entry.judgment, entry.trace_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "assessment writer raised for %s; retrying",
                entry.assessment_id,
                exc_info=True,
            )
            return WriteOutcome(
                WriteResult.UNAVAILABLE, detail=f"writer error: {type(exc).__name__}"
            )

    async def _record(self, entry: SpoolEntry, outcome: WriteOutcome) -> None:
        aid = entry.assessment_id
        result = outcome.result
        trace_id = outcome.trace_id or entry.trace_id
        self.metrics.drain_attempts.labels(result=result.value).inc()
        now = self.spool.now_st()
        attempt = entry.attempts + 1
        if result is not WriteResult.UNAVAILABLE:
            self._outage.answered()

        if result is WriteResult.STORED:
            if await self.spool.mark_stored(aid, trace_id):
                self.metrics.stored.inc()
                waited = self.spool.wall_ms() - entry.enqueued_ms
                self.metrics.drain_latency.observe(max(0.0, waited / 1000))
            self._settle(aid, stored=True)
        elif result is WriteResult.REJECTED:
            await self._dead_letter(
                entry, outcome.detail or "rejected by MLflow", "rejected", trace_id
            )
        elif result is WriteResult.TRACE_NOT_FOUND:
            deadline = entry.wait_st + int(self.trace_wait_ttl_s * 1000)
            if now >= deadline:
                await self._dead_letter(entry, TRACE_NOT_FOUND_REASON, "trace_not_found", trace_id)
            else:
                # The last attempt happens at the deadline itself.
                retry_at = min(now + int(self._backoff.delay_s(attempt) * 1000), deadline)
                await self.spool.mark_retry(
                    aid, retry_at, outcome.detail or "trace not found", trace_id
                )
                self.metrics.retries.inc()
        else:  # UNAVAILABLE: no TTL, never dropped
            self._outage.unavailable()
            delay = self._backoff.delay_s(attempt)
            await self.spool.mark_retry(
                aid, now + int(delay * 1000), outcome.detail or "MLflow unavailable", trace_id
            )
            self.metrics.retries.inc()

    async def _dead_letter(
        self, entry: SpoolEntry, reason: str, label: str, trace_id: str | None
    ) -> None:
        log.warning("judgment %s dead-lettered (%s): %s", entry.assessment_id, label, reason)
        if await self.spool.mark_dead(entry.assessment_id, reason, trace_id):
            self.metrics.dead_lettered.labels(reason=label).inc()
        self._settle(entry.assessment_id, stored=False)

    def _settle(self, assessment_id: str, *, stored: bool) -> None:
        for waiter in self._waiters.pop(assessment_id, ()):
            if waiter.future.done():
                continue
            if not stored:
                waiter.future.set_result(False)
                continue
            waiter.remaining.discard(assessment_id)
            if not waiter.remaining:
                waiter.future.set_result(True)
