"""Fixtures of the resilience suite: the feedback server as a real subprocess.

    feedback_server_factory   function  make(tracking_uri, experiment=..., **env) -> a started
                                        FeedbackServerProcess with its own FEEDBACK_DATA_DIR
                                        and reserved ports; every process made is killed
                                        (and its ports released) at teardown
    resilience_report         function  report(name, figures): JSON file + printed lines

Every test module here sets `pytestmark = pytest.mark.resilience` (the root conftest adds
`integration`, as they need MLflow). Select the
suite with `make test PYTEST_ARGS="-m resilience"`; skip it with `-m "not resilience"`.
Set FEEDBACK_RESILIENCE_REPORT_DIR to collect every figure file in one folder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.feedback_server import FeedbackServerProcess
from tests.resilience.harness import REPORTS, report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures of every resilience test that ran, whether or not output was captured."""
    if REPORTS:
        terminalreporter.section("resilience figures")
        for text in REPORTS:
            terminalreporter.write_line(text)


@pytest.fixture
def feedback_server_factory(tmp_path: Path) -> Iterator[Callable[..., FeedbackServerProcess]]:
    made: list[FeedbackServerProcess] = []

    def make(
        tracking_uri: str, *, experiment: str | None = None, **env: str
    ) -> FeedbackServerProcess:
        experiment = experiment or f"resilience-{uuid.uuid4().hex[:8]}"
        server = FeedbackServerProcess(
            tracking_uri,
            tmp_path / f"data-{len(made)}",
            experiment=experiment,
            log_path=tmp_path / f"feedback-server-{experiment}.log",
            env={k.upper(): str(v) for k, v in env.items()},
        )
        made.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in made:
            server.kill()
            server.close()


@pytest.fixture
def resilience_report(tmp_path: Path) -> Callable[[str, dict[str, Any]], Path]:
    def write(name: str, figures: dict[str, Any]) -> Path:
        return report(tmp_path, name, figures)

    return write
