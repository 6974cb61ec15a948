"""Fixtures of the client tests: a `grpc_testing` channel, a sync client on it, and the
`Server` that answers the RPC a client call makes.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc_testing
import pytest
from feedback_client import FeedbackClient

from tests.unit.python_client.support import AUTH, CHAT, FEEDBACK, Server


@pytest.fixture
def channel() -> Any:
    return grpc_testing.channel([CHAT, FEEDBACK], grpc_testing.strict_real_time())


@pytest.fixture
def client(channel: Any) -> Iterator[FeedbackClient]:
    with FeedbackClient(channel=channel, timeout=5.0, metadata=[AUTH]) as feedback_client:
        yield feedback_client


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


@pytest.fixture
def server(channel: Any, pool: ThreadPoolExecutor) -> Server:
    return Server(channel, pool)
