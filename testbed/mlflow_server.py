"""A real ``mlflow server`` subprocess on loopback, for integration and outage tests.

    with MlflowServer.sqlite(tmp_dir) as server:
        server.url        # "http://127.0.0.1:<port>"
        server.kill()     # SIGKILL the whole process group (an MLflow outage)
        server.start()    # the same port and store again: the data is still there

The server runs ``<venv>/bin/mlflow server`` on 127.0.0.1 with one uvicorn worker, a
SQLAlchemy backend store (SQLite file or PostgreSQL URI) and proxied artifact serving
(``--serve-artifacts --artifacts-destination <dir>``): new experiments get the artifact
location ``mlflow-artifacts:/<id>``, so clients need no access to the server's disk. Traces,
assessments, label schemas and review queues need nothing more on MLflow 3.17.

MLflow's background job runner (judges, scheduled scorers: seven huey consumer processes,
about 2 GB of memory) is off unless ``jobs=True``; nothing this service uses needs it.

Standard library only (no ``import mlflow`` here): conftest imports this module while
collecting the unit tests too.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

__all__ = [
    "MlflowServer",
    "MlflowServerError",
    "free_port",
    "mlflow_executable",
    "tracking_client",
]

#: MLflow answers /health 20-40 s after spawn on an idle 2-core machine (two Python processes
#: import mlflow, a fresh store runs its migrations) and took up to 110 s when the machine
#: was loaded by parallel test runs; be generous.
DEFAULT_STARTUP_TIMEOUT_S = float(os.environ.get("FEEDBACK_TEST_MLFLOW_STARTUP_TIMEOUT", "240"))
DEFAULT_STOP_TIMEOUT_S = 30.0
LOG_TAIL_CHARS = 6000

#: Started servers not yet stopped (strong references: a server object dropped by a failed
#: test must still be killed at interpreter exit).
_LIVE: set[MlflowServer] = set()


#: Loopback health checks never go through an HTTP proxy from the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class MlflowServerError(RuntimeError):
    """The MLflow server did not start (the message carries the tail of its log)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def mlflow_executable() -> Path:
    """``mlflow`` next to the running interpreter (the project venv), else the repo's venv."""
    candidates = [
        Path(sys.executable).parent / "mlflow",
        Path(__file__).resolve().parents[1] / ".venv" / "bin" / "mlflow",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise MlflowServerError(
        "no `mlflow` executable next to the interpreter or in .venv/bin; run `make install`"
    )


def _tail(path: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"<no log: {exc}>"
    return data[-chars:].decode("utf-8", errors="replace")


class MlflowServer:
    """One ``mlflow server`` process group; `start` / `stop` / `kill` / `start` again.

    Args:
        backend_store_uri: a SQLAlchemy URI (``sqlite:////abs/path/mlflow.db`` or
            ``postgresql://user:pw@127.0.0.1:port/db``).
        base_dir: where the artifacts directory and the log file live.
        port: a fixed port; by default a free one is chosen at the first start and kept
            for restarts.
        jobs: run MLflow's background job runner (off by default, see the module doc).
        startup_timeout_s: how long `start` waits for ``GET /health``.
        extra_args: more ``mlflow server`` flags.
        env: more environment variables for the server process.
    """

    def __init__(
        self,
        backend_store_uri: str,
        base_dir: str | os.PathLike[str],
        *,
        port: int | None = None,
        jobs: bool = False,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.backend_store_uri = backend_store_uri
        self.base_dir = Path(base_dir).resolve()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.artifacts_dir = self.base_dir / "artifacts"
        self.log_path = self.base_dir / "mlflow-server.log"
        self.host = "127.0.0.1"
        self._fixed_port = port is not None
        self._port: int | None = port
        self.jobs = jobs
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = list(extra_args or [])
        self.extra_env = dict(env or {})
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        #: Seconds from spawn to the first healthy answer, for each start (a measurement).
        self.startup_seconds: list[float] = []

    # ----- constructors -------------------------------------------------------------------

    @classmethod
    def sqlite(cls, base_dir: str | os.PathLike[str], **kwargs: object) -> MlflowServer:
        """A server whose store is ``<base_dir>/mlflow.db``."""
        base = Path(base_dir).resolve()
        base.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{base / 'mlflow.db'}", base, **kwargs)  # type: ignore[arg-type]

    # ----- properties ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise MlflowServerError("the server has no port before its first start()")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def backend(self) -> str:
        return self.backend_store_uri.split(":", 1)[0].split("+", 1)[0]

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return _tail(self.log_path, chars)

    # ----- lifecycle ----------------------------------------------------------------------

    def command(self) -> list[str]:
        return [
            str(mlflow_executable()),
            "server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--backend-store-uri",
            self.backend_store_uri,
            "--serve-artifacts",
            "--artifacts-destination",
            str(self.artifacts_dir),
            "--workers",
            "1",
            *self.extra_args,
        ]

    def start(self) -> MlflowServer:
        """Start (or restart) the server and wait until ``GET /health`` answers 200."""
        if self.running:
            raise MlflowServerError(f"MLflow server already running at {self.url}")
        attempts = 1 if self._fixed_port or self._port is not None else 3
        for attempt in range(attempts):
            if self._port is None:
                self._port = free_port(self.host)
            try:
                self._spawn_and_wait()
                return self
            except MlflowServerError:
                # A port picked by us may have been taken between the probe and the bind.
                if attempt + 1 < attempts and "address already in use" in self.log_tail().lower():
                    self._port = None
                    continue
                raise
        raise AssertionError("unreachable")

    def _spawn_and_wait(self) -> None:
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.extra_env}
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "true" if self.jobs else "false"
        # The server's own store comes from the flags, never from a test's client settings.
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            env.pop(name, None)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(
                f"\n===== start #{self.starts} on port {self.port} at {time.ctime()} =====\n"
                f"$ {' '.join(self.command())}\n".encode()
            )
            log.flush()
            began = time.monotonic()
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
                env=env,
                start_new_session=True,  # its own process group: stop/kill reach every child
            )
        _LIVE.add(self)
        try:
            self._wait_healthy(began)
        except BaseException:
            self.kill()
            raise
        self.startup_seconds.append(time.monotonic() - began)

    def _wait_healthy(self, began: float) -> None:
        deadline = began + self.startup_timeout_s
        assert self._proc is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise MlflowServerError(
                    f"mlflow server exited with code {code} before answering /health on "
                    f"{self.url}; log {self.log_path}:\n{self.log_tail()}"
                )
            if self.healthy(timeout=2.0):
                return
            if time.monotonic() > deadline:
                raise MlflowServerError(
                    f"mlflow server on {self.url} did not answer /health within "
                    f"{self.startup_timeout_s:.0f} s; log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def healthy(self, timeout: float = 2.0) -> bool:
        """True when ``GET /health`` answers 200 now."""
        if self._port is None:
            return False
        try:
            with _NO_PROXY.open(f"{self.url}/health", timeout=timeout) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Graceful stop: SIGTERM to the process group, SIGKILL after `timeout`. Idempotent."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            if not self._reap(timeout):
                self._signal_group(signal.SIGKILL)
                self._reap(10)
        # Children (uvicorn) may outlive the CLI process; the group must be empty.
        self._signal_group(signal.SIGKILL)
        self._proc = None
        _LIVE.discard(self)

    def kill(self) -> None:
        """An outage: SIGKILL to every process of the server at once (no graceful shutdown)."""
        if self._proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self._reap(10)
        self._proc = None
        _LIVE.discard(self)
        self._wait_port_released()

    def restart(self) -> MlflowServer:
        self.stop()
        return self.start()

    def _signal_group(self, sig: signal.Signals) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    def _reap(self, timeout: float) -> bool:
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _wait_port_released(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not port_is_free(self.port, self.host):
            time.sleep(0.1)

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        port = self._port if self._port is not None else "?"
        return f"<MlflowServer {self.backend} 127.0.0.1:{port} {state}>"


_CLIENT_ENV = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
)


@contextlib.contextmanager
def tracking_client(url: str, *, max_retries: int = 2, timeout_s: float = 30.0) -> Iterator[None]:
    """Point this process's MLflow fluent API (``mlflow.*``) at `url` for a block.

    MLflow's client retries a failing request for minutes by default; inside the block it
    retries `max_retries` times with a `timeout_s` request timeout (0 retries: an outage
    shows at once). Everything global that the block changes (the tracking URI, the active
    experiment, their environment variables) is put back afterwards, and traces still
    queued for export are flushed first.
    """
    import mlflow
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {name: os.environ.get(name) for name in _CLIENT_ENV}
    saved_uri = tracking_utils._tracking_uri
    saved_experiment = fluent._active_experiment_id
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = str(max_retries)
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(max(1, timeout_s)))
    mlflow.set_tracking_uri(url)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            mlflow.flush_trace_async_logging()
        fluent._active_experiment_id = saved_experiment
        mlflow.set_tracking_uri(saved_uri)  # type: ignore[arg-type]
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@atexit.register
def _kill_leftovers() -> None:
    """Last resort when a fixture's teardown did not run (the interpreter is exiting)."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server._signal_group(signal.SIGKILL)
