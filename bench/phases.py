"""The phases of `make bench` (bench/__main__.py runs them)."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from typing import Any

#: The drain servers keep at most 32 finished turns waiting for export (default 256), so
#: that the backlog left after the trace measurement is gone within seconds; the export
#: rate itself depends on FEEDBACK_EXPORT_WORKERS, not on this bound.
DRAIN_ENV = {"FEEDBACK_EXPORT_MAX_PENDING": "32"}


class Durations:
    def __init__(self, quick: bool) -> None:
        self.run_s = 3.0 if quick else 5.0
        self.stream_rounds = 60 if quick else 120
        self.drain_warm_s = 2.0 if quick else 3.0
        self.drain_window_s = 5.0 if quick else 8.0
        self.streams = 1000


def _niced_mlflow_server_class() -> Any:
    from testbed.mlflow_server import MlflowServer

    class NicedMlflowServer(MlflowServer):
        """An MLflow server started at nice 19 (`renice(0)` before measuring it)."""

        def command(self) -> list[str]:
            return ["nice", "-n", "19", *super().command()]

        def renice(self, niceness: int) -> None:
            if self.pid is not None:
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PGRP, self.pid, niceness)

    return NicedMlflowServer


@contextlib.contextmanager
def _stalled(pgid: int | None) -> Iterator[None]:
    """MLflow's processes stopped (SIGSTOP) for the duration, continued whatever happens."""
    if pgid is None:
        yield
        return
    os.killpg(pgid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pgid, signal.SIGCONT)
