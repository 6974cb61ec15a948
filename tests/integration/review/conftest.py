"""The review tests share one feedback service, with its own MLflow experiment."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.review.support import Review
from tests.integration.service import start_service, stop_service


@pytest.fixture(scope="package")
async def review(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Review]:
    service = await start_service(
        mlflow_sqlite.url,
        tmp_path_factory.mktemp("review-spool"),
        experiment_name=f"review-{uuid.uuid4().hex[:8]}",
    )
    yield Review(service)
    await stop_service(service)
