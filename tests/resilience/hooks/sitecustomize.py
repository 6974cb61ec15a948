"""Fault injection for the feedback server processes of the resilience tests.

This folder is put on a server's PYTHONPATH by the tests that need it; Python imports this
module when the interpreter starts, before the server's own code. Two hooks, each armed by
an environment variable naming a control file:

- FEEDBACK_TEST_CLOCK_FILE: the process's wall clock (`time.time`, `time.time_ns`) is
  shifted by the number of seconds in that file, re-read every 50 ms: a clock step, in
  either direction, of a real process. The monotonic clock is left alone, as a real step
  leaves it.
- FEEDBACK_TEST_WRITER_CRASH_FILE: while that file exists, the spool's writer thread dies
  (an exception no code catches) when it begins its next transaction: the bug that kills
  a thread.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

_clock_file = os.environ.get("FEEDBACK_TEST_CLOCK_FILE")
if _clock_file:
    _offset_s = [0.0]
    _real_time, _real_time_ns = time.time, time.time_ns

    def _watch(path: Path = Path(_clock_file)) -> None:
        while True:
            with contextlib.suppress(OSError, ValueError):
                _offset_s[0] = float(path.read_text().strip() or 0)
            time.sleep(0.05)

    threading.Thread(target=_watch, name="test-clock", daemon=True).start()
    time.time = lambda: _real_time() + _offset_s[0]
    time.time_ns = lambda: _real_time_ns() + int(_offset_s[0] * 1e9)

_crash_file = os.environ.get("FEEDBACK_TEST_WRITER_CRASH_FILE")
if _crash_file:

    class WriterThreadKilled(BaseException):
        """Raised in the spool's writer thread: nothing there catches it."""

    from feedback_server.domain.spool_writer import SpoolWriter

    _begin = SpoolWriter._begin

    def _begin_or_die(conn: object, path: Path = Path(_crash_file)) -> None:
        if path.exists():
            raise WriterThreadKilled("injected by the resilience test")
        _begin(conn)  # type: ignore[arg-type]

    SpoolWriter._begin = staticmethod(_begin_or_die)  # type: ignore[method-assign,assignment]
