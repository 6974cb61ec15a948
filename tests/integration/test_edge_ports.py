"""Both ports of one server (gRPC, and HTTP: Connect JSON and binary, gRPC-Web), against
the real MLflow server: the same credentials, feedback tokens, error table and limits.

Every call is made as a foreign client would make it (tests/integration/edge_calls.py:
raw bytes, plain HTTP), and every error is checked for its code, its details and the
absence of exception text.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from feedback.v1 import (
    chat_service_pb2,
    common_pb2,
    feedback_service_pb2,
    review_service_pb2,
)
from feedback_server.edge.tokens import FeedbackTokens
from google.rpc import error_details_pb2

from testbed.ports import PortReservation
from tests.integration.edge_calls import PORTS, Ports, Reply, call, http_call
from tests.integration.service import Service, start_service, stop_service

SERVICE_TOKEN = "service-" + secrets.token_hex(8)
SECRET = secrets.token_hex(32)
RATE_PER_MIN = 4
LOG = "/feedback.v1.FeedbackService/LogFeedback"
CHAT = "/feedback.v1.ChatService/Chat"


class Edge(Ports):
    """A server with both ports, a service credential and feedback tokens on."""

    def __init__(self, service: Service, http_port: int) -> None:
        super().__init__(service, http_port, token=SERVICE_TOKEN)
        self.tokens = FeedbackTokens(SECRET.encode(), ttl_s=600)

    async def chat(self, user_id: str = "") -> chat_service_pb2.ChatResponse:
        reply = await self.call(
            "grpc", CHAT, chat_service_pb2.ChatRequest(message="What is MLflow?", user_id=user_id)
        )
        assert reply.code == "OK", reply
        return chat_service_pb2.ChatResponse.FromString(reply.messages[0])


@pytest.fixture(scope="module")
async def edge(mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Edge]:
    with PortReservation() as http:
        service = await start_service(
            mlflow_sqlite.url,
            tmp_path_factory.mktemp("edge-spool"),
            http_port=http.port,
            auth_token=SERVICE_TOKEN,
            token_secret=SECRET,
            token_rate_per_min=RATE_PER_MIN,
            cors_origins=("https://app.example.com",),
        )
        yield Edge(service, http.port)
        await stop_service(service)


def log_request(
    trace_id: str, *, source_id: str = "", boolean: bool = True, **kwargs: Any
) -> feedback_service_pb2.LogFeedbackRequest:
    return feedback_service_pb2.LogFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=trace_id),
        value=common_pb2.FeedbackValue(boolean=boolean),
        source=common_pb2.Source(id=source_id),
        **kwargs,
    )


def assert_error(reply: Reply, code: str, *fields: str) -> None:
    assert reply.code == code, reply
    reply.assert_clean()
    info = reply.detail(error_details_pb2.ErrorInfo)
    assert info is not None and info.domain == "feedback.v1", reply
    assert reply.detail(error_details_pb2.RequestInfo) is not None, reply
    if fields:
        assert reply.fields() == list(fields), reply


# --- feedback tokens ---


async def test_every_answer_carries_a_token_for_its_trace_and_user(edge: Edge) -> None:
    answer = await edge.chat("alice")
    claims = edge.tokens.verify(answer.feedback_token)
    assert (claims.trace_id, claims.user_id) == (answer.trace_id, "alice")
    reply = await edge.call(
        "connect-proto",
        "/feedback.v1.ChatService/StreamChat",
        chat_service_pb2.StreamChatRequest(message="hi"),
        streaming=True,
    )
    assert reply.code == "OK", reply
    last = chat_service_pb2.StreamChatResponse.FromString(reply.messages[-1])
    claims = edge.tokens.verify(last.completion.feedback_token)
    assert claims.trace_id == last.completion.trace_id
    assert claims.user_id.startswith("anon-")  # no user_id: a pseudonymous user of its own


@pytest.mark.parametrize("port", ["grpc", "connect-json"])
async def test_a_token_writes_on_its_trace_as_its_user(edge: Edge, port: str) -> None:
    answer = await edge.chat("bob")
    reply = await edge.call(port, LOG, log_request(answer.trace_id), token=answer.feedback_token)
    assert reply.code == "OK", reply
    listed = await edge.call(
        "grpc",
        "/feedback.v1.FeedbackService/ListFeedback",
        feedback_service_pb2.ListFeedbackRequest(
            target=common_pb2.TraceRef(trace_id=answer.trace_id)
        ),
    )
    [assessment] = feedback_service_pb2.ListFeedbackResponse.FromString(
        listed.messages[0]
    ).assessments
    assert assessment.source.id == "bob"
    assert assessment.source.type == common_pb2.SOURCE_TYPE_HUMAN


MISUSE = {
    "other-trace": ("PERMISSION_DENIED", lambda e, a: (LOG, log_request("tr-" + "0" * 32), a)),
    "other-source": (
        "PERMISSION_DENIED",
        lambda e, a: (LOG, log_request(a.trace_id, source_id="mallory"), a),
    ),
    "judge-source": (
        "PERMISSION_DENIED",
        lambda e, a: (
            LOG,
            feedback_service_pb2.LogFeedbackRequest(
                target=common_pb2.TraceRef(trace_id=a.trace_id),
                value=common_pb2.FeedbackValue(boolean=True),
                source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_LLM_JUDGE),
            ),
            a,
        ),
    ),
    "other-rpc-list": (
        "PERMISSION_DENIED",
        lambda e, a: (
            "/feedback.v1.FeedbackService/ListFeedback",
            feedback_service_pb2.ListFeedbackRequest(
                target=common_pb2.TraceRef(trace_id=a.trace_id)
            ),
            a,
        ),
    ),
    "other-rpc-chat": (
        "PERMISSION_DENIED",
        lambda e, a: (CHAT, chat_service_pb2.ChatRequest(message="x"), a),
    ),
    "other-rpc-mint": (
        "PERMISSION_DENIED",
        lambda e, a: (
            "/feedback.v1.FeedbackService/CreateFeedbackToken",
            feedback_service_pb2.CreateFeedbackTokenRequest(
                target=common_pb2.TraceRef(trace_id=a.trace_id), user_id="mallory"
            ),
            a,
        ),
    ),
    "other-rpc-review": (
        "PERMISSION_DENIED",
        lambda e, a: (
            "/feedback.v1.ReviewService/ListLabelSchemas",
            review_service_pb2.ListLabelSchemasRequest(),
            a,
        ),
    ),
    "forged": (
        "UNAUTHENTICATED",
        lambda e, a: (
            LOG,
            log_request(a.trace_id),
            FeedbackTokens(b"f" * 32, ttl_s=60).mint(a.trace_id, "bob")[0],
        ),
    ),
    "expired": (
        "UNAUTHENTICATED",
        lambda e, a: (
            LOG,
            log_request(a.trace_id),
            FeedbackTokens(SECRET.encode(), ttl_s=60, clock=lambda: time.time() - 3600).mint(
                a.trace_id, "bob"
            )[0],
        ),
    ),
    "no-credential": ("UNAUTHENTICATED", lambda e, a: (LOG, log_request(a.trace_id), "")),
    "wrong-service-token": ("UNAUTHENTICATED", lambda e, a: (LOG, log_request(a.trace_id), "nope")),
}


@pytest.mark.parametrize("port", ["grpc", "connect-json", "grpc-web"])
@pytest.mark.parametrize("case", sorted(MISUSE))
async def test_token_misuse_is_refused_on_both_ports(edge: Edge, port: str, case: str) -> None:
    answer = await edge.chat("bob")
    code, make = MISUSE[case]
    method, request, token = make(edge, answer)
    if not isinstance(token, str):
        token = answer.feedback_token
    reply = await edge.call(port, method, request, token=token)
    assert_error(reply, code)


async def test_writes_per_token_are_rate_limited_across_both_ports(edge: Edge) -> None:
    answer = await edge.chat("carol")
    ports = ["grpc", "connect-json", "grpc-web", "grpc"]
    for i, port in enumerate(ports[:RATE_PER_MIN]):
        reply = await edge.call(
            port, LOG, log_request(answer.trace_id, boolean=i % 2 == 0), token=answer.feedback_token
        )
        assert reply.code == "OK", (port, reply)
    for port in ("grpc", "connect-json"):
        reply = await edge.call(
            port, LOG, log_request(answer.trace_id), token=answer.feedback_token
        )
        assert_error(reply, "RESOURCE_EXHAUSTED")
        delay = reply.detail(error_details_pb2.RetryInfo).retry_delay
        assert 0 < delay.seconds + delay.nanos / 1e9 <= 60 / RATE_PER_MIN
    # Another token of the same user has its own budget; the service credential has none.
    other = await edge.chat("carol")
    assert (
        await edge.call("grpc", LOG, log_request(other.trace_id), token=other.feedback_token)
    ).code == "OK"
    for _ in range(RATE_PER_MIN + 1):
        reply = await edge.call("grpc", LOG, log_request(answer.trace_id, source_id="svc"))
        assert reply.code == "OK", reply


async def test_create_feedback_token_needs_the_service_credential(edge: Edge) -> None:
    answer = await edge.chat()
    mint = "/feedback.v1.FeedbackService/CreateFeedbackToken"
    request = feedback_service_pb2.CreateFeedbackTokenRequest(
        target=common_pb2.TraceRef(client_request_id=answer.client_request_id), user_id="dana"
    )
    request.ttl.FromSeconds(120)
    reply = await edge.call("connect-json", mint, request)
    assert reply.code == "OK", reply
    made = json.loads(reply.messages[0])
    assert made["traceId"] == answer.trace_id
    claims = edge.tokens.verify(made["token"])
    assert claims.user_id == "dana" and 110 <= claims.expires_at - time.time() <= 125
    ratings = feedback_service_pb2.LogRatingsRequest(
        target=common_pb2.TraceRef(trace_id=answer.trace_id), ratings={"accuracy": 4}
    )
    ok = await edge.call(
        "grpc", "/feedback.v1.FeedbackService/LogRatings", ratings, token=made["token"]
    )
    assert ok.code == "OK", ok
    assert_error(await edge.call("grpc", mint, request, token=""), "UNAUTHENTICATED")
    request.ttl.FromSeconds(8 * 86_400)
    assert_error(await edge.call("grpc", mint, request), "INVALID_ARGUMENT", "ttl")
    unknown = feedback_service_pb2.CreateFeedbackTokenRequest(
        target=common_pb2.TraceRef(trace_id="tr-" + uuid.uuid4().hex), user_id="dana"
    )
    assert_error(await edge.call("grpc", mint, unknown), "NOT_FOUND")


async def test_a_token_write_is_queued_without_looking_its_trace_up(edge: Edge) -> None:
    """A token minted by another replica, for a trace whose export has not reached MLflow
    yet: the write is accepted at once (queued), not refused after the trace grace."""
    trace_id = "tr-" + uuid.uuid4().hex
    token, _ = edge.tokens.mint(trace_id, "erin")
    reply = await edge.call("connect-json", LOG, log_request(trace_id), token=token)
    assert reply.code == "OK", reply
    assert json.loads(reply.messages[0])["state"] == "INGESTION_STATE_QUEUED"
    # Without a token, such a write looks the trace up and is refused after the grace.
    reply = await edge.call("grpc", LOG, log_request("tr-" + uuid.uuid4().hex, source_id="x"))
    assert_error(reply, "NOT_FOUND")


@pytest.mark.parametrize("port", PORTS)
async def test_credentials_are_checked_before_the_request_is_decoded(edge: Edge, port: str) -> None:
    garbage = b"\xff\xff\xff"
    assert_error(await edge.call(port, LOG, garbage, token=""), "UNAUTHENTICATED")
    if port == "connect-json":
        garbage = b"{not json"
    assert_error(await edge.call(port, LOG, garbage), "INVALID_ARGUMENT", "")


# --- traces of other experiments ---


async def test_traces_of_other_experiments_are_not_found(edge: Edge, mlflow_sqlite: Any) -> None:
    trace_id = await asyncio.to_thread(_foreign_trace, mlflow_sqlite.url)
    target = common_pb2.TraceRef(trace_id=trace_id)
    for method, request in (
        (LOG, log_request(trace_id, source_id="x")),
        (
            "/feedback.v1.FeedbackService/ListFeedback",
            feedback_service_pb2.ListFeedbackRequest(target=target),
        ),
        (
            "/feedback.v1.FeedbackService/CreateFeedbackToken",
            feedback_service_pb2.CreateFeedbackTokenRequest(target=target, user_id="x"),
        ),
    ):
        for port in ("grpc", "connect-json"):
            reply = await edge.call(port, method, request)
            assert_error(reply, "NOT_FOUND")


def _foreign_trace(tracking_uri: str) -> str:
    """A trace in an experiment of its own, on the same tracking server, once stored."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.set_experiment(f"other-app-{uuid.uuid4().hex[:8]}")
    with mlflow.start_span(name="other-app") as span:
        span.set_inputs({"q": "?"})
    trace_id = span.trace_id
    mlflow.flush_trace_async_logging()
    deadline = time.monotonic() + 60
    while mlflow.get_trace(trace_id, silent=True) is None:
        assert time.monotonic() < deadline, "the foreign trace never reached MLflow"
        time.sleep(0.5)
    assert experiment.experiment_id
    return str(trace_id)


# --- limits ---


async def test_calls_in_flight_are_limited_on_both_ports_together(
    mlflow_sqlite: Any, tmp_path: Path
) -> None:
    with PortReservation() as http:
        service = await start_service(
            mlflow_sqlite.url,
            tmp_path / "spool",
            http_port=http.port,
            max_concurrent_rpcs=1,
            echo_delay_s=0.3,
        )
        try:
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.app.port}")
            stream = channel.unary_stream("/feedback.v1.ChatService/StreamChat")(
                chat_service_pb2.StreamChatRequest(message="a long answer").SerializeToString()
            )
            await stream.read()  # the stream holds the one slot
            base = f"http://127.0.0.1:{http.port}"
            for reply in await asyncio.gather(
                asyncio.to_thread(http_call, base, CHAT, b"", protocol="connect-proto"),
                asyncio.to_thread(
                    call,
                    "grpc",
                    channel=grpc.insecure_channel(f"127.0.0.1:{service.app.port}"),
                    base_url=base,
                    method=CHAT,
                    request=b"",
                ),
            ):
                assert_error(reply, "RESOURCE_EXHAUSTED")
                assert reply.detail(error_details_pb2.RetryInfo) is not None
            stream.cancel()
            await channel.close()
        finally:
            await stop_service(service)
