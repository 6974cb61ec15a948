"""Fixtures shared by every test: real MLflow tracking servers (testbed/).

    mlflow_sqlite            session   MlflowServer on a SQLite store
    mlflow_postgres          session   MlflowServer on a throwaway PostgreSQL
                                       (skipped only when FEEDBACK_TEST_SKIP_POSTGRES=1)
    mlflow_server            session   parametrized ["sqlite", "postgres"]: one of the two
    postgres_server          session   the PostgresServer behind mlflow_postgres
    mlflow_server_factory    function  make("sqlite" | "postgres") -> a started, private
                                       MlflowServer (fresh store) for outage tests: kill()
                                       and start() keep its address; the shared servers
                                       above must not be killed

Tests that use an MLflow fixture are marked `integration` automatically. Imports stay light
(no mlflow, no grpc): the unit tests are collected with this file too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testbed.mlflow_server import MlflowServer
from testbed.postgres import PostgresServer

BACKENDS = ("sqlite", "postgres")
_MLFLOW_FIXTURES = frozenset(
    {"mlflow_sqlite", "mlflow_postgres", "mlflow_server", "mlflow_server_factory"}
)


def postgres_skipped() -> bool:
    return os.environ.get("FEEDBACK_TEST_SKIP_POSTGRES", "") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _MLFLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL on a Unix socket (Debian's package is installed when missing)."""
    if postgres_skipped():
        pytest.skip("FEEDBACK_TEST_SKIP_POSTGRES=1")
    server = PostgresServer(database="mlflow")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A shared MLflow tracking server on SQLite (`.url`, `.port`, `.log_path`)."""
    server = MlflowServer.sqlite(tmp_path_factory.mktemp("mlflow-sqlite"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def mlflow_postgres(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """A shared MLflow tracking server on PostgreSQL."""
    server = MlflowServer(postgres_server.uri, tmp_path_factory.mktemp("mlflow-postgres"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session", params=BACKENDS)
def mlflow_server(request: pytest.FixtureRequest) -> MlflowServer:
    """The shared MLflow server of each backend in turn (tests run once per backend)."""
    server: MlflowServer = request.getfixturevalue(f"mlflow_{request.param}")
    return server


@pytest.fixture
def mlflow_server_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[..., MlflowServer]]:
    """``make(backend="sqlite", **MlflowServer kwargs)``: a started MLflow server with its
    own fresh store (SQLite file, or a new database on the session's PostgreSQL), closed
    (stopped, its port released) at teardown. For tests that kill, restart or otherwise
    damage a server."""
    made: list[MlflowServer] = []

    def make(backend: str = "sqlite", **kwargs: object) -> MlflowServer:
        base = tmp_path / f"mlflow-{backend}-{len(made)}"
        if backend == "sqlite":
            server = MlflowServer.sqlite(base, **kwargs)  # type: ignore[arg-type]
        elif backend == "postgres":
            pg: PostgresServer = request.getfixturevalue("postgres_server")
            uri = pg.create_database(f"mlflow_{uuid.uuid4().hex[:12]}")
            server = MlflowServer(uri, base, **kwargs)  # type: ignore[arg-type]
        else:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        made.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in made:
            server.close()
