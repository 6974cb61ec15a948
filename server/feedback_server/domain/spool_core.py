"""The spool's machinery: the SQLite file, its lock, the reader and the writer thread.

`SpoolCore` owns one spool file: it takes the ownership lock, opens the connections,
creates or migrates the schema (spool_schema.py) after checking the file, and starts the
writer thread (spool_writer.py: group commit, the disk budget, writability and spool time),
restarting it if it dies. Reads use a second connection on a reader thread. Nothing here
blocks the event loop. `Spool` (spool.py) builds its public API on it.

A spool that cannot be used at start (locked by another server, damaged, not writable)
raises `SpoolOpenError`, whose text is one line naming the file and what to do.
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
from pathlib import Path
from typing import IO, Final, Self, TypeVar

from feedback_server.domain.clock import SYSTEM_CLOCK, Clock
from feedback_server.domain.spool_schema import (
    SpoolLockedError,
    SpoolOpenError,
    create_or_migrate,
    quick_check,
    read_clock,
)
from feedback_server.domain.spool_store import Tx, lenient_text
from feedback_server.domain.spool_writer import (
    CORRUPT_ERRORS,
    STOP,
    Op,
    SpoolHealth,
    SpoolWriter,
    file_error,
    set_outcome,
)
from feedback_server.metrics import SpoolMetrics, default_metrics

log = logging.getLogger("feedback_server.domain.spool")

T = TypeVar("T")

DEFAULT_RETENTION_S: Final = 7 * 24 * 3600.0
DEFAULT_DEAD_RETENTION_S: Final = 30 * 24 * 3600.0

__all__ = ["SpoolCore", "SpoolHealth", "SpoolLockedError", "SpoolOpenError"]


#: `FEEDBACK_SPOOL_SYNC` -> SQLite's `synchronous` in WAL mode (docs/spool.md "Durability"):
#: FULL fsyncs the log at every commit (an acknowledgment survives power loss); NORMAL
#: writes the log without an fsync per commit (it survives a killed process, the last
#: commits may be lost on power loss) and fsyncs at checkpoints.
SYNC_LEVELS: Final = {"full": "FULL", "normal": "NORMAL"}


def _connect(path: Path, sync: str = "full") -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {SYNC_LEVELS[sync]}")
    return conn


def _open_reader(path: Path) -> sqlite3.Connection:
    conn = _connect(path)
    conn.execute("PRAGMA query_only = 1")
    conn.text_factory = lenient_text
    return conn


def damaged(path: Path, detail: str) -> SpoolOpenError:
    folder = path.parent
    return SpoolOpenError(
        f"spool {path} is damaged ({detail}); inspect it with `feedback-admin spool check "
        f"--data-dir {folder}` and keep what can be read with `feedback-admin spool salvage "
        f"--data-dir {folder}`"
    )


def open_error(path: Path, exc: BaseException) -> SpoolOpenError:
    """The one-line start-up error for a spool file that cannot be used."""
    folder = path.parent
    detail = str(exc) or type(exc).__name__
    if file_error(exc) in CORRUPT_ERRORS:
        return damaged(path, detail)
    return SpoolOpenError(
        f"spool {path} cannot be written ({detail}); give the server write access to {folder} "
        f"and room on its disk (`feedback-admin spool check --data-dir {folder}` inspects it)"
    )


class SpoolCore(SpoolWriter):
    """The file, its connections and the writer thread of a `Spool` (module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        max_pending: int = 100_000,
        max_bytes: int = 0,
        retention_s: float = DEFAULT_RETENTION_S,
        dead_retention_s: float = DEFAULT_DEAD_RETENTION_S,
        prune_interval_s: float = 600.0,
        retry_after_s: float = 5.0,
        max_batch: int = 1024,
        sync: str = "full",
        linger_ms: float = 0.0,
        exclusive: bool = True,
        metrics: SpoolMetrics | None = None,
        clock: Clock = SYSTEM_CLOCK,
        probe_interval_s: float = 1.0,
        restart_delay_s: float = 1.0,
    ) -> None:
        """`max_batch=1` disables group commit (one transaction per operation); `max_bytes`
        0 means no budget but the disk's. `sync` is "full" or "normal" (`SYNC_LEVELS`);
        `linger_ms` is how long the writer waits for more operations before a commit that
        would carry fewer than `max_batch` (0: it commits what has arrived at once).

        `exclusive=False` is for tools (the admin CLI) that open the file of a
        running server: no ownership lock, no start-up checks or repair, no pruning.
        """
        self.path = Path(path)
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.retention_s = retention_s
        self.dead_retention_s = dead_retention_s
        self.prune_interval_s = prune_interval_s
        self.retry_after_s = retry_after_s
        self.max_batch = max(1, max_batch)
        if sync not in SYNC_LEVELS:
            raise ValueError(f"spool sync level must be one of {sorted(SYNC_LEVELS)}")
        self.sync = sync
        self.linger_s = max(0.0, linger_ms) / 1000
        self.exclusive = exclusive
        self.metrics = metrics if metrics is not None else default_metrics()
        self.clock = clock
        self.probe_interval_s = probe_interval_s
        self.restart_delay_s = restart_delay_s
        self.commits = 0  # transactions committed by the writer thread
        self._pending = 0
        self._dead = 0
        self._trace_pending = 0
        self._trace_dead = 0
        self._data_version = -1
        self._st0 = 0  # spool time at `_mono0`
        self._mono0 = 0.0
        self._budget_pages = 0
        self._page_size = 4096
        self._health = SpoolHealth.OK
        self._health_reason = ""
        self._next_probe = 0.0
        # Lists of operations (one per event-loop iteration, see `_hand_over`), or STOP.
        self._queue: queue.SimpleQueue[list[Op] | object] = queue.SimpleQueue()
        self._outbox: list[Op] = []
        self._writer: threading.Thread | None = None
        self._writer_alive = False
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._lock_file: IO[bytes] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer_done: asyncio.Future[None] | None = None
        self._restart: asyncio.Task[None] | None = None
        self._next_prune = 0.0
        self._closing = False
        self._started = False
        self._listeners: list[Callable[[], None]] = []
        self._trace_listeners: list[Callable[[], None]] = []
        self._health_listeners: list[Callable[[bool, str], None]] = []

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Opens the file. Raises `SpoolOpenError` (one line: the file and what to do) when
        it is locked by another server, damaged, or cannot be written."""
        if self._started:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.exclusive:
                self._lock_file = self._take_lock()
        except OSError as exc:
            raise open_error(self.path, exc) from None
        try:
            await asyncio.to_thread(self._open_writer)
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="spool-reader")
            loop = asyncio.get_running_loop()
            self._rconn = await loop.run_in_executor(self._reader, _open_reader, self.path)
        except sqlite3.Error as exc:
            self._release_resources()
            raise open_error(self.path, exc) from None
        except BaseException:
            self._release_resources()
            raise
        self._loop = loop
        self._next_prune = time.monotonic() + (1.0 if self.exclusive else float("inf"))
        self._started = True
        self._launch_writer()
        log.info(
            "spool %s opened: %d pending, %d dead-lettered, %d traces to export",
            self.path,
            self._pending,
            self._dead,
            self._trace_pending,
        )

    async def close(self) -> None:
        """Stops accepting operations, commits those already submitted, closes the file."""
        if not self._started or self._closing:
            return
        self._closing = True
        if self._restart is not None:
            self._restart.cancel()
        self._hand_over()
        self._queue.put(STOP)
        if self._writer_done is not None and self._writer_alive:
            await asyncio.shield(self._writer_done)
        self._fail_queued(RuntimeError("spool is closed"))
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

    def add_trace_listener(self, callback: Callable[[], None]) -> None:
        """`callback()` runs on the event loop when traces become due (replay)."""
        self._trace_listeners.append(callback)

    def add_health_listener(self, callback: Callable[[bool, str], None]) -> None:
        """`callback(healthy, reason)` runs on the event loop whenever writability changes."""
        self._health_listeners.append(callback)

    # ------------------------------------------------------------------ opening

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
        existed = self.path.exists() and self.path.stat().st_size > 0
        conn = _connect(self.path, self.sync)
        try:
            if self.max_bytes:
                self._page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
                self._budget_pages = max(64, self.max_bytes // self._page_size)
                hard = self._budget_pages + max(64, self._budget_pages // 10)
                conn.execute(f"PRAGMA max_page_count = {hard}")
                conn.execute(f"PRAGMA journal_size_limit = {max(1 << 20, self.max_bytes // 8)}")
            conn.execute("BEGIN IMMEDIATE")
            if existed and self.exclusive:
                problem = quick_check(conn)
                if problem is not None:
                    raise damaged(self.path, problem)
            create_or_migrate(conn, self.path, self.clock.wall_ms())
            if self.exclusive:
                self._repair_heads(conn)
            self._recount(conn)
            # A restarted writer goes on from the time it had, if later than the saved one.
            running = self.now_st() if self._started else 0
            self._st0, self._mono0 = max(read_clock(conn), running), self.clock.monotonic()
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

    # ------------------------------------------------------------------ the writer thread

    def _launch_writer(self) -> None:
        loop = self._loop
        assert loop is not None
        self._writer_done = loop.create_future()
        self._writer_done.add_done_callback(self._writer_exited)
        self._writer = threading.Thread(
            target=self._writer_main, args=(loop, self._writer_done), name="spool-writer"
        )
        self._writer.daemon = True
        self._writer_alive = True
        self._writer.start()

    def _writer_exited(self, _: asyncio.Future[None]) -> None:
        """On the event loop: a writer thread that stopped without `close` is restarted."""
        self._fail_queued(self._unavailable())  # handed over after it stopped reading
        if not self._closing and self._restart is None:
            self._restart = asyncio.ensure_future(self._restart_writer())

    async def _restart_writer(self) -> None:
        delay = self.restart_delay_s
        try:
            while not self._closing:
                await asyncio.sleep(delay)
                try:
                    if self._wconn is not None:
                        with contextlib.suppress(sqlite3.Error):
                            self._wconn.close()
                        self._wconn = None
                    await asyncio.to_thread(self._open_writer)
                except Exception as exc:
                    log.error("spool writer could not be restarted: %s", exc)
                    delay = min(delay * 2, 30.0)
                    continue
                log.warning("spool writer thread restarted")
                self._launch_writer()
                return
        finally:
            self._restart = None

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            raise RuntimeError("spool is not open")
        conn = self._rconn
        if conn is None or self._closing:
            raise RuntimeError("spool is closed")
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, conn)

    def _submit(self, fn: Callable[[sqlite3.Connection, Tx], T]) -> asyncio.Future[T]:
        """Queues a write for the writer thread; a stopped writer answers `Unavailable` at
        once (never a call left waiting)."""
        if not self._started or self._closing:
            raise RuntimeError("spool is not open")
        if not self._writer_alive:
            raise self._unavailable()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._outbox.append(Op(fn, fut, loop))
        if len(self._outbox) == 1:
            loop.call_soon(self._hand_over)
        return fut

    def _hand_over(self) -> None:
        """Passes the operations submitted during one event-loop iteration to the writer
        thread at once: one cross-thread wake-up per iteration instead of one per operation."""
        ops, self._outbox = self._outbox, []
        if not ops:
            return
        if self._writer_alive:
            self._queue.put(ops)
        else:
            for op in ops:
                set_outcome(op.future, None, self._unavailable())
