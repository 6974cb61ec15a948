"""What standard tools expect of a gRPC service, checked on a real `feedback-server` process
against the session's MLflow server: the RPC metrics under go-grpc-prometheus' names and the
build info on /metrics, JSON log lines (`FEEDBACK_LOG_FORMAT=json`), and server reflection
v1 beside v1alpha, as `buf curl` uses it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    common_pb2,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
)
from feedback_server.metrics import build_versions
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from testbed.feedback_server import FeedbackServerProcess
from testbed.health import http_get

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def server(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FeedbackServerProcess]:
    base: Path = tmp_path_factory.mktemp("conventions")
    process = FeedbackServerProcess(
        mlflow_sqlite.url,
        base / "data",
        experiment=f"conventions-{uuid.uuid4().hex[:8]}",
        env={"FEEDBACK_LOG_FORMAT": "json", "FEEDBACK_TRACE_GRACE_S": "0.5"},
    )
    with process:
        yield process


@pytest.fixture
def channel(server: FeedbackServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        yield ch


def scrape(server: FeedbackServerProcess) -> tuple[Samples, dict[str, str]]:
    """Every sample of /metrics by (name, labels), and each family's type."""
    body = http_get(f"http://127.0.0.1:{server.metrics_port}/metrics")
    assert body is not None, "no /metrics"
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(body.decode()):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def rpc(rpc_type: str, service: str, method: str) -> dict[str, str]:
    return {"grpc_type": rpc_type, "grpc_service": service, "grpc_method": method}


CHAT = rpc("unary", "feedback.v1.ChatService", "Chat")
STREAM = rpc("server_stream", "feedback.v1.ChatService", "StreamChat")
LOG = rpc("unary", "feedback.v1.FeedbackService", "LogFeedback")
CHECK = rpc("unary", "grpc.health.v1.Health", "Check")


def test_rpc_metrics_have_the_standard_grpc_names(
    server: FeedbackServerProcess, channel: grpc.Channel
) -> None:
    before, _ = scrape(server)
    chat = chat_service_pb2_grpc.ChatServiceStub(channel)
    feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    chat.Chat(chat_service_pb2.ChatRequest(message="What is MLflow?"), timeout=30)
    streamed = list(
        chat.StreamChat(chat_service_pb2.StreamChatRequest(message="one two three"), timeout=30)
    )
    assert len(streamed) >= 2 and streamed[-1].HasField("completion")
    with pytest.raises(grpc.RpcError) as refused:
        feedback.LogFeedback(
            feedback_service_pb2.LogFeedbackRequest(
                target=common_pb2.TraceRef(trace_id="nope"),
                value=common_pb2.FeedbackValue(boolean=True),
            ),
            timeout=30,
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    health = health_pb2_grpc.HealthStub(channel)
    for _ in range(3):
        health.Check(health_pb2.HealthCheckRequest(), timeout=10)

    after, types = scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert types["grpc_server_started"] == "counter"
    assert types["grpc_server_handled"] == "counter"
    assert types["grpc_server_handling_seconds"] == "histogram"
    assert types["grpc_server_msg_received"] == types["grpc_server_msg_sent"] == "counter"

    # A unary call: started, handled OK, one message each way, one latency observation.
    assert delta("grpc_server_started_total", **CHAT) == 1
    assert delta("grpc_server_handled_total", **CHAT, grpc_code="OK") == 1
    assert delta("grpc_server_msg_received_total", **CHAT) == 1
    assert delta("grpc_server_msg_sent_total", **CHAT) == 1
    assert delta("grpc_server_handling_seconds_count", **CHAT) == 1
    assert delta("grpc_server_handling_seconds_sum", **CHAT) > 0
    # A server stream: one request, every streamed message counted.
    assert delta("grpc_server_started_total", **STREAM) == 1
    assert delta("grpc_server_handled_total", **STREAM, grpc_code="OK") == 1
    assert delta("grpc_server_msg_received_total", **STREAM) == 1
    assert delta("grpc_server_msg_sent_total", **STREAM) == len(streamed)
    # An error: its code as go-grpc-prometheus spells it, no response message.
    assert delta("grpc_server_handled_total", **LOG, grpc_code="InvalidArgument") == 1
    assert delta("grpc_server_handled_total", **LOG, grpc_code="OK") == 0
    assert delta("grpc_server_msg_sent_total", **LOG) == 0
    assert delta("grpc_server_handled_total", **CHECK, grpc_code="OK") == 3

    # Every served method's series exist from the start, at zero until called.
    idle = rpc("unary", "feedback.v1.FeedbackService", "SummarizeFeedback")
    assert (
        ("grpc_server_handled_total", frozenset({**idle, "grpc_code": "Unavailable"}.items()))
    ) in after
    assert not any(name.startswith("feedback_rpc") for name, _ in after)
    assert not any(name.endswith("_created") for name, _ in after)


def test_build_info_says_what_runs(server: FeedbackServerProcess) -> None:
    samples, types = scrape(server)
    assert types["feedback_build_info"] == "gauge"
    infos = [(labels, v) for (name, labels), v in samples.items() if name == "feedback_build_info"]
    assert len(infos) == 1
    labels, one = infos[0]
    assert one == 1
    expected = build_versions()  # the same virtualenv as the server's
    assert dict(labels) == expected
    assert all(expected.values()), expected
    assert set(expected) == {"version", "python", "grpc", "mlflow_tracing"}


RFC3339_UTC_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def log_entries(server: FeedbackServerProcess) -> list[dict[str, Any]]:
    """The server's log lines since its start, each parsed as JSON (all of them must be)."""
    text = server.log_text()
    run = text[text.rindex("\n$ ") :].split("\n")[2:]  # after the banner and the command
    return [json.loads(line) for line in run if line]


def test_json_log_lines_carry_the_request_and_trace_ids(
    server: FeedbackServerProcess, channel: grpc.Channel
) -> None:
    feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
    trace_id = f"tr-{uuid.uuid4().hex}"
    request_id = f"conventions-{uuid.uuid4().hex[:8]}"
    with pytest.raises(grpc.RpcError) as missing:
        feedback.LogFeedback(
            feedback_service_pb2.LogFeedbackRequest(
                target=common_pb2.TraceRef(trace_id=trace_id),
                value=common_pb2.FeedbackValue(boolean=True),
            ),
            metadata=(("x-request-id", request_id),),
            timeout=30,
        )
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND

    deadline = time.monotonic() + 10
    while not (lines := [e for e in log_entries(server) if e.get("request_id") == request_id]):
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.1)
    [line] = lines
    assert line["trace_id"] == trace_id
    assert line["level"] == "INFO"
    assert line["logger"] == "feedback_server.edge"
    assert "NOT_FOUND" in line["message"]

    entries = log_entries(server)
    now = datetime.now(UTC)
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert RFC3339_UTC_MILLIS.match(entry["time"]), entry
        logged = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%f%z")
        assert now - timedelta(minutes=10) < logged <= now + timedelta(seconds=1), entry
    started = next(e for e in entries if e["message"].startswith("feedback server listening"))
    assert started["logger"] == "feedback_server" and started["level"] == "INFO"
    assert "request_id" not in started and "trace_id" not in started


BUF = Path(sys.executable).parent / "buf"  # the buf-bin wheel


def buf_curl(server: FeedbackServerProcess, protocol: str, *args: str) -> str:
    """`buf curl` over gRPC with schemas from server reflection `protocol` only; its stdout."""
    done = subprocess.run(
        [
            str(BUF),
            "curl",
            "--protocol=grpc",
            "--http2-prior-knowledge",
            f"--reflect-protocol={protocol}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


SERVICES = {
    "feedback.v1.ChatService",
    "feedback.v1.FeedbackService",
    "feedback.v1.ReviewService",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
}


@pytest.mark.parametrize("protocol", ["grpc-v1", "grpc-v1alpha"])
def test_buf_curl_lists_the_services_and_methods_over_reflection(
    server: FeedbackServerProcess, protocol: str
) -> None:
    base = f"http://{server.address}"
    assert set(buf_curl(server, protocol, "--list-services", base).split()) == SERVICES
    methods = set(buf_curl(server, protocol, "--list-methods", base).split())
    assert {
        "feedback.v1.ChatService/Chat",
        "feedback.v1.ChatService/StreamChat",
        "feedback.v1.FeedbackService/LogFeedback",
        "feedback.v1.ReviewService/GetNextItem",
        "grpc.health.v1.Health/Check",
        "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    } <= methods


@pytest.mark.parametrize("protocol", ["grpc-v1", "grpc-v1alpha"])
def test_buf_curl_calls_the_services_through_reflection(
    server: FeedbackServerProcess, protocol: str
) -> None:
    base = f"http://{server.address}"
    health = json.loads(
        buf_curl(server, protocol, "-d", '{"service": ""}', f"{base}/grpc.health.v1.Health/Check")
    )
    assert health == {"status": "SERVING"}
    crid = f"buf-curl-{uuid.uuid4().hex[:8]}"
    reply = json.loads(
        buf_curl(
            server,
            protocol,
            "-d",
            json.dumps({"message": "What is MLflow?", "client_request_id": crid}),
            f"{base}/feedback.v1.ChatService/Chat",
        )
    )
    assert reply["clientRequestId"] == crid
    assert re.fullmatch(r"tr-[0-9a-f]{32}", reply["traceId"])
    assert "What is MLflow?" in reply["response"]
