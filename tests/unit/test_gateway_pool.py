"""MLflow's HTTP connection pool is as large as the gateway's thread pools.

MLflow serves every call of a process from one cached `requests` session whose pool holds
`MLFLOW_HTTP_POOL_MAXSIZE` (default 10) connections. The gateway calls MLflow from up to
`io_workers + export_workers` threads (20 by default): with the default pool, urllib3
opened and dropped a connection per extra concurrent call and logged "Connection pool is
full" each time (seen while draining a backlog after an MLflow outage)."""

from __future__ import annotations

import mlflow
import pytest
from feedback_server.mlflow_gateway import install


def test_pool_holds_a_connection_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLFLOW_HTTP_POOL_MAXSIZE", "MLFLOW_HTTP_REQUEST_TIMEOUT"):
        monkeypatch.setenv(name, "x")  # restored (to unset, if it was) after the test
        monkeypatch.delenv(name)
    previous_uri = mlflow.get_tracking_uri()
    try:
        install(timeout_s=10, mlflow_threads=16 + 4, traces_in_memory=1000)
    finally:
        mlflow.set_tracking_uri(previous_uri)
    from mlflow.environment_variables import MLFLOW_HTTP_POOL_MAXSIZE

    assert MLFLOW_HTTP_POOL_MAXSIZE.get() >= 20


def test_an_operator_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_POOL_MAXSIZE", "64")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    previous_uri = mlflow.get_tracking_uri()
    try:
        install(timeout_s=10, mlflow_threads=16 + 4, traces_in_memory=1000)
    finally:
        mlflow.set_tracking_uri(previous_uri)
    from mlflow.environment_variables import MLFLOW_HTTP_POOL_MAXSIZE

    assert MLFLOW_HTTP_POOL_MAXSIZE.get() == 64
