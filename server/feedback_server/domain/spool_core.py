"""The spool's machinery: the SQLite file, its lock, the reader and the writer thread.

`SpoolCore` owns one spool file: it takes the ownership lock, opens the connections,
creates the schema, and runs every write on one dedicated writer thread fed by a queue.
The operations that arrive while a commit (and its fsync) is in progress are committed
together in the next transaction (group commit), each in its own savepoint, so one failing
operation (e.g. a full spool) never affects the others. Reads use a second connection on a
reader thread. Nothing here blocks the event loop. `Spool` (spool.py) builds its public API
on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Self, TypeVar

from feedback_server.domain.model import now_ms
from feedback_server.domain.spool_store import (
    PRUNE_CHUNK,
    SCHEMA,
    SCHEMA_VERSION,
    SpoolTransactions,
    Tx,
)
from feedback_server.errors import Unavailable
from feedback_server.metrics import SpoolMetrics, default_metrics

log = logging.getLogger("feedback_server.domain.spool")

T = TypeVar("T")

DEFAULT_RETENTION_S: Final = 7 * 24 * 3600.0


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


class SpoolCore(SpoolTransactions):
    """The file, its connections and the writer thread of a `Spool` (module docstring)."""

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

    async def __aenter__(self) -> Self:
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
