"""`feedback-server` as a real subprocess, for the tests and benchmarks that crash it.

    server = FeedbackServerProcess(mlflow_url, data_dir, experiment="exp")
    server.start()          # waits for gRPC health SERVING
    server.kill()           # SIGKILL (a crash), then server.start() on the same data dir
    server.metrics()        # the Prometheus counters of the running process

Every process started here is also killed at interpreter exit if a test's teardown did not
run.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
import weakref
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testbed.mlflow_server import free_port
from testbed.processes import kill_group

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = float(os.environ.get("FEEDBACK_TEST_SERVER_STARTUP_TIMEOUT", "90"))

_LIVE: weakref.WeakSet[FeedbackServerProcess] = weakref.WeakSet()


def feedback_server_executable() -> Path:
    for candidate in (
        Path(sys.executable).parent / "feedback-server",
        REPO / ".venv/bin/feedback-server",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no feedback-server executable in the venv; run `make install`")


class FeedbackServerProcess:
    """`feedback-server` as a subprocess on a fixed loopback port (kept across restarts)."""

    def __init__(
        self,
        tracking_uri: str,
        data_dir: Path,
        *,
        experiment: str,
        log_dir: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.data_dir = Path(data_dir)
        self.experiment = experiment
        self.log_path = Path(log_dir or self.data_dir.parent) / f"feedback-server-{experiment}.log"
        self.port = free_port()
        self.metrics_port = free_port()
        self.extra_env = dict(env or {})
        self.starts = 0
        self.startup_seconds: list[float] = []
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            # The server's MLflow client settings are its own defaults, not the test process's.
            if not k.startswith(("MLFLOW_", "FEEDBACK_"))
        }
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "FEEDBACK_SERVER_HOST": "127.0.0.1",
                "FEEDBACK_SERVER_PORT": str(self.port),
                "FEEDBACK_METRICS_PORT": str(self.metrics_port),
                "FEEDBACK_DATA_DIR": str(self.data_dir),
                "MLFLOW_TRACKING_URI": self.tracking_uri,
                "MLFLOW_EXPERIMENT_NAME": self.experiment,
                "FEEDBACK_SHUTDOWN_GRACE_S": "5",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> FeedbackServerProcess:
        if self.running:
            raise RuntimeError("feedback server already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} at {time.ctime()} =====\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [str(feedback_server_executable())],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.environment(),
                cwd=self.data_dir,
                start_new_session=True,
            )
        _LIVE.add(self)
        try:
            self._wait_serving(began)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds.append(time.monotonic() - began)
        return self

    def _wait_serving(self, began: float) -> None:
        deadline = began + STARTUP_TIMEOUT_S
        while True:
            assert self._proc is not None
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(f"feedback server exited with {code}:\n{self.log_tail()}")
            if self.serving():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"feedback server not SERVING in time:\n{self.log_tail()}")
            time.sleep(0.2)

    def serving(self) -> bool:
        try:
            with grpc.insecure_channel(self.address) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1.0
                )
                return reply.status == health_pb2.HealthCheckResponse.SERVING
        except grpc.RpcError:
            return False

    def kill(self) -> None:
        """A crash: SIGKILL to the process group, no graceful shutdown."""
        if self._proc is None:
            return
        kill_group(self._proc)
        self._proc = None
        _LIVE.discard(self)

    def stop(self, timeout: float = 20.0) -> int | None:
        """Graceful stop (SIGTERM), SIGKILL after `timeout`; returns the exit code."""
        if self._proc is None:
            return None
        code: int | None = None
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGTERM)
            try:
                code = self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                code = None
        else:
            code = self._proc.returncode
        self.kill()
        return code

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log_path.read_bytes()[-chars:].decode("utf-8", errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"

    def metrics(self) -> dict[str, float]:
        """Flat `name{labels}` -> value of the server's Prometheus endpoint ({} if down)."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2
            ) as resp:
                text = resp.read().decode()
        except OSError:
            return {}
        out: dict[str, float] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
        return out

    def __enter__(self) -> FeedbackServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.kill()
