"""A throwaway PostgreSQL server for the tests, with no manual steps on Debian 12.

    with PostgresServer() as pg:
        pg.uri                        # "postgresql+psycopg2://mlflow:<pw>@127.0.0.1:<port>/mlflow"
        pg.create_database("other")   # another database on the same server, its URI

`ensure_postgres_binaries()` finds ``initdb``/``postgres`` (``/usr/lib/postgresql/*/bin``,
``$FEEDBACK_PG_BINDIR`` or ``$PATH``); when they are missing and we are root it installs
Debian's ``postgresql`` package (``apt-get update && apt-get install -y postgresql``) under a
file lock, quietly. `PostgresServer` runs ``initdb`` in a fresh temporary directory (as the
``postgres`` OS user when we are root, because initdb refuses root), then ``postgres`` in the
foreground of its own process group, listening on 127.0.0.1:<free port> only, with its unix
socket inside the temporary directory. Password (SCRAM) authentication on TCP; the superuser
is ``mlflow``. Durability settings are off (``fsync=off``): the data is thrown away anyway.

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
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from testbed.processes import kill_group

__all__ = ["PostgresError", "PostgresServer", "ensure_postgres_binaries"]

DEFAULT_STARTUP_TIMEOUT_S = 60.0
APT_LOCK_PATH = Path(tempfile.gettempdir()) / "feedback-tests-apt-postgresql.lock"
OS_USER = "postgres"
SUPERUSER = "mlflow"

#: Started servers not yet stopped (strong references, for the exit handler).
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, started and stopped by the tests.

    Args:
        database: the database created at start (its URI is `uri`).
        base_dir: parent of the temporary directory (default: the system temp dir; it must
            be traversable by the ``postgres`` OS user when running as root).
        port: a fixed port; by default a free one.
        keep: keep the data directory after `stop` (for debugging).
    """

    def __init__(
        self,
        *,
        database: str = "mlflow",
        base_dir: str | os.PathLike[str] | None = None,
        port: int | None = None,
        keep: bool = False,
        startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S,
    ) -> None:
        self.database = database
        self._base_parent = Path(base_dir) if base_dir is not None else None
        self._fixed_port = port
        self.port: int | None = port
        self.keep = keep
        self.startup_timeout_s = startup_timeout_s
        self.password = secrets.token_hex(16)
        self.dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
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
        """The URI of `database` on this server (TCP, loopback).

        SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed;
        the project has psycopg2-binary, so the SQLAlchemy URI names the driver.
        """
        if self.port is None:
            raise PostgresError("the server has no port before start()")
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _require_dir(self) -> Path:
        if self.dir is None:
            raise PostgresError("the server has no directory before start()")
        return self.dir

    # ----- lifecycle ----------------------------------------------------------------------

    def _run_as(self) -> dict[str, object]:
        """Popen keyword arguments that drop root to the postgres OS user."""
        if os.geteuid() != 0:
            return {}
        return {"user": OS_USER, "group": OS_USER, "extra_groups": []}

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}

    def start(self) -> PostgresServer:
        if self.running:
            raise PostgresError("PostgreSQL already running")
        began = time.monotonic()
        self._bindir = ensure_postgres_binaries()
        self.timings["ensure_binaries"] = time.monotonic() - began
        if self.dir is None:
            self._init_cluster()
        attempts = 1 if self._fixed_port is not None else 3
        for attempt in range(attempts):
            if self._fixed_port is None and (self.port is None or attempt > 0):
                self.port = _free_port()
            try:
                self._spawn_and_wait()
                break
            except PostgresError:
                if attempt + 1 < attempts and "already in use" in self._log_tail():
                    continue
                raise
        self._create_database(self.database, exist_ok=True)
        self.timings["total"] = time.monotonic() - began
        return self

    def _init_cluster(self) -> None:
        t0 = time.monotonic()
        parent = self._base_parent or Path(tempfile.gettempdir())
        parent.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="feedback-pg-", dir=parent))
        self.socket_dir.mkdir()
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            for path in (self.dir, self.socket_dir, pwfile):
                shutil.chown(path, OS_USER, OS_USER)
        assert self._bindir is not None
        cmd = [
            str(self._bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            SUPERUSER,
            "--pwfile",
            str(pwfile),
            "--auth-host",
            "scram-sha-256",
            "--auth-local",
            "trust",
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
            **self._run_as(),  # type: ignore[arg-type]
        )
        pwfile.unlink()
        if proc.returncode != 0:
            raise PostgresError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        self.timings["initdb"] = time.monotonic() - t0

    def _spawn_and_wait(self) -> None:
        t0 = time.monotonic()
        assert self._bindir is not None and self.port is not None
        cmd = [
            str(self._bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.socket_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
                **self._run_as(),  # type: ignore[arg-type]
            )
        _LIVE.add(self)
        deadline = t0 + self.startup_timeout_s
        while True:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise PostgresError(
                    f"postgres exited with code {code}; log {self.log_path}:\n{self._log_tail()}"
                )
            if self._ready():
                break
            if time.monotonic() > deadline:
                self._kill()
                raise PostgresError(
                    f"postgres did not accept connections on 127.0.0.1:{self.port} within "
                    f"{self.startup_timeout_s:.0f} s; log {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.1)
        self.timings["start"] = time.monotonic() - t0

    def _ready(self) -> bool:
        assert self._bindir is not None
        proc = subprocess.run(
            [
                str(self._bindir / "pg_isready"),
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={SUPERUSER}",
                "--dbname=postgres",
                "--timeout=2",
            ],
            capture_output=True,
            check=False,
            env=self._client_env(),
        )
        return proc.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` through psql over TCP as the superuser; return its output."""
        assert self._bindir is not None and self.port is not None
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
                "--host=127.0.0.1",
                f"--port={self.port}",
                f"--username={SUPERUSER}",
                f"--dbname={database}",
                "--command",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
            env=self._client_env(),
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
        """Fast shutdown (SIGINT), SIGKILL after `timeout`; then remove the directory."""
        if self._proc is not None:
            if self._proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=timeout)
            self._kill()
        _LIVE.discard(self)
        if self.dir is not None and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def _kill(self) -> None:
        if self._proc is None:
            return
        kill_group(self._proc)
        self._proc = None

    def _log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-chars:].decode("utf-8", errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"

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
        return f"<PostgresServer 127.0.0.1:{self.port} {state}>"


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
        print(f"PostgreSQL on 127.0.0.1:{server.port} ({timings})", file=sys.stderr)
        print(f"data: {server.dir}  log: {server.log_path}", file=sys.stderr)
        print(server.uri, flush=True)
        while not stop and server.running:
            time.sleep(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
