"""The spool's writer thread: group commit, the disk budget, writability and spool time.

`SpoolWriter` is the part of `SpoolCore` (spool_core.py) that runs on the writer thread.
Every write goes through it: the operations queued while the previous transaction ran (and,
with `linger_s`, those that arrive within that much more) are committed in one transaction
(group commit), each in its own savepoint.

- *Spool time* (`now_st`): milliseconds stored in the file, started from the wall clock
  when the file was made and advanced by the monotonic clock while a server runs it, so a
  step of the wall clock neither stalls nor expires anything (docs/spool.md "Time").
- *Disk budget*: new data (a judgment, a trace) is refused once the file's used pages
  would pass `max_bytes`; before refusing, the oldest stored entries (kept only to answer
  retries) are evicted. Bookkeeping (marking entries stored, retries) may use a reserve
  above the budget, SQLite's own page limit (a tenth more, at least 256 KiB), so the
  spool can always drain what it holds. Past that limit, or on a full disk, SQLite rolls
  the whole transaction back: stored entries are evicted once and the batch runs again; an
  operation that still fails is answered `Unavailable` and the others run without it.
- *Writability*: a full disk or budget, a read-only or failing file system, or a dead
  writer thread make the spool unhealthy (health listeners are told, the server reports
  NOT_SERVING) and writes answer `Unavailable` with a retry delay at once; a probe retries
  every `probe_interval_s`, and the spool is healthy as soon as it can write again (after a
  full spool: once it has room for more than one write).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import queue
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from feedback_server.domain.clock import Clock
from feedback_server.domain.spool_schema import save_clock
from feedback_server.domain.spool_store import PRUNE_CHUNK, SpoolTransactions, Tx
from feedback_server.domain.spool_traces import TraceTransactions
from feedback_server.errors import Unavailable
from feedback_server.metrics import SpoolMetrics

log = logging.getLogger("feedback_server.domain.spool")

#: Room a full spool must have again before it reports healthy (at most 1/8 of the budget).
HEADROOM_BYTES: Final = 1024 * 1024
#: SQLite's primary result codes that concern the file or the disk, not one statement.
_PRIMARY: Final = {
    3: "PERM",
    8: "READONLY",
    10: "IOERR",
    11: "CORRUPT",
    13: "FULL",
    14: "CANTOPEN",
    26: "NOTADB",
}
CORRUPT_ERRORS: Final = frozenset({"CORRUPT", "NOTADB"})
FULL_REASON: Final = "no room on the disk or in FEEDBACK_SPOOL_MAX_BYTES"
#: Rolled-back attempts of one batch before its remaining operations all fail.
_MAX_BATCH_RETRIES: Final = 3


def file_error(exc: BaseException) -> str:
    """ "FULL", "READONLY", "IOERR", ... for an error of the file or the disk, else ""."""
    code = getattr(exc, "sqlite_errorcode", None)
    return _PRIMARY.get(code & 0xFF, "") if isinstance(code, int) else ""


class SpoolFull(Unavailable):
    """New data does not fit in the spool's disk budget (stored entries already evicted)."""


class SpoolHealth(enum.Enum):
    OK = "ok"
    FULL = "full"  # the disk or the budget has no room
    FAILED = "failed"  # the file system refuses writes (read-only, I/O errors)
    STOPPED = "stopped"  # the writer thread died (it is being restarted)


OpFn = Callable[[sqlite3.Connection, Tx], Any]


@dataclass
class Op:
    fn: OpFn
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


@dataclass
class _RolledBack:
    """SQLite rolled the whole transaction back when operation `index` failed."""

    index: int
    error: sqlite3.Error


STOP: Final = object()
_Result = tuple[Op, Any, BaseException | None]


def set_outcome(fut: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if fut.done():  # the caller was cancelled; the write happened anyway
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


def set_outcomes(results: list[_Result]) -> None:
    for op, value, exc in results:
        set_outcome(op.future, value, exc)


class SpoolWriter(SpoolTransactions, TraceTransactions):
    """What runs on the writer thread (module docstring); `SpoolCore` sets the state up."""

    path: Path
    metrics: SpoolMetrics
    clock: Clock
    max_bytes: int
    max_batch: int
    linger_s: float
    exclusive: bool
    prune_interval_s: float
    probe_interval_s: float
    commits: int
    _pending: int
    _dead: int
    _trace_pending: int
    _trace_dead: int
    _data_version: int
    _st0: int
    _mono0: float
    _budget_pages: int  # the limit for new data; 0: none
    _page_size: int
    _health: SpoolHealth
    _health_reason: str
    _next_probe: float
    _next_prune: float
    _queue: queue.SimpleQueue[list[Op] | object]
    _writer_alive: bool
    _wconn: sqlite3.Connection | None
    _loop: asyncio.AbstractEventLoop | None
    _health_listeners: list[Callable[[bool, str], None]]

    # ------------------------------------------------------------------ time and health

    def now_st(self) -> int:
        """Spool time in milliseconds (module docstring); safe from any thread."""
        return self._st0 + int((self.clock.monotonic() - self._mono0) * 1000)

    def wall_ms(self) -> int:
        return self.clock.wall_ms()

    @property
    def healthy(self) -> bool:
        return self._health is SpoolHealth.OK

    def _unavailable(self) -> Unavailable:
        return Unavailable(
            "the spool cannot record this right now; retry", retry_after_s=self.probe_interval_s
        )

    def _set_health(self, health: SpoolHealth, reason: str = "") -> None:
        """Called on the writer thread (or before it starts)."""
        if health is self._health:
            self._health_reason = reason or self._health_reason
            return
        self._health, self._health_reason = health, reason
        self.metrics.writable.set(1 if health is SpoolHealth.OK else 0)
        if health is SpoolHealth.OK:
            log.warning("spool %s can write again", self.path)
        else:
            log.error("spool %s cannot write (%s): %s", self.path, health.value, reason)
            self._next_probe = time.monotonic() + self.probe_interval_s
        loop = self._loop
        if loop is not None:
            ok = health is SpoolHealth.OK
            for callback in list(self._health_listeners):
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    loop.call_soon_threadsafe(callback, ok, reason)

    def _used_pages(self, conn: sqlite3.Connection) -> int:
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        return pages - int(conn.execute("PRAGMA freelist_count").fetchone()[0])

    def _room_bytes(self, conn: sqlite3.Connection) -> int:
        """Bytes of new data the spool may still take: the budget's room, and the disk's."""
        free = shutil.disk_usage(self.path.parent).free
        if not self._budget_pages:
            return free
        return min(free, (self._budget_pages - self._used_pages(conn)) * self._page_size)

    def _ensure_room(self, conn: sqlite3.Connection, nbytes: int) -> None:
        """Called by an operation about to add `nbytes` of new data: evicts stored entries
        when the budget needs it, raises `SpoolFull` when that is not enough."""
        if not self._budget_pages:
            return
        need = nbytes // self._page_size + 2  # the row, plus its share of the indexes
        limit = self._budget_pages
        if self._health is SpoolHealth.FULL:  # full until there is headroom again
            limit -= self._headroom() // self._page_size
        while self._used_pages(conn) + need > limit:
            removed = self._evict_stored(conn)
            if not removed:
                raise SpoolFull("the spool is full; retry", retry_after_s=self.probe_interval_s)
            self.metrics.evicted.inc(removed)

    def _headroom(self) -> int:
        return min(HEADROOM_BYTES, self.max_bytes // 8) if self.max_bytes else HEADROOM_BYTES

    def _writer_main(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
        current: list[Op] = []
        try:
            if self._health is not SpoolHealth.OK:
                self._probe()
            while True:
                try:
                    item = self._queue.get(timeout=self._idle_timeout())
                except queue.Empty:
                    self._housekeeping()
                    continue
                # Everything queued while the previous transaction ran (and, with a linger,
                # what arrives within it) goes into the next one.
                ops: list[Op] = []
                deadline = time.monotonic() + self.linger_s
                while isinstance(item, list):
                    ops.extend(item)
                    if len(ops) >= self.max_batch:
                        break
                    item = self._next_item(deadline)
                stop = item is STOP
                for start in range(0, len(ops), self.max_batch):
                    current = ops[start : start + self.max_batch]
                    self._run_batch(current)
                current = []
                if stop:  # everything submitted before it is done
                    break
                self._housekeeping()
        except BaseException as exc:  # a bug: never leave callers hanging
            log.error("spool writer thread crashed", exc_info=exc)
            self._writer_alive = False
            self._set_health(SpoolHealth.STOPPED, "the spool's writer thread stopped")
            error = self._unavailable()
            for op in current:
                self._resolve(op, None, error)
            self._fail_queued(error)
        finally:
            self._writer_alive = False
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(set_outcome, done, None, None)

    def _next_item(self, deadline: float) -> object:
        """The next queued item, waiting for it until `deadline` at most; None if none came."""
        try:
            wait = deadline - time.monotonic()
            return self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None

    def _idle_timeout(self) -> float:
        due = self._next_prune
        if self._health is not SpoolHealth.OK:
            due = min(due, self._next_probe)
        return min(max(0.0, due - time.monotonic()), 3600.0)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if self._health is not SpoolHealth.OK and now >= self._next_probe:
            self._probe()
        if now >= self._next_prune:
            self._prune_in_writer()

    def _fail_queued(self, exc: BaseException) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, list):
                for op in item:
                    self._resolve(op, None, exc)

    @staticmethod
    def _resolve(op: Op, value: Any, exc: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            op.loop.call_soon_threadsafe(set_outcome, op.future, value, exc)

    @staticmethod
    def _resolve_all(results: list[_Result]) -> None:
        """Resolves a transaction's futures with one wake-up of each event loop involved,
        instead of one per operation (each wake-up is a write to the loop's self-pipe)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[_Result]] = {}
        for result in results:
            by_loop.setdefault(result[0].loop, []).append(result)
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                loop.call_soon_threadsafe(set_outcomes, batch)

    @staticmethod
    def _begin(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def _run_batch(self, ops: list[Op]) -> None:
        """Runs `ops` in one transaction. When SQLite rolls the whole transaction back
        (a full disk or budget does), the oldest stored entries are evicted once and the
        batch runs again; an operation that still fails is answered `Unavailable` and the
        others run again without it."""
        conn = self._wconn
        assert conn is not None
        pending = list(ops)
        failed: list[_Result] = []
        evicted = False
        retries = 0
        while True:
            outcome = self._try_batch(conn, pending)
            if isinstance(outcome, list):
                self._resolve_all([*failed, *outcome])
                return
            if isinstance(outcome, _RolledBack):
                error = outcome.error
                if file_error(error) == "FULL" and not evicted:
                    evicted = True
                    if self._make_room(conn):
                        continue
                self._file_trouble(error)
                failed.append((pending.pop(outcome.index), None, self._unavailable()))
                retries += 1
                if pending and retries < _MAX_BATCH_RETRIES:
                    continue
                failed.extend((op, None, self._unavailable()) for op in pending)
                self._resolve_all(failed)
                return
            self._file_trouble(outcome)  # BEGIN or COMMIT failed: nothing was written
            error_all = self._unavailable()
            self._resolve_all([*failed, *((op, None, error_all) for op in pending)])
            return

    def _try_batch(
        self, conn: sqlite3.Connection, ops: list[Op]
    ) -> list[_Result] | _RolledBack | sqlite3.Error:
        tx = Tx(self._pending, self._dead, self._trace_pending, self._trace_dead)
        results: list[_Result] = []
        changes = conn.total_changes
        try:
            self._begin(conn)
            self._check_external_changes(conn, tx)
            for index, op in enumerate(ops):
                saved = (tx.counts(), tx.new)
                conn.execute("SAVEPOINT op")
                try:
                    value = op.fn(conn, tx)
                except Exception as exc:
                    if isinstance(exc, sqlite3.Error) and (
                        not conn.in_transaction or file_error(exc)
                    ):
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                        return _RolledBack(index, exc)
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    tx.restore(saved[0])
                    tx.new = saved[1]
                    if isinstance(exc, SpoolFull):
                        self._set_health(SpoolHealth.FULL, FULL_REASON)
                    elif isinstance(exc, sqlite3.Error):
                        log.error("spool operation failed: %s", exc)
                        exc = self._unavailable()
                    results.append((op, None, exc))
                else:
                    conn.execute("RELEASE op")
                    results.append((op, value, None))
            wrote = conn.total_changes != changes
            if wrote:
                save_clock(conn, self.now_st())
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return exc
        self._pending, self._dead, self._trace_pending, self._trace_dead = tx.counts()
        if wrote:  # read-only batches (refresh) write nothing
            self.commits += 1
            self.metrics.commits.inc()
            self.metrics.commit_batch_size.observe(len(ops))
            if self._health is not SpoolHealth.OK:
                self._recovered(conn)
        if tx.new:
            self.metrics.enqueued.inc(tx.new)
        self._update_gauges()
        return results

    def _file_trouble(self, error: sqlite3.Error) -> None:
        kind = file_error(error)
        log.error("spool write failed: %s (%s)", error, kind or "statement")
        if kind == "FULL":
            self._set_health(SpoolHealth.FULL, FULL_REASON)
        elif kind:
            self._set_health(SpoolHealth.FAILED, str(error))

    def _make_room(self, conn: sqlite3.Connection) -> bool:
        """Evicts the oldest stored entries (their own transaction); True if any went."""
        try:
            self._begin(conn)
            removed = self._evict_stored(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.warning("spool eviction failed: %s", exc)
            return False
        if removed:
            self.metrics.evicted.inc(removed)
            log.warning("spool full: evicted %d stored judgments before their retention", removed)
        return removed > 0

    def _probe(self) -> None:
        """Tries a small write; healthy again when it commits (and, after a full spool,
        when there is room for more than one write again)."""
        self._next_probe = time.monotonic() + self.probe_interval_s
        conn = self._wconn
        if conn is None:
            return
        try:
            self._begin(conn)
            if self._health is SpoolHealth.FULL:
                removed = self._evict_stored(conn)
                if removed:
                    self.metrics.evicted.inc(removed)
            save_clock(conn, self.now_st())
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            log.debug("spool probe failed: %s", exc)
            return
        self._recovered(conn)

    def _recovered(self, conn: sqlite3.Connection) -> None:
        if self._health is SpoolHealth.FULL and self._room_bytes(conn) < self._headroom():
            return
        self._set_health(SpoolHealth.OK)

    def _update_gauges(self) -> None:
        self.metrics.spool_depth.set(self._pending)
        self.metrics.dead_letters.set(self._dead)
        self.metrics.traces_pending.set(self._trace_pending)
        self.metrics.trace_dead_letters.set(self._trace_dead)

    def _check_external_changes(self, conn: sqlite3.Connection, tx: Tx) -> None:
        # data_version changes when *another* connection (the admin CLI) committed.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            tx.pending, tx.dead = self._count(conn)
            tx.trace_pending, tx.trace_dead = self._count_traces(conn)

    def _recount(self, conn: sqlite3.Connection) -> None:
        self._pending, self._dead = self._count(conn)
        self._trace_pending, self._trace_dead = self._count_traces(conn)

    def _prune_in_writer(self) -> None:
        """One bounded chunk per transaction, so enqueues are never held up for long."""
        self._next_prune = time.monotonic() + self.prune_interval_s
        conn = self._wconn
        if conn is None or not self.exclusive:
            return
        tx = Tx(self._pending, self._dead, self._trace_pending, self._trace_dead)
        try:
            self._begin(conn)
            now = self.now_st()
            removed = self._prune_chunk(conn, tx, now) + self._prune_traces(conn, tx, now)
            save_clock(conn, now)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("spool pruning failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return
        self._pending, self._dead, self._trace_pending, self._trace_dead = tx.counts()
        self._update_gauges()
        if removed:
            log.info("pruned %d stored entries and dead letters past their retention", removed)
        if removed >= PRUNE_CHUNK:
            self._next_prune = time.monotonic()  # more to do, after the waiting operations
