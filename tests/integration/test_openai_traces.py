"""The OpenAI-compatible backend (the `openai` SDK) in a chat turn: MLflow's OpenAI
autologging gives the turn's trace a standard LLM span (model, messages, token usage) under
the turn's root span, through the durable trace record and its export; an upstream failure
is UNAVAILABLE with RetryInfo. Against the local fake OpenAI server and the real MLflow
server."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import grpc
import mlflow
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback_server.backends.base import ChatTurn
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from testbed.fake_openai import USAGE, FakeOpenAI
from tests.integration.service import (
    Service,
    finalized_trace,
    start_service,
    stop_service,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def openai_service(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Service, FakeOpenAI]]:
    with FakeOpenAI(chunks=["MLflow ", "traces ", "LLM calls."]) as fake:
        svc = await start_service(
            mlflow_sqlite.url,
            tmp_path_factory.mktemp("openai-spool"),
            chat_backend="openai",
            openai_base_url=fake.base_url,
            openai_model="fake-model",
            openai_api_key="sk-never-logged-123",
        )
        yield svc, fake
        await stop_service(svc)


def spans_by_name(tracking_uri: str, trace_id: str) -> dict[str, Any] | None:
    trace = finalized_trace(tracking_uri, trace_id)
    return None if trace is None else {s.name: s for s in trace.data.spans}


async def assert_llm_span(svc: Service, trace_id: str, rpc: str, message: str) -> Any:
    spans = await wait_until(lambda: spans_by_name(svc.tracking_uri, trace_id))
    root, backend, llm = spans[rpc], spans["openai:fake-model"], spans["AsyncCompletions"]
    assert root.parent_id is None and backend.parent_id == root.span_id
    assert llm.parent_id == backend.span_id
    assert str(llm.span_type) == "CHAT_MODEL" and llm.status.status_code.value == "OK"
    assert llm.inputs["model"] == "fake-model"
    assert llm.inputs["messages"] == [{"role": "user", "content": message}]
    assert llm.get_attribute("mlflow.chat.tokenUsage") == {
        "input_tokens": USAGE["prompt_tokens"],
        "output_tokens": USAGE["completion_tokens"],
        "total_tokens": USAGE["total_tokens"],
    }
    assert llm.outputs["choices"][0]["message"]["content"] == "MLflow traces LLM calls."
    trace = finalized_trace(svc.tracking_uri, trace_id)
    usage = json.loads(trace.info.trace_metadata["mlflow.trace.tokenUsage"])
    assert usage["total_tokens"] == USAGE["total_tokens"]
    return llm


async def test_chat_and_stream_chat_traces_carry_the_llm_span(
    openai_service: tuple[Service, FakeOpenAI],
) -> None:
    svc, fake = openai_service
    reply = await svc.chat.Chat(chat_pb.ChatRequest(message="What does MLflow trace?"))
    assert reply.response == "MLflow traces LLM calls."
    llm = await assert_llm_span(svc, reply.trace_id, "Chat", "What does MLflow trace?")
    # The LLM call carries the LLM span's trace context to the model server.
    sent = fake.requests[-1].headers["traceparent"].split("-")
    assert sent[:3] == ["00", reply.trace_id.removeprefix("tr-"), llm.span_id]
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-never-logged-123"

    events = [
        e async for e in svc.chat.StreamChat(chat_pb.StreamChatRequest(message="And streams?"))
    ]
    await assert_llm_span(svc, events[-1].completion.trace_id, "StreamChat", "And streams?")


async def test_the_llm_span_continues_the_callers_trace(
    openai_service: tuple[Service, FakeOpenAI],
) -> None:
    svc, _ = openai_service
    caller_trace, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    reply = await svc.chat.Chat(
        chat_pb.ChatRequest(message="Distributed?"),
        metadata=(("traceparent", f"00-{caller_trace}-{caller_span}-01"),),
    )
    assert reply.trace_id == f"tr-{caller_trace}"
    spans = await wait_until(lambda: spans_by_name(svc.tracking_uri, reply.trace_id))
    assert spans["Chat"].parent_id == caller_span
    assert spans["AsyncCompletions"].parent_id == spans["openai:fake-model"].span_id


async def test_an_upstream_failure_is_unavailable_and_leaves_an_error_llm_span(
    openai_service: tuple[Service, FakeOpenAI], caplog: pytest.LogCaptureFixture
) -> None:
    svc, fake = openai_service
    fake.mode = "http_429"
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await svc.chat.Chat(chat_pb.ChatRequest(message="Too many?"))
    finally:
        fake.mode = "ok"
    error = caught.value
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    retry = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(retry) == 1
    info = error_details_pb2.RetryInfo()
    retry[0].Unpack(info)
    assert info.retry_delay.seconds == 7  # the upstream's Retry-After
    assert "slow down" not in error.details()  # never the upstream body
    trace_id = dict(error.trailing_metadata())["x-mlflow-trace-id"]
    spans = await wait_until(lambda: spans_by_name(svc.tracking_uri, trace_id))
    assert spans["AsyncCompletions"].status.status_code.value == "ERROR"
    assert "sk-never-logged-123" not in caplog.text


async def test_a_cancelled_stream_ends_the_llm_span(
    openai_service: tuple[Service, FakeOpenAI],
) -> None:
    svc, fake = openai_service
    fake.mode, fake.chunk_delay_s = "slow", 0.05
    try:
        call = svc.chat.StreamChat(chat_pb.StreamChatRequest(message="Cancel me"))
        trace_id = dict(await call.initial_metadata())["x-mlflow-trace-id"]
        await call.read()
        call.cancel()
        spans = await wait_until(lambda: spans_by_name(svc.tracking_uri, trace_id))
    finally:
        fake.mode, fake.chunk_delay_s = "ok", 0.0
    assert spans["AsyncCompletions"].end_time_ns is not None
    assert spans["AsyncCompletions"].status.status_code.value == "ERROR"


async def test_a_call_outside_a_turn_is_not_traced(
    openai_service: tuple[Service, FakeOpenAI],
) -> None:
    """The LLM judge of an evaluation calls the backend outside any turn: no trace of its
    own (MLflow's exporter would send it from the event loop's thread)."""
    svc, fake = openai_service
    before = mlflow.get_last_active_trace_id()
    turn = ChatTurn("Judge this", "req-judge")
    pieces = [piece async for piece in svc.app.chat.backend.stream(turn)]
    assert "".join(pieces) == "MLflow traces LLM calls."
    assert fake.requests[-1].body["messages"][-1]["content"] == "Judge this"
    assert mlflow.get_last_active_trace_id() == before
