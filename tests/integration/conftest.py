"""Fixtures: an in-process feedback server against the session's real MLflow server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.service import Service, start_service, stop_service


@pytest.fixture(scope="session")
async def service(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    svc = await start_service(mlflow_sqlite.url, tmp_path_factory.mktemp("spool"))
    yield svc
    await stop_service(svc)
