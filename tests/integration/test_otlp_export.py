"""OTLP export of the server's own RPC spans (FEEDBACK_OTLP_ENDPOINT), received by a small
OTLP/HTTP collector: one server span per call with OpenTelemetry's RPC attributes, under the
caller's `traceparent`, and the chat turn's MLflow trace under that span, in the same trace.
Against the real MLflow server."""

from __future__ import annotations

import secrets
from typing import Any

import grpc
import httpx
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb

from testbed.otlp_receiver import OtlpReceiver, ReceivedSpan
from testbed.ports import PortReservation
from tests.integration.service import finalized_trace, start_service, stop_service, wait_until

pytestmark = pytest.mark.integration

SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER
STATUS_ERROR = 2


def root_of(tracking_uri: str, trace_id: str) -> Any:
    trace = finalized_trace(tracking_uri, trace_id)
    return None if trace is None else next(s for s in trace.data.spans if s.name == "Chat")


async def test_rpc_spans_are_exported_and_continue_into_the_mlflow_trace(
    mlflow_sqlite: Any, tmp_path: Any
) -> None:
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = (("traceparent", f"00-{caller_trace}-{caller_span}-01"),)
    with OtlpReceiver() as receiver, PortReservation() as http_port:
        svc = await start_service(
            mlflow_sqlite.url,
            tmp_path / "spool",
            http_port=http_port.port,
            otlp_endpoint=receiver.endpoint,
            otlp_service_name="feedback-under-test",
        )
        try:
            chat = await svc.chat.Chat(chat_pb.ChatRequest(message="spans"), metadata=traceparent)
            plain = await svc.chat.Chat(chat_pb.ChatRequest(message="no caller"))
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await svc.feedback.LogFeedback(
                    fb_pb.LogFeedbackRequest(
                        target=common_pb2.TraceRef(trace_id="tr-" + "0" * 32),
                        value=common_pb2.FeedbackValue(boolean=True),
                    )
                )
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.post(
                    f"http://127.0.0.1:{http_port.port}/feedback.v1.ChatService/Chat",
                    json={"message": "over Connect"},
                    headers=dict(traceparent),
                )
            assert answer.status_code == 200
            # The turns' traces reach MLflow from the spool (the drain worker exports them).
            chat_root = await wait_until(lambda: root_of(svc.tracking_uri, chat.trace_id))
            plain_root = await wait_until(lambda: root_of(svc.tracking_uri, plain.trace_id))
        finally:
            await stop_service(svc)  # flushes the spans still buffered

    spans = receiver.spans
    mine = [s for s in spans if s.resource.get("service.name") == "feedback-under-test"]
    by_trace: dict[str, list[ReceivedSpan]] = {}
    for span in mine:
        by_trace.setdefault(span.trace_id, []).append(span)

    # The Chat call under the caller's span, and the Connect call in the same caller trace.
    grpc_chat, connect_chat = sorted(
        by_trace[caller_trace], key=lambda s: s.attributes["rpc.system"], reverse=True
    )
    for span, system in ((grpc_chat, "grpc"), (connect_chat, "connect_rpc")):
        assert span.name == "feedback.v1.ChatService/Chat" and span.kind == SERVER_KIND
        assert span.parent_span_id == caller_span
        assert span.attributes == {
            "rpc.system": system,
            "rpc.service": "feedback.v1.ChatService",
            "rpc.method": "Chat",
            "rpc.grpc.status_code": 0,
        }
    # The turn's MLflow trace is the same trace, its root under the RPC span.
    assert chat.trace_id == f"tr-{caller_trace}"
    assert chat_root.parent_id == grpc_chat.span_id

    # Without a caller, the RPC span starts the trace that the turn continues.
    (plain_span,) = by_trace[plain.trace_id.removeprefix("tr-")]
    assert plain_span.parent_span_id == ""
    assert plain_root.parent_id == plain_span.span_id

    # A failed call has its status code; NOT_FOUND is not a server error.
    (log_feedback,) = [s for s in mine if s.attributes["rpc.method"] == "LogFeedback"]
    assert log_feedback.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert log_feedback.status_code != STATUS_ERROR


async def test_off_by_default_and_otels_own_variables_do_not_divert_mlflow(
    mlflow_sqlite: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_EXPORTER_OTLP_ENDPOINT would make MLflow send its traces to the collector
    instead of the tracking server: it is ignored, and nothing is exported."""
    with OtlpReceiver() as receiver:
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.removesuffix("/v1/traces")
        )
        svc = await start_service(mlflow_sqlite.url, tmp_path / "spool")
        try:
            reply = await svc.chat.Chat(chat_pb.ChatRequest(message="not exported"))
            assert await wait_until(lambda: root_of(svc.tracking_uri, reply.trace_id))
        finally:
            await stop_service(svc)
    assert receiver.requests == 0
