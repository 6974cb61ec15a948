"""Subprocesses in their own process group, their output in a log file.

    proc = Process("mlflow", argv, log_path, env=env, cwd=base_dir)
    proc.wait_ready(check, within_s=120, what="answer GET /health")
    proc.kill()    # a crash: SIGKILL to the whole group at once, then reaped
    proc.stop()    # graceful: the signal to the leader, SIGKILL to the group after a timeout

Every process still running when the interpreter exits (a test whose teardown did not run) is
killed with its group.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from testbed.poll import poll

__all__ = [
    "LOG_TAIL_CHARS",
    "Process",
    "ProcessError",
    "kill_group",
    "listens_on",
    "log_tail",
]

LOG_TAIL_CHARS = 6000

T = TypeVar("T")

#: Started and not yet reaped (strong references: a process object dropped by a failed test
#: must still be killed at interpreter exit).
_LIVE: set[Process] = set()


class ProcessError(RuntimeError):
    """A process exited or did not get ready in time (the message carries its log's tail)."""


def log_tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    """The last `chars` characters of a log file (a placeholder when it cannot be read)."""
    try:
        return path.read_bytes()[-chars:].decode("utf-8", errors="replace")
    except OSError as exc:
        return f"<no log: {exc}>"


def kill_group(popen: subprocess.Popen[Any], timeout_s: float = 10.0) -> None:
    """SIGKILL to `popen`'s process group (a crash: no graceful shutdown), then reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(timeout=timeout_s)


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` itself has a TCP socket listening on `port` (IPv4 or IPv6): with
    several servers on one SO_REUSEPORT port, a connection could reach another one."""
    inodes = set()
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/net/{name}") as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            continue
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


class Process:
    """One command in a new session (its own process group), stdout and stderr appended to
    `log_path`; stdin is /dev/null.

    Args:
        banner: a line written to the log before the command starts (restarts append).
        popen_kwargs: more `subprocess.Popen` arguments (``user``, ``group``, ...).
    """

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        banner: str | None = None,
        **popen_kwargs: Any,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            if banner is not None:
                header = f"\n===== {banner} at {time.ctime()} =====\n$ {' '.join(argv)}\n"
                log.write(header.encode())
                log.flush()
            self.popen: subprocess.Popen[bytes] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
                **popen_kwargs,
            )
        self.started_at = time.monotonic()
        _LIVE.add(self)

    @property
    def pid(self) -> int:
        """The leader's pid, which is also the process group's id."""
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return log_tail(self.log_path, chars)

    def signal_group(self, sig: signal.Signals) -> None:
        """`sig` to every process of the group (SIGSTOP / SIGCONT: a hung server)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def wait_ready(self, check: Callable[[], T], within_s: float, what: str) -> T:
        """Polls `check` until it returns something truthy, and returns that.

        Raises `ProcessError` (with the log's tail) when the process exits first or when
        `within_s` seconds pass; `what` completes "<name> did not <what>".
        """

        def ready() -> T:
            code = self.popen.poll()
            if code is not None:
                raise ProcessError(
                    f"{self.name} exited with code {code} before it could {what}; "
                    f"log {self.log_path}:\n{self.tail()}"
                )
            return check()

        value = poll(ready, within_s, interval_s=0.2)
        if not value:
            raise ProcessError(
                f"{self.name} did not {what} within {within_s:.0f} s; "
                f"log {self.log_path}:\n{self.tail()}"
            )
        return value

    def kill(self) -> None:
        """A crash: SIGKILL to every process of the group at once, then reaped."""
        kill_group(self.popen)
        _LIVE.discard(self)

    def stop(self, timeout_s: float = 15.0, sig: signal.Signals = signal.SIGTERM) -> int | None:
        """Graceful stop: `sig` to the leader (the server stops its own children), SIGKILL
        to the group after `timeout_s` or once the leader is gone (leftover children).
        Returns the leader's exit code (None when it had to be killed). Idempotent."""
        code = self.popen.poll()
        if code is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.popen.wait(timeout=timeout_s)
        self.kill()
        return code

    def __repr__(self) -> str:
        state = "running" if self.alive() else f"exited {self.popen.returncode}"
        return f"<Process {self.name} pid {self.pid} {state}>"


@atexit.register
def _kill_leftovers() -> None:
    """Last resort when a teardown did not run (the interpreter is exiting)."""
    for proc in list(_LIVE):
        with contextlib.suppress(Exception):
            os.killpg(proc.pid, signal.SIGKILL)
