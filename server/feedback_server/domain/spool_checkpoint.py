"""The spool's WAL checkpoints, on a thread of their own.

SQLite copies the write-ahead log back into the database file at checkpoints. By default
the connection whose commit takes the log past 1,000 pages runs one inside that commit: it
writes the pages back and fsyncs the file, and every acknowledgment waiting on that commit
waits for it too (the tail of the acknowledgment latency). The spool's writer connection
only checkpoints past `SAFETY_PAGES` (if this thread falls behind); this thread runs a
PASSIVE checkpoint every `interval_s` on its own connection, which never blocks the writer:
it copies what is committed and leaves what is being written for the next one.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Final

log = logging.getLogger("feedback_server.domain.spool")

#: The writer's own checkpoint threshold (pages, 4 KiB each), a safety net only.
SAFETY_PAGES: Final = 10_000


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` every `interval_s` until stopped."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], interval_s: float) -> None:
        self._connect = connect
        self.interval_s = interval_s
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._main, name="spool-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _main(self) -> None:
        try:
            conn = self._connect()
        except sqlite3.Error as exc:  # the writer's own checkpoints remain
            log.warning("spool checkpoint thread could not open the file: %s", exc)
            return
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # a full or failing disk: the writer reports it
                    log.debug("spool checkpoint failed: %s", exc)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
