"""The durable local spool: acknowledged judgments waiting to be stored in MLflow.

A judgment is acknowledged to the caller only once it is on disk here. The
`Drainer` (domain/drainer.py) then writes it to MLflow in the background.

Storage is one SQLite file in WAL mode with `synchronous=FULL`, so a committed
transaction survives a process kill or power loss. All writes go through one
dedicated writer thread fed by a queue: the operations that arrive while a
commit (and its fsync) is in progress are committed together in the next
transaction (group commit), each in its own savepoint, so one failing operation
(e.g. a full spool) never affects the others. Reads use a second connection on
a reader thread. Nothing here blocks the event loop.

An entry is `queued` (pending), `stored` (kept `retention_s` so that retries
stay idempotent, then pruned) or `dead_lettered` (kept until replayed).
Entries with the same `TraceTarget.order_key` are drained in acknowledgment
order (`seq`); the first pending entry of each key is flagged `is_head`, and
only heads are handed to the drainer (an index on the due heads keeps that
query cheap whatever the backlog).

One server process owns a spool file (an advisory lock enforces it); other
processes (the admin CLI) may open it with `exclusive=False` to list and replay
dead letters while the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from feedback_server.domain.drainer import AssessmentWriter, Drainer
from feedback_server.domain.model import Judgment, now_ms
from feedback_server.domain.spool_store import (
    COLUMNS,
    DEAD,
    PRUNE_CHUNK,
    QUEUED,
    SCHEMA,
    SCHEMA_VERSION,
    STORED,
    SpoolEntry,
    SpoolTransactions,
    Tx,
    chunks,
    row_to_entry,
)
from feedback_server.errors import Unavailable
from feedback_server.metrics import SpoolMetrics, default_metrics

__all__ = [
    "DEFAULT_RETENTION_S",
    "SPOOL_FILENAME",
    "AssessmentWriter",
    "Drainer",
    "Spool",
    "SpoolEntry",
    "SpoolLockedError",
    "SpoolStats",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

SPOOL_FILENAME: Final = "spool.sqlite3"
DEFAULT_RETENTION_S: Final = 7 * 24 * 3600.0


@dataclass(frozen=True)
class SpoolStats:
    path: str
    pending: int
    stored: int
    dead_lettered: int
    pending_keys: int  # distinct order keys with pending entries
    due_now: int  # heads whose next attempt is due
    oldest_pending_ms: int | None  # acknowledgment time of the oldest pending entry
    max_pending_attempts: int
    file_bytes: int  # database + WAL


class SpoolLockedError(RuntimeError):
    """Another process already owns this spool file."""


_OpFn = Callable[[sqlite3.Connection, Tx], Any]


@dataclass
class _Op:
    fn: _OpFn
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


_STOP: Final = object()


def _set_outcome(fut: asyncio.Future[Any], value: Any, exc: BaseException | None) -> None:
    if fut.done():  # the caller was cancelled; the write happened anyway
        return
    if exc is not None:
        fut.set_exception(exc)
    else:
        fut.set_result(value)


def _set_outcomes(results: list[tuple[_Op, Any, BaseException | None]]) -> None:
    for op, value, exc in results:
        _set_outcome(op.future, value, exc)


def _connect(path: Path) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL: in WAL mode the log is fsynced at every commit, so "acknowledged" means on disk.
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _open_reader(path: Path) -> sqlite3.Connection:
    conn = _connect(path)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _recent_of_source(
    conn: sqlite3.Connection,
    trace_id: str | None,
    order_key: str,
    name: str,
    source_id: str,
    depth: int,
) -> list[SpoolEntry]:
    column, value = ("trace_id", trace_id) if trace_id else ("order_key", order_key)
    # A cheap text filter on the JSON as `Judgment.to_json` writes it (sorted keys, no
    # spaces); the parsed judgments are checked exactly below.
    wanted = (f'"name":{json.dumps(name)}', f'"source_id":{json.dumps(source_id)}')
    sql = (
        f"SELECT {COLUMNS} FROM (SELECT * FROM spool_entries WHERE {column} = ? "
        "AND state = ? ORDER BY seq DESC LIMIT ?) "
        "WHERE instr(judgment, ?) > 0 AND instr(judgment, ?) > 0"
    )
    rows = [
        row
        for state in (QUEUED, STORED)
        for row in conn.execute(sql, (value, state, max(0, depth), *wanted))
    ]
    entries = [row_to_entry(r) for r in sorted(rows, key=lambda r: r[0])]
    return [e for e in entries if e.judgment.name == name and e.judgment.source_id == source_id]


class Spool(SpoolTransactions):
    """Durable queue of acknowledged judgments. See the module docstring."""

    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 100_000,
        retention_s: float = DEFAULT_RETENTION_S,
        prune_interval_s: float = 600.0,
        retry_after_s: float = 5.0,
        max_batch: int = 1024,
        exclusive: bool = True,
        metrics: SpoolMetrics | None = None,
    ) -> None:
        """`max_batch=1` disables group commit (one transaction per operation).

        `exclusive=False` is for tools (the admin CLI) that open the file of a
        running server: no ownership lock, no start-up repair, no pruning.
        """
        self.path = Path(path)
        self.max_pending = max_pending
        self.retention_s = retention_s
        self.prune_interval_s = prune_interval_s
        self.retry_after_s = retry_after_s
        self.max_batch = max(1, max_batch)
        self.exclusive = exclusive
        self.metrics = metrics if metrics is not None else default_metrics()
        self.commits = 0  # transactions committed by the writer thread
        self._pending = 0
        self._dead = 0
        self._data_version = -1
        # Lists of operations (one per event-loop iteration, see `_hand_over`), or _STOP.
        self._queue: queue.SimpleQueue[list[_Op] | object] = queue.SimpleQueue()
        self._outbox: list[_Op] = []
        self._writer: threading.Thread | None = None
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._lock_file: IO[bytes] | None = None
        self._writer_done: asyncio.Future[None] | None = None
        self._next_prune = 0.0
        self._closing = False
        self._started = False
        self._listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._started:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.exclusive:
            self._lock_file = self._take_lock()
        try:
            await asyncio.to_thread(self._open_writer)
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="spool-reader")
            loop = asyncio.get_running_loop()
            self._rconn = await loop.run_in_executor(self._reader, _open_reader, self.path)
        except BaseException:
            self._release_resources()
            raise
        self._writer_done = loop.create_future()
        self._next_prune = time.monotonic() + (1.0 if self.exclusive else float("inf"))
        self._writer = threading.Thread(
            target=self._writer_main, args=(loop, self._writer_done), name="spool-writer"
        )
        self._writer.daemon = True
        self._started = True
        self._writer.start()
        log.info(
            "spool %s opened: %d pending, %d dead-lettered", self.path, self._pending, self._dead
        )

    async def close(self) -> None:
        """Stops accepting operations, commits those already submitted, closes the file."""
        if not self._started or self._closing:
            return
        self._closing = True
        self._hand_over()
        self._queue.put(_STOP)
        if self._writer_done is not None:
            await asyncio.shield(self._writer_done)
        self._release_resources()
        log.info("spool %s closed", self.path)

    async def __aenter__(self) -> Spool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def add_enqueue_listener(self, callback: Callable[[], None]) -> None:
        """`callback()` runs on the event loop after an enqueue recorded new entries."""
        self._listeners.append(callback)

    def remove_enqueue_listener(self, callback: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # ------------------------------------------------------------------ public API

    def depth(self) -> int:
        """Pending entries (in memory; refreshed when another process changes the file)."""
        return self._pending

    def dead_count(self) -> int:
        return self._dead

    async def enqueue(self, judgments: Sequence[Judgment]) -> list[SpoolEntry]:
        """Durably records `judgments` in one transaction; returns their entries in order.

        Idempotent on `assessment_id`: an entry that already exists (in any
        state) is returned as it is. Raises `ResourceExhausted` when the new
        entries would take the pending depth above `max_pending`, and
        `Unavailable` when the disk refuses the write.
        """
        if not judgments:
            return []
        items = list(judgments)
        t0 = time.perf_counter()
        entries, new = await self._submit(
            lambda conn, tx: self._enqueue_tx(conn, tx, items, now_ms())
        )
        self.metrics.ack_latency.observe(time.perf_counter() - t0)
        if new:
            for callback in list(self._listeners):
                try:
                    callback()
                except Exception:
                    log.exception("spool enqueue listener failed")
        return entries

    async def get(self, assessment_ids: Iterable[str]) -> dict[str, SpoolEntry]:
        ids = list(dict.fromkeys(assessment_ids))

        def run(conn: sqlite3.Connection) -> dict[str, SpoolEntry]:
            out: dict[str, SpoolEntry] = {}
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT {COLUMNS} FROM spool_entries WHERE assessment_id IN ({marks})"
                for row in conn.execute(sql, chunk):
                    out[row[1]] = row_to_entry(row)
            return out

        return await self._read(run) if ids else {}

    async def pending_for_trace(self, trace_id: str) -> list[SpoolEntry]:
        """Pending entries targeting `trace_id` (directly or once resolved), in order."""
        sql = f"SELECT {COLUMNS} FROM spool_entries WHERE trace_id = ? AND state = ? ORDER BY seq"
        return await self._read(
            lambda conn: [row_to_entry(r) for r in conn.execute(sql, (trace_id, QUEUED))]
        )

    async def recent_of_sources(
        self, queries: Sequence[tuple[str | None, str, str, str]], depth: int = 64
    ) -> list[list[SpoolEntry]]:
        """For each (trace_id, order_key, name, source_id): the entries, pending or stored,
        that target `trace_id` (without one: that have `order_key`) and whose judgment has
        this name and source ID, among the newest `depth` of each state, in acknowledgment
        order. Read-only, in one reader call for all the queries, and bounded whatever the
        traces' histories (at most 2 x `depth` rows of each trace's index are read)."""

        def run(conn: sqlite3.Connection) -> list[list[SpoolEntry]]:
            return [_recent_of_source(conn, *query, depth) for query in queries]

        return await self._read(run) if queries else []

    async def list_dead(self, limit: int = 100, offset: int = 0) -> list[SpoolEntry]:
        """Dead letters in acknowledgment order; `last_error` holds the reason."""
        sql = f"SELECT {COLUMNS} FROM spool_entries WHERE state = ? ORDER BY seq LIMIT ? OFFSET ?"
        return await self._read(
            lambda conn: [
                row_to_entry(r) for r in conn.execute(sql, (DEAD, max(0, limit), max(0, offset)))
            ]
        )

    async def replay(self, assessment_ids: Iterable[str] | None = None) -> int:
        """Moves dead letters (all when None) back to pending, attempts and TTL reset.

        Returns how many entries moved; IDs that are not dead letters are ignored.
        """
        ids = None if assessment_ids is None else list(dict.fromkeys(assessment_ids))
        count: int = await self._submit(lambda conn, tx: self._replay_tx(conn, tx, ids, now_ms()))
        if count:
            log.info("replayed %d dead-lettered judgments", count)
            for callback in list(self._listeners):
                with contextlib.suppress(Exception):
                    callback()
        return count

    async def stats(self) -> SpoolStats:
        def run(conn: sqlite3.Connection) -> SpoolStats:
            counts = dict(
                conn.execute("SELECT state, COUNT(*) FROM spool_entries GROUP BY state").fetchall()
            )
            keys, due = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(next_attempt_ms <= ?), 0) FROM spool_entries "
                f"WHERE state = '{QUEUED}' AND is_head = 1",
                (now_ms(),),
            ).fetchone()
            oldest, max_attempts = conn.execute(
                "SELECT MIN(enqueued_ms), COALESCE(MAX(attempts), 0) FROM spool_entries "
                "WHERE state = ?",
                (QUEUED,),
            ).fetchone()
            size = 0
            for suffix in ("", "-wal"):
                with contextlib.suppress(OSError):
                    size += os.path.getsize(f"{self.path}{suffix}")
            return SpoolStats(
                path=str(self.path),
                pending=counts.get(QUEUED, 0),
                stored=counts.get(STORED, 0),
                dead_lettered=counts.get(DEAD, 0),
                pending_keys=keys,
                due_now=due,
                oldest_pending_ms=oldest,
                max_pending_attempts=max_attempts,
                file_bytes=size,
            )

        return await self._read(run)

    # ------------------------------------------------------------- drainer API

    async def heads(self, limit: int) -> list[SpoolEntry]:
        """The first pending entry of each order key, soonest `next_attempt_ms` first."""
        # The literal state (not a parameter) lets SQLite match the partial index.
        sql = (
            f"SELECT {COLUMNS} FROM spool_entries INDEXED BY spool_due_heads "
            f"WHERE state = '{QUEUED}' AND is_head = 1 ORDER BY next_attempt_ms, seq LIMIT ?"
        )
        return await self._read(lambda conn: [row_to_entry(r) for r in conn.execute(sql, (limit,))])

    async def mark_stored(self, assessment_id: str, trace_id: str | None) -> bool:
        """Records that MLflow stored the entry; False if it was not pending."""
        done: bool = await self._submit(
            lambda conn, tx: self._finish_tx(conn, tx, assessment_id, STORED, None, trace_id)
        )
        return done

    async def mark_dead(self, assessment_id: str, reason: str, trace_id: str | None = None) -> bool:
        """Moves a pending entry to the dead letters with `reason`."""
        done: bool = await self._submit(
            lambda conn, tx: self._finish_tx(conn, tx, assessment_id, DEAD, reason, trace_id)
        )
        return done

    async def mark_retry(
        self,
        assessment_id: str,
        next_attempt_ms: int,
        error: str,
        trace_id: str | None = None,
    ) -> bool:
        """Counts a failed attempt and schedules the next one."""

        def run(conn: sqlite3.Connection, tx: Tx) -> bool:
            cur = conn.execute(
                "UPDATE spool_entries SET attempts = attempts + 1, last_error = ?, "
                "next_attempt_ms = ?, trace_id = COALESCE(?, trace_id), updated_ms = ? "
                "WHERE assessment_id = ? AND state = ?",
                (error, next_attempt_ms, trace_id, now_ms(), assessment_id, QUEUED),
            )
            return cur.rowcount > 0

        done: bool = await self._submit(run)
        return done

    async def refresh(self) -> None:
        """Recounts pending and dead entries if another process changed the file."""
        await self._submit(lambda conn, tx: None)

    async def prune(self) -> int:
        """Deletes stored entries older than the retention period; returns how many."""
        total = 0
        while True:
            removed: int = await self._submit(lambda conn, tx: self._prune_chunk(conn, now_ms()))
            total += removed
            if removed < PRUNE_CHUNK:
                return total

    # ------------------------------------------------------------------ internals

    def _take_lock(self) -> IO[bytes]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fh = open(lock_path, "a+b")  # noqa: SIM115 - held open for the spool's lifetime
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.close()
            raise SpoolLockedError(
                f"spool {self.path} is already in use by another server process"
            ) from exc
        return fh

    def _open_writer(self) -> None:
        conn = _connect(self.path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"spool {self.path} has schema version {version}, newer than this server's"
                )
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if self.exclusive:
                self._repair_heads(conn)
            self._recount(conn)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            conn.close()
            raise
        self._wconn = conn
        self._data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        self._update_gauges()

    def _release_resources(self) -> None:
        if self._rconn is not None and self._reader is not None:
            rconn = self._rconn
            with contextlib.suppress(Exception):
                self._reader.submit(rconn.close).result()
        self._rconn = None
        if self._reader is not None:
            self._reader.shutdown(wait=True)
            self._reader = None
        if self._wconn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._wconn.close()
            self._wconn = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            raise RuntimeError("spool is not open")
        conn = self._rconn
        if conn is None or self._closing:
            raise RuntimeError("spool is closed")
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, conn)

    def _submit(self, fn: Callable[[sqlite3.Connection, Tx], T]) -> asyncio.Future[T]:
        if not self._started or self._closing:
            raise RuntimeError("spool is not open")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._outbox.append(_Op(fn, fut, loop))
        if len(self._outbox) == 1:
            loop.call_soon(self._hand_over)
        return fut

    def _hand_over(self) -> None:
        """Passes the operations submitted during one event-loop iteration to the writer
        thread at once: one cross-thread wake-up per iteration instead of one per operation."""
        ops, self._outbox = self._outbox, []
        if ops:
            self._queue.put(ops)

    def _writer_main(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
        try:
            while True:
                timeout = max(0.0, self._next_prune - time.monotonic())
                try:
                    item = self._queue.get(timeout=min(timeout, 3600.0))
                except queue.Empty:
                    self._prune_in_writer()
                    continue
                ops: list[_Op] = []
                while isinstance(item, list):
                    ops.extend(item)
                    if len(ops) >= self.max_batch:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                stop = item is _STOP
                for start in range(0, len(ops), self.max_batch):
                    self._run_batch(ops[start : start + self.max_batch])
                if stop:  # everything submitted before it is done
                    break
                if time.monotonic() >= self._next_prune:
                    self._prune_in_writer()
        except BaseException:  # pragma: no cover - a bug; never leave callers hanging
            log.exception("spool writer thread crashed")
            self._fail_queued(RuntimeError("spool writer stopped"))
        finally:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_set_outcome, done, None, None)

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
    def _resolve(op: _Op, value: Any, exc: BaseException | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            op.loop.call_soon_threadsafe(_set_outcome, op.future, value, exc)

    @staticmethod
    def _resolve_all(results: list[tuple[_Op, Any, BaseException | None]]) -> None:
        """Resolves a transaction's futures with one wake-up of each event loop involved,
        instead of one per operation (each wake-up is a write to the loop's self-pipe)."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Op, Any, BaseException | None]]] = {}
        for result in results:
            by_loop.setdefault(result[0].loop, []).append(result)
        for loop, batch in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
                loop.call_soon_threadsafe(_set_outcomes, batch)

    def _run_batch(self, ops: list[_Op]) -> None:
        conn = self._wconn
        assert conn is not None
        tx = Tx(self._pending, self._dead)
        results: list[tuple[_Op, Any, BaseException | None]] = []
        changes = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._check_external_changes(conn, tx)
            for op in ops:
                saved = (tx.pending, tx.dead, tx.new)
                conn.execute("SAVEPOINT op")
                try:
                    value = op.fn(conn, tx)
                except Exception as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    tx.pending, tx.dead, tx.new = saved
                    if isinstance(exc, sqlite3.Error):
                        log.error("spool operation failed: %s", exc)
                        exc = Unavailable("the judgment spool cannot record this right now")
                    results.append((op, None, exc))
                else:
                    conn.execute("RELEASE op")
                    results.append((op, value, None))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("spool transaction failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            err = Unavailable("the judgment spool cannot record judgments right now")
            for op in ops:
                self._resolve(op, None, err)
            return
        self._pending, self._dead = tx.pending, tx.dead
        if conn.total_changes != changes:  # read-only batches (refresh) write nothing
            self.commits += 1
            self.metrics.commits.inc()
            self.metrics.commit_batch_size.observe(len(ops))
        if tx.new:
            self.metrics.enqueued.inc(tx.new)
        self._update_gauges()
        self._resolve_all(results)

    def _update_gauges(self) -> None:
        self.metrics.spool_depth.set(self._pending)
        self.metrics.dead_letters.set(self._dead)

    def _check_external_changes(self, conn: sqlite3.Connection, tx: Tx) -> None:
        # data_version changes when *another* connection (the admin CLI) committed.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            pending, dead = self._count(conn)
            tx.pending, tx.dead = pending, dead

    def _recount(self, conn: sqlite3.Connection) -> None:
        self._pending, self._dead = self._count(conn)

    def _prune_in_writer(self) -> None:
        """One bounded chunk per transaction, so enqueues are never held up for long."""
        self._next_prune = time.monotonic() + self.prune_interval_s
        conn = self._wconn
        if conn is None or not self.exclusive:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            removed = self._prune_chunk(conn, now_ms())
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.warning("spool pruning failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            return
        if removed:
            log.info("pruned %d stored judgments older than the retention period", removed)
        if removed >= PRUNE_CHUNK:
            self._next_prune = time.monotonic()  # more to do, after the waiting operations
