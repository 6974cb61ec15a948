"""The typed client's options and lifecycle: `with_options` and `close`."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2
from feedback_client import FeedbackClient

from tests.unit.python_client.support import AUTH, FakeChannel, Server

pytestmark = pytest.mark.timeout(30)


def test_with_options_shares_the_channel_with_other_call_metadata(
    client: FeedbackClient, server: Server
) -> None:
    other = client.with_options(metadata=[("x-tenant", "acme")], timeout=60.0)
    future, _ = server.unary(
        lambda: other.chat("hi"), "Chat", chat_service_pb2.ChatResponse(response="ok")
    )
    assert ("x-tenant", "acme") in server.invocation_metadata
    assert AUTH not in server.invocation_metadata
    assert future.result(timeout=5).response == "ok"


def test_close_closes_only_a_channel_the_client_created(monkeypatch: pytest.MonkeyPatch) -> None:
    given = FakeChannel()
    with FeedbackClient(channel=given):
        pass
    assert given.closed == 0

    created = FakeChannel()
    targets: list[str] = []

    def insecure_channel(target: str, options: Any = ()) -> FakeChannel:
        targets.append(target)
        assert dict(options)["grpc.enable_retries"] == 1  # the service config rides along
        return created

    monkeypatch.setattr(grpc, "insecure_channel", insecure_channel)
    owned = FeedbackClient()
    owned.with_options(timeout=1.0).close()
    assert created.closed == 0
    with owned:
        pass
    owned.close()
    assert created.closed == 1
    assert targets == ["127.0.0.1:50051"]
