"""`feedback-server` as a real subprocess, for the tests that crash it and the benchmarks.

    server = FeedbackServerProcess(mlflow_url, data_dir, experiment="exp")
    server.start()          # waits for gRPC health SERVING
    server.kill()           # SIGKILL (a crash), then server.start() on the same data dir
    server.metrics()        # the Prometheus counters of the running process
    server.close()          # stopped if still running, ports given back

Its gRPC and metrics ports are `PortReservation`s held until `close`: a restart after a
crash comes back at the same address (clients retry against it, as against a Kubernetes
Service), and while it is down its clients are refused (testbed/ports.py says why).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from testbed.health import grpc_serving, http_get
from testbed.ports import LOOPBACK, PortReservation
from testbed.processes import LOG_TAIL_CHARS, Process, listens_on, log_tail
from testbed.tls import Pki

__all__ = [
    "STARTUP_TIMEOUT_S",
    "FeedbackServerProcess",
    "feedback_server_executable",
    "small_disk_available",
    "small_disk_wrapper",
]

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_S = float(os.environ.get("FEEDBACK_TEST_SERVER_STARTUP_TIMEOUT", "90"))


def feedback_server_executable() -> Path:
    for candidate in (
        Path(sys.executable).parent / "feedback-server",
        REPO / ".venv/bin/feedback-server",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no feedback-server executable in the venv; run `make install`")


def small_disk_wrapper(data_dir: Path, size: str) -> list[str]:
    """A wrapper (`FeedbackServerProcess(wrapper=...)`) that runs the server in a mount
    namespace of its own (an unprivileged user namespace: no root needed, nothing left
    mounted when it exits) with a tmpfs of `size` (e.g. "6m") on its data dir: a disk that
    fills up. Files in it are reached from outside at /proc/<pid>/root/<data_dir>."""
    script = 'mount -t tmpfs -o size="$1" tmpfs "$0" && shift && exec "$@"'
    return [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        script,
        str(data_dir),
        size,
    ]


def small_disk_available() -> bool:
    """Whether `small_disk_wrapper` works on this machine (user namespaces allowed)."""
    import shutil
    import subprocess
    import tempfile

    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(
            [*small_disk_wrapper(Path(folder), "1m"), "true"], capture_output=True, timeout=30
        )
    return probe.returncode == 0


class FeedbackServerProcess:
    """`feedback-server` (the console script) with its own spool in `data_dir`.

    Args:
        env: more settings (``FEEDBACK_*``, ``PYTHONPATH``, ...), over the defaults here.
            The test process's own ``MLFLOW_*`` and ``FEEDBACK_*`` variables never reach
            the server: its settings are these.
        metrics: serve Prometheus metrics (on a reserved port; `metrics()` reads them).
        port: a port another server process listens on already (a second replica on one
            port, SO_REUSEPORT); by default a reserved port of its own.
        wrapper: a command the server is started through, its argv followed by the
            server's (`small_disk_wrapper`: its data dir on a small file system of its own).
        http: serve the HTTP port (Connect, gRPC-Web, the page) on a reserved port
            (`http_port`, `http_url`); off by default.
        pki: serve both ports over mTLS with these certificates (testbed/tls.py); its
            health checks then present the client certificate.
    """

    def __init__(
        self,
        tracking_uri: str,
        data_dir: Path,
        *,
        experiment: str,
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        metrics: bool = True,
        port: int | None = None,
        wrapper: list[str] | None = None,
        http: bool = False,
        pki: Pki | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.wrapper = list(wrapper or [])
        self.data_dir = Path(data_dir)
        self.experiment = experiment
        self.log_path = log_path or self.data_dir.parent / f"feedback-server-{experiment}.log"
        self._reservations: list[PortReservation] = []
        self.shares_port = port is not None
        self.port = port if port is not None else self._reserve()
        self.metrics_port = self._reserve() if metrics else 0
        self.http_port = self._reserve() if http else 0
        self.pki = pki
        self.extra_env = dict(env or {})
        if pki is not None:
            self.extra_env |= {
                "FEEDBACK_TLS_CERT_FILE": str(pki.server_cert),
                "FEEDBACK_TLS_KEY_FILE": str(pki.server_key),
                "FEEDBACK_TLS_CLIENT_CA_FILE": str(pki.ca),
            }
        self.starts = 0
        #: Seconds from spawn to SERVING, for each start (a measurement).
        self.startup_seconds: list[float] = []
        self._proc: Process | None = None

    def _reserve(self) -> int:
        reservation = PortReservation()
        self._reservations.append(reservation)
        return reservation.port

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def http_url(self) -> str:
        """The HTTP port's base URL (https when the server has TLS settings)."""
        scheme = "https" if "FEEDBACK_TLS_CERT_FILE" in self.extra_env else "http"
        return f"{scheme}://{LOOPBACK}:{self.http_port}"

    @property
    def pid(self) -> int:
        """The server's pid (also its process group's id); it must have been started."""
        if self._proc is None:
            raise RuntimeError("the feedback server is not running")
        return self._proc.pid

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FEEDBACK_"))}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "FEEDBACK_SERVER_HOST": LOOPBACK,
                "FEEDBACK_SERVER_PORT": str(self.port),
                "FEEDBACK_METRICS_PORT": str(self.metrics_port),
                "FEEDBACK_HTTP_PORT": str(self.http_port),
                "FEEDBACK_DATA_DIR": str(self.data_dir),
                "MLFLOW_TRACKING_URI": self.tracking_uri,
                "MLFLOW_EXPERIMENT_NAME": self.experiment,
                "FEEDBACK_SHUTDOWN_GRACE_S": "5",
                # No mesh to drain: a graceful stop need not keep serving first.
                "FEEDBACK_SHUTDOWN_DELAY_S": "0",
            }
        )
        env.update(self.extra_env)
        return env

    def spawn(self) -> FeedbackServerProcess:
        """Starts the process without waiting for it (see `wait_serving`)."""
        if self.running:
            raise RuntimeError("feedback server already running")
        if self._reservations and not self._reservations[0].held:
            raise RuntimeError(f"{self!r} is closed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        self._proc = Process(
            "feedback-server",
            [*self.wrapper, str(feedback_server_executable())],
            self.log_path,
            env=self.environment(),
            cwd=self.data_dir,
            banner=f"start #{self.starts}",
        )
        return self

    def wait_serving(self, within_s: float = STARTUP_TIMEOUT_S) -> FeedbackServerProcess:
        """Waits until the health service answers SERVING; a second replica on a shared port
        (where the first one would answer) until this very process listens."""
        assert self._proc is not None, "spawn() first"
        proc = self._proc
        if self.shares_port:
            proc.wait_ready(lambda: listens_on(proc.pid, self.port), within_s, "listen")
        else:
            proc.wait_ready(self.serving, within_s, f"serve gRPC health on {self.address}")
        self.startup_seconds.append(time.monotonic() - proc.started_at)
        return self

    def start(self, within_s: float = STARTUP_TIMEOUT_S) -> FeedbackServerProcess:
        self.spawn()
        try:
            return self.wait_serving(within_s)
        except BaseException:
            self.kill()
            raise

    def serving(self) -> bool:
        pki = self.pki
        if pki is None:
            return grpc_serving(self.address)
        files = (pki.ca, pki.client_cert, pki.client_key)
        ca, cert, key = (f.read_bytes() for f in files)
        return grpc_serving(self.address, tls=(ca, cert, key))

    def kill(self) -> None:
        """A crash: SIGKILL to the process group, no graceful shutdown."""
        if self._proc is not None:
            self._proc.kill()
            self._proc = None

    def stop(self, timeout: float = 20.0) -> int | None:
        """Graceful stop (SIGTERM: it drains), SIGKILL after `timeout`; the exit code."""
        if self._proc is None:
            return None
        code = self._proc.stop(timeout, signal.SIGTERM)
        self._proc = None
        return code

    def close(self) -> None:
        """Stops the server if it still runs and gives its ports back. Idempotent."""
        self.stop()
        for reservation in self._reservations:
            reservation.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return log_tail(self.log_path, chars)

    def metrics(self) -> dict[str, float]:
        """Flat `name{labels}` -> value of the server's Prometheus endpoint ({} if down)."""
        body = (
            http_get(f"http://{LOOPBACK}:{self.metrics_port}/metrics")
            if self.metrics_port
            else None
        )
        out: dict[str, float] = {}
        for line in (body or b"").decode().splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                out[name] = float(value)
        return out

    def __enter__(self) -> FeedbackServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<FeedbackServerProcess {self.address} {state}>"
