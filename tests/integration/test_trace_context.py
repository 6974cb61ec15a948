"""A caller's W3C `traceparent` becomes the parent of the chat turn's MLflow trace, on both
ports, through the durable trace record and its export, across a restart; an invalid one is
ignored. Against the real MLflow server."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb

from testbed.http_proxy import HttpProxy
from testbed.ports import PortReservation
from tests.integration.service import (
    Service,
    finalized_trace,
    start_service,
    stop_service,
    wait_until,
)

pytestmark = pytest.mark.integration


class Caller:
    """A span of the calling application: its traceparent header."""

    def __init__(self) -> None:
        self.trace_id = secrets.token_hex(16)
        self.span_id = secrets.token_hex(8)
        self.traceparent = f"00-{self.trace_id}-{self.span_id}-01"


@pytest.fixture(scope="module")
async def service(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Service, str]]:
    with PortReservation() as port:
        svc = await start_service(
            mlflow_sqlite.url,
            tmp_path_factory.mktemp("trace-context"),
            http_port=port.port,
            echo_delay_s=0.05,  # a stream is still under way when the next call comes
        )
        yield svc, f"http://127.0.0.1:{port.port}"
        await stop_service(svc)


def root_span(tracking_uri: str, trace_id: str) -> Any:
    trace = finalized_trace(tracking_uri, trace_id)
    if trace is None:
        return None
    (root,) = [s for s in trace.data.spans if s.name in ("Chat", "StreamChat")]
    return root


async def assert_continues(tracking_uri: str, trace_id: str, caller: Caller) -> None:
    assert trace_id == f"tr-{caller.trace_id}"
    root = await wait_until(lambda: root_span(tracking_uri, trace_id))
    assert root.parent_id == caller.span_id
    stored = root.to_dict()  # as MLflow stores it: OTel IDs
    assert base64.b64decode(stored["trace_id"]).hex() == caller.trace_id
    assert base64.b64decode(stored["parent_span_id"]).hex() == caller.span_id


async def test_chat_and_stream_chat_continue_the_callers_trace(
    service: tuple[Service, str],
) -> None:
    svc, _ = service
    caller = Caller()
    reply = await svc.chat.Chat(
        chat_pb.ChatRequest(message="traced"), metadata=(("traceparent", caller.traceparent),)
    )
    await assert_continues(svc.tracking_uri, reply.trace_id, caller)

    caller = Caller()
    events = [
        event
        async for event in svc.chat.StreamChat(
            chat_pb.StreamChatRequest(message="traced stream"),
            metadata=(("traceparent", caller.traceparent),),
        )
    ]
    await assert_continues(svc.tracking_uri, events[-1].completion.trace_id, caller)


async def test_the_http_port_reads_the_traceparent_header(service: tuple[Service, str]) -> None:
    svc, url = service
    caller = Caller()
    async with httpx.AsyncClient(trust_env=False) as client:
        answer = await client.post(
            f"{url}/feedback.v1.ChatService/Chat",
            json={"message": "traced over Connect"},
            headers={"traceparent": caller.traceparent, "connect-protocol-version": "1"},
        )
    assert answer.status_code == 200, answer.text
    await assert_continues(svc.tracking_uri, answer.json()["traceId"], caller)


@pytest.mark.parametrize(
    "traceparent",
    ["garbage", f"00-{'0' * 32}-{'1' * 16}-01", f"ff-{'a' * 32}-{'b' * 16}-01", "00-" + "x" * 600],
)
async def test_an_invalid_traceparent_is_ignored(
    service: tuple[Service, str], traceparent: str
) -> None:
    svc, _ = service
    reply = await svc.chat.Chat(
        chat_pb.ChatRequest(message="badly traced"), metadata=(("traceparent", traceparent),)
    )
    assert reply.response.startswith("You said: badly traced")
    root = await wait_until(lambda: root_span(svc.tracking_uri, reply.trace_id))
    assert root.parent_id is None


async def test_one_caller_trace_for_two_turns_gives_the_later_ones_their_own_traces(
    service: tuple[Service, str],
) -> None:
    """Two turns in one caller trace, the second while the first is under way, a third once
    it is stored: MLflow keys a trace by its OTel trace ID, so the later turns get traces of
    their own, linked to the caller's span."""
    svc, _ = service
    caller = Caller()
    metadata = (("traceparent", caller.traceparent),)
    first = svc.chat.StreamChat(chat_pb.StreamChatRequest(message="first"), metadata=metadata)
    first_trace = dict(await first.initial_metadata())["x-mlflow-trace-id"]
    second = await svc.chat.Chat(chat_pb.ChatRequest(message="second"), metadata=metadata)
    events = [event async for event in first]
    assert events[-1].completion.trace_id == first_trace == f"tr-{caller.trace_id}"
    assert second.trace_id != first_trace
    await assert_continues(svc.tracking_uri, first_trace, caller)
    third = await svc.chat.Chat(chat_pb.ChatRequest(message="third"), metadata=metadata)
    assert len({first_trace, second.trace_id, third.trace_id}) == 3
    for later in (second, third):
        root = await wait_until(lambda: root_span(svc.tracking_uri, later.trace_id))  # noqa: B023
        assert root.parent_id is None
        assert [(link.trace_id, link.span_id) for link in root.links] == [
            (f"tr-{caller.trace_id}", caller.span_id)
        ]


async def test_the_parent_survives_the_spool_and_a_restart(
    mlflow_sqlite: Any, tmp_path: Path
) -> None:
    """The trace is recorded while MLflow answers 503, the server stops, and the next one
    exports it from the spool: still the caller's trace, under the caller's span."""
    experiment = f"restart-{secrets.token_hex(4)}"
    with HttpProxy(mlflow_sqlite.url, tmp_path / "proxy") as proxy:
        first = await start_service(proxy.url, tmp_path / "spool", experiment_name=experiment)
        try:
            await first.chat.Chat(chat_pb.ChatRequest(message="resolve the experiment"))
            proxy.set_mode("unavailable")
            caller = Caller()
            reply = await first.chat.Chat(
                chat_pb.ChatRequest(message="recorded, not exported"),
                metadata=(("traceparent", caller.traceparent),),
            )
        finally:
            await stop_service(first)
    assert finalized_trace(mlflow_sqlite.url, reply.trace_id) is None
    second = await start_service(mlflow_sqlite.url, tmp_path / "spool", experiment_name=experiment)
    try:
        await assert_continues(mlflow_sqlite.url, reply.trace_id, caller)
    finally:
        await stop_service(second)
