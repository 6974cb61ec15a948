"""A throwaway PostgreSQL server for the tests, with no manual steps on Debian 12.

    with PostgresServer() as pg:
        pg.uri                        # "postgresql+psycopg2://mlflow@/mlflow?host=<socket dir>"
        pg.create_database("other")   # another database on the same server, its URI

`ensure_postgres_binaries()` finds ``initdb``/``postgres`` (``/usr/lib/postgresql/*/bin``,
``$FEEDBACK_PG_BINDIR`` or ``$PATH``); when they are missing and we are root it installs
Debian's ``postgresql`` package (``apt-get update && apt-get install -y postgresql``) under a
file lock, quietly. `PostgresServer` runs ``initdb`` in a fresh temporary directory (as the
``postgres`` OS user when we are root, because initdb refuses root), then ``postgres`` in the
foreground of its own process group.

It listens on no TCP port at all: only on a Unix socket in its temporary directory (mode
0700, so only this user and root reach it), with ``trust`` authentication; the superuser is
``mlflow``. No port can be taken from under it, and clients (MLflow through SQLAlchemy and
psycopg2, psql) connect with ``host=<socket dir>``. Durability settings are off
(``fsync=off``): the data is thrown away anyway.

Command line (``scripts/postgres.sh`` wraps it):
    python -m testbed.postgres ensure   # install the binaries if missing
    python -m testbed.postgres run      # start one, print its URI, stop on Ctrl-C
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from testbed.processes import Process, ProcessError

__all__ = ["PostgresError", "PostgresServer", "ensure_postgres_binaries"]

DEFAULT_STARTUP_TIMEOUT_S = 60.0
APT_LOCK_PATH = Path(tempfile.gettempdir()) / "feedback-tests-apt-postgresql.lock"
OS_USER = "postgres"
SUPERUSER = "mlflow"
#: Names the socket file (``.s.PGSQL.<port>``) in the cluster's private socket directory;
#: no TCP port is opened.
SOCKET_PORT = 5432

#: Servers whose directory is not removed yet (strong references, for the exit handler).
_LIVE: set[PostgresServer] = set()


class PostgresError(RuntimeError):
    """PostgreSQL could not be installed or started (the message says why)."""


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin/initdb
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.parent.name)) or (0,)


def find_postgres_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, newest version first."""
    override = os.environ.get("FEEDBACK_PG_BINDIR")
    if override:
        return Path(override)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version_key)
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path and (Path(on_path).resolve().parent / "postgres").exists():
        return Path(on_path).resolve().parent
    return None


def ensure_postgres_binaries(*, quiet: bool = True) -> Path:
    """Return the PostgreSQL server bin directory, installing Debian's package if needed.

    Idempotent and safe to call from several processes at once (an flock serialises the
    install; apt itself waits for the dpkg lock).
    """
    bindir = find_postgres_bindir()
    if bindir is not None:
        return bindir
    if os.geteuid() != 0:
        raise PostgresError(
            "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb) and "
            "not root, so they cannot be installed here. Install them with "
            "`sudo apt-get install -y postgresql`, point FEEDBACK_PG_BINDIR at a bin "
            "directory, or set FEEDBACK_TEST_SKIP_POSTGRES=1."
        )
    if shutil.which("apt-get") is None:
        raise PostgresError("PostgreSQL server binaries not found and apt-get is not available")
    with APT_LOCK_PATH.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        bindir = find_postgres_bindir()  # another process may have installed it meanwhile
        if bindir is not None:
            return bindir
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        quiet_flags = ["-qq"] if quiet else []
        lock_wait = ["-o", "DPkg::Lock::Timeout=300"]
        for cmd in (
            ["apt-get", *quiet_flags, *lock_wait, "update"],
            ["apt-get", *quiet_flags, *lock_wait, "install", "-y", "postgresql"],
        ):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise PostgresError(
                    f"`{' '.join(cmd)}` failed with code {proc.returncode}:\n"
                    f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                )
    bindir = find_postgres_bindir()
    if bindir is None:
        raise PostgresError("apt-get installed postgresql but no initdb was found")
    return bindir


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, started and stopped by the tests.

    Args:
        database: the database created at start (its URI is `uri`).
        base_dir: parent of the temporary directory (default: the system temp dir; it must
            be traversable by the ``postgres`` OS user when running as root, and short: a
            Unix socket path holds at most 107 bytes).
        keep: keep the data directory after `stop` (for debugging).

    The temporary directory is made at once, so `uri` is known before `start`.
    """

    def __init__(
        self,
        *,
        database: str = "mlflow",
        base_dir: str | os.PathLike[str] | None = None,
        keep: bool = False,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    ) -> None:
        self.database = database
        self.keep = keep
        self.startup_timeout_s = startup_timeout_s
        parent = Path(base_dir) if base_dir is not None else Path(tempfile.gettempdir())
        parent.mkdir(parents=True, exist_ok=True)
        # Made now, so that `uri` (which names the socket directory) is known before start.
        self.dir: Path | None = Path(tempfile.mkdtemp(prefix="feedback-pg-", dir=parent))
        _LIVE.add(self)
        self._proc: Process | None = None
        self._bindir: Path | None = None
        #: Seconds taken by the phases of the last start (a measurement).
        self.timings: dict[str, float] = {}

    # ----- properties ---------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._require_dir() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_dir() / "socket"

    @property
    def log_path(self) -> Path:
        return self._require_dir() / "postgres.log"

    @property
    def uri(self) -> str:
        """The SQLAlchemy URI of the database (``postgresql+psycopg2://``, see `uri_for`)."""
        return self.uri_for(self.database)

    @property
    def libpq_uri(self) -> str:
        """The plain libpq URI of the database, for psql and psycopg2.connect."""
        return self.uri_for(self.database, driver=None)

    def uri_for(self, database: str, driver: str | None = "psycopg2") -> str:
        """The URI of `database` on this server (its Unix socket).

        SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed;
        the project has psycopg2-binary, so the SQLAlchemy URI names the driver.
        """
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{SUPERUSER}@/{database}?host={self.socket_dir}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.alive()

    def _require_dir(self) -> Path:
        if self.dir is None:
            raise PostgresError("the server's directory is removed (stopped)")
        return self.dir

    # ----- lifecycle ----------------------------------------------------------------------

    def _run_as(self) -> dict[str, Any]:
        """Popen keyword arguments that drop root to the postgres OS user."""
        if os.geteuid() != 0:
            return {}
        return {"user": OS_USER, "group": OS_USER, "extra_groups": []}

    def _client_args(self, database: str) -> list[str]:
        return [
            f"--host={self.socket_dir}",
            f"--port={SOCKET_PORT}",
            f"--username={SUPERUSER}",
            f"--dbname={database}",
        ]

    def start(self) -> PostgresServer:
        if self.running:
            raise PostgresError("PostgreSQL already running")
        began = time.monotonic()
        self._bindir = ensure_postgres_binaries()
        self.timings["ensure_binaries"] = time.monotonic() - began
        if not self.data_dir.exists():
            self._init_cluster()
        self._spawn_and_wait()
        self._create_database(self.database, exist_ok=True)
        self.timings["total"] = time.monotonic() - began
        return self

    def _init_cluster(self) -> None:
        t0 = time.monotonic()
        self.socket_dir.mkdir(mode=0o700)
        if os.geteuid() == 0:
            for path in (self._require_dir(), self.socket_dir):
                shutil.chown(path, OS_USER, OS_USER)
        assert self._bindir is not None
        cmd = [
            str(self._bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--auth-local",
            "trust",
            "--auth-host",
            "reject",
            "--encoding",
            "UTF8",
            "--locale",
            "C.UTF-8",
            "--no-sync",
        ]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            cwd=self.dir,
            check=False,
            **self._run_as(),
        )
        if proc.returncode != 0:
            raise PostgresError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        self.timings["initdb"] = time.monotonic() - t0

    def _spawn_and_wait(self) -> None:
        t0 = time.monotonic()
        assert self._bindir is not None
        cmd = [
            str(self._bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(SOCKET_PORT),
            "-k",
            str(self.socket_dir),
            "-c",
            "listen_addresses=",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]
        self._proc = Process("postgres", cmd, self.log_path, cwd=self.dir, **self._run_as())
        try:
            self._proc.wait_ready(
                self._ready, self.startup_timeout_s, f"accept connections in {self.socket_dir}"
            )
        except ProcessError as exc:
            self._kill()
            raise PostgresError(str(exc)) from None
        self.timings["start"] = time.monotonic() - t0

    def _ready(self) -> bool:
        assert self._bindir is not None
        proc = subprocess.run(
            [str(self._bindir / "pg_isready"), *self._client_args("postgres"), "--timeout=2"],
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` through psql as the superuser; return its output."""
        assert self._bindir is not None
        psql = self._bindir / "psql"
        proc = subprocess.run(
            [
                str(psql if psql.exists() else "psql"),
                "--no-psqlrc",
                "--quiet",
                "--tuples-only",
                "--no-align",
                "-v",
                "ON_ERROR_STOP=1",
                *self._client_args(database),
                "--command",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise PostgresError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout

    def _create_database(self, name: str, *, exist_ok: bool) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"database name {name!r}: use [a-z_][a-z0-9_]*")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if exists:
            if exist_ok:
                return
            raise PostgresError(f"database {name} already exists")
        self.psql(f'CREATE DATABASE "{name}"')

    def create_database(self, name: str) -> str:
        """Create another (empty) database on this server and return its URI."""
        self._create_database(name, exist_ok=False)
        return self.uri_for(name)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT), SIGKILL after `timeout`; then remove the directory (the
        server cannot start again)."""
        if self._proc is not None:
            self._proc.stop(timeout, signal.SIGINT)
            self._proc = None
        _LIVE.discard(self)
        if self.dir is not None and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc = None

    def __enter__(self) -> PostgresServer:
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
        return f"<PostgresServer {self.dir} {state}>"


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server._kill()
            if server.dir is not None and not server.keep:
                shutil.rmtree(server.dir, ignore_errors=True)


def _main(argv: list[str]) -> int:
    usage = "usage: python -m testbed.postgres {ensure|run}"
    if len(argv) != 1 or argv[0] not in {"ensure", "run"}:
        print(usage, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    bindir = ensure_postgres_binaries()
    print(f"PostgreSQL binaries: {bindir} ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
    if argv[0] == "ensure":
        return 0
    server = PostgresServer(keep=False)
    stop = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    server.start()
    try:
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in server.timings.items())
        print(f"PostgreSQL on {server.socket_dir} ({timings})", file=sys.stderr)
        print(f"data: {server.dir}  log: {server.log_path}", file=sys.stderr)
        print(server.uri, flush=True)
        while not stop and server.running:
            time.sleep(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
