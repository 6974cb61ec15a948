"""A real ``mlflow server`` subprocess on loopback, for integration and outage tests.

    with MlflowServer.sqlite(tmp_dir) as server:
        server.url        # "http://127.0.0.1:<port>", known before the first start
        server.kill()     # SIGKILL the whole process group (an MLflow outage)
        server.start()    # the same port and store again: the data is still there

The server runs ``<venv>/bin/mlflow server`` on 127.0.0.1 with one uvicorn worker, a
SQLAlchemy backend store (SQLite file or PostgreSQL URI) and proxied artifact serving
(``--serve-artifacts --artifacts-destination <dir>``): new experiments get the artifact
location ``mlflow-artifacts:/<id>``, so clients need no access to the server's disk. Traces,
assessments, label schemas and review queues need nothing more on MLflow 3.17.

Its port is a `PortReservation` taken when the object is made and held until `close`, so
that a restart after `kill` finds its address free and clients of a killed server are
refused, not kept waiting (testbed/ports.py says why). MLflow 3.17's ``mlflow server``
binds it through ``python -m uvicorn --host 127.0.0.1 --port <port> --workers 1``, whose
single worker binds with asyncio's ``create_server`` (``SO_REUSEADDR`` on POSIX).

MLflow's background job runner (judges, scheduled scorers: seven huey consumer processes,
about 2 GB of memory) is off unless ``jobs=True``; nothing this service uses needs it.

Standard library only (no ``import mlflow`` here): conftest imports this module while
collecting the unit tests too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from testbed.health import http_get
from testbed.poll import poll
from testbed.ports import LOOPBACK, PortReservation, port_is_free
from testbed.processes import LOG_TAIL_CHARS, Process, ProcessError, log_tail

__all__ = [
    "MlflowServer",
    "MlflowServerError",
    "mlflow_executable",
    "tracking_client",
]

#: MLflow answers /health 20-40 s after spawn on an idle 2-core machine (two Python processes
#: import mlflow, a fresh store runs its migrations) and took up to 110 s when the machine
#: was loaded by parallel test runs; be generous.
DEFAULT_STARTUP_TIMEOUT_S = float(os.environ.get("FEEDBACK_TEST_MLFLOW_STARTUP_TIMEOUT", "240"))
DEFAULT_STOP_TIMEOUT_S = 30.0


class MlflowServerError(ProcessError):
    """The MLflow server did not start (the message carries the tail of its log)."""


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


class MlflowServer:
    """One ``mlflow server`` process group; `start` / `stop` / `kill` / `start` again, and
    `close` when done (stops it and gives its port back).

    Args:
        backend_store_uri: a SQLAlchemy URI (``sqlite:////abs/path/mlflow.db`` or
            ``postgresql+psycopg2://user@/db?host=/socket/dir``).
        base_dir: where the artifacts directory and the log file live.
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
        self.host = LOOPBACK
        self._reservation = PortReservation()
        self.port = self._reservation.port
        self.jobs = jobs
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = list(extra_args or [])
        self.extra_env = dict(env or {})
        self._proc: Process | None = None
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
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The ``mlflow server`` CLI's pid (its process group's id) while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    @property
    def backend(self) -> str:
        return self.backend_store_uri.split(":", 1)[0].split("+", 1)[0]

    def log_tail(self, chars: int = LOG_TAIL_CHARS) -> str:
        return log_tail(self.log_path, chars)

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
        if not self._reservation.held:
            raise MlflowServerError(f"{self!r} is closed")
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.extra_env}
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "true" if self.jobs else "false"
        # The server's own store comes from the flags, never from a test's client settings.
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            env.pop(name, None)
        self.starts += 1
        self._proc = Process(
            "mlflow server",
            self.command(),
            self.log_path,
            env=env,
            cwd=self.base_dir,
            banner=f"start #{self.starts} on port {self.port}",
        )
        try:
            self._proc.wait_ready(
                self.healthy, self.startup_timeout_s, f"answer GET /health on {self.url}"
            )
        except ProcessError as exc:
            self.kill()
            raise MlflowServerError(str(exc)) from None
        except BaseException:
            self.kill()
            raise
        self.startup_seconds.append(time.monotonic() - self._proc.started_at)
        return self

    def healthy(self, timeout: float = 2.0) -> bool:
        """True when ``GET /health`` answers 200 now."""
        return http_get(f"{self.url}/health", timeout) is not None

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Graceful stop: SIGTERM (the CLI passes it to uvicorn), SIGKILL to the process
        group after `timeout`. The port stays reserved for a next `start`. Idempotent."""
        if self._proc is not None:
            self._proc.stop(timeout)
            self._proc = None

    def kill(self) -> None:
        """An outage: SIGKILL to every process of the server at once (no graceful shutdown).
        Returns once nothing listens on the port any more, so `start` can bind it again."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc = None
        # uvicorn, a child in the group, holds the listening socket until it is gone too.
        poll(lambda: port_is_free(self.port, self.host), 10.0, interval_s=0.1)

    def close(self) -> None:
        """Stop the server and give its port back. Idempotent."""
        self.stop()
        self._reservation.close()

    def signal_group(self, sig: signal.Signals) -> None:
        """`sig` to every process of the running server (SIGSTOP / SIGCONT: a hung MLflow)."""
        if self._proc is not None:
            self._proc.signal_group(sig)

    def __enter__(self) -> MlflowServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MlflowServer {self.backend} {self.host}:{self.port} {state}>"


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
