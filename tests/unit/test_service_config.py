"""The gRPC service config the four clients ship (clients/service_config.json): the same in
every language, and, in the Python client over a real channel, writes retried on UNAVAILABLE
while chat turns are not. (The Go client's own test, feedbackclient/service_config_test.go,
runs with the polyglot build.)"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
)
from feedback_client import SERVICE_CONFIG, AsyncFeedbackClient, FeedbackClient, UnavailableError

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = json.loads((ROOT / "clients" / "service_config.json").read_text())
JAVA = ROOT / "clients/java/src/main/java/dev/feedbackservice/feedback/client/ServiceConfig.java"


def _between_markers(path: Path) -> Any:
    text = path.read_text()
    block = text.split("service-config:begin", 1)[1].split("service-config:end", 1)[0]
    start, end = block.index("{"), block.rindex("}")
    return json.loads(block[start : end + 1])


@pytest.mark.parametrize(
    "copy",
    [
        pytest.param(lambda: SERVICE_CONFIG, id="python"),
        pytest.param(
            lambda: json.loads(
                (ROOT / "clients/go/feedbackclient/service_config.json").read_text()
            ),
            id="go",
        ),
        pytest.param(lambda: _between_markers(ROOT / "clients/ts/src/serviceConfig.ts"), id="ts"),
        pytest.param(lambda: _between_markers(JAVA), id="java"),
    ],
)
def test_every_client_ships_the_same_service_config(copy: Any) -> None:
    assert copy() == CANONICAL


def test_the_service_config_retries_writes_and_reads_not_chat_and_balances() -> None:
    assert CANONICAL["loadBalancingConfig"] == [{"round_robin": {}}]
    (method,) = CANONICAL["methodConfig"]
    assert method["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert method["retryPolicy"]["maxAttempts"] <= 5  # gRPC caps it at 5
    names = {(n["service"], n.get("method")) for n in method["name"]}
    assert ("feedback.v1.FeedbackService", None) in names  # every method of the service
    assert not {s for s, _ in names} & {"feedback.v1.ChatService"}
    # Only idempotent review calls: reads, and SubmitLabels (it carries a request_id).
    review = {m for s, m in names if s == "feedback.v1.ReviewService"}
    assert review == {
        "SubmitLabels",
        "GetLabelSchema",
        "ListLabelSchemas",
        "GetReviewSession",
        "ListReviewSessions",
        "GetSessionProgress",
    }
    assert re.fullmatch(r"\d+(\.\d+)?s", method["retryPolicy"]["initialBackoff"])


class _Flaky(
    feedback_service_pb2_grpc.FeedbackServiceServicer, chat_service_pb2_grpc.ChatServiceServicer
):
    """A replica answering UNAVAILABLE to the first two writes and to every chat turn."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0
        self.chats = 0

    def LogFeedback(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            self.writes += 1
            attempt = self.writes
        if attempt <= 2:
            context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return feedback_service_pb2.LogFeedbackResponse(
            assessment_id="a-1", trace_id=request.target.trace_id
        )

    def Chat(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            self.chats += 1
        context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return chat_service_pb2.ChatResponse()


@pytest.fixture
def flaky() -> Iterator[tuple[str, _Flaky]]:
    servicer = _Flaky()
    server = grpc.server(futures.ThreadPoolExecutor(4))
    feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(servicer, server)
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0)


TRACE = "tr-" + "c" * 32


def test_the_sync_client_retries_a_write_on_unavailable_but_not_a_chat_turn(
    flaky: tuple[str, _Flaky],
) -> None:
    address, servicer = flaky
    with FeedbackClient(address) as client:
        assert client.thumbs_down(TRACE, user_id="u-1").assessment_id == "a-1"
        assert servicer.writes == 3
        with pytest.raises(UnavailableError):
            client.chat("hi")
        assert servicer.chats == 1


async def test_the_async_client_retries_a_write_on_unavailable(
    flaky: tuple[str, _Flaky],
) -> None:
    address, servicer = flaky
    async with AsyncFeedbackClient(address) as client:
        assert (await client.thumbs_up(TRACE, user_id="u-1")).assessment_id == "a-1"
    assert servicer.writes == 3
