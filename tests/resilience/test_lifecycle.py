"""A mesh-safe lifecycle, on a real server process: connections are closed after
FEEDBACK_MAX_CONNECTION_AGE_S (clients reconnect and rebalance); on SIGTERM health says
NOT_SERVING at once while the server keeps serving for FEEDBACK_SHUTDOWN_DELAY_S (the mesh
stops routing to it meanwhile), then it drains and exits within delay + 2 x grace (what the
Helm chart's terminationGracePeriodSeconds adds up)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testbed.poll import poll_async
from tests.resilience.harness import Stubs, machine

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(180)]

DELAY_S, GRACE_S, AGE_S, AGE_GRACE_S = 3.0, 2.0, 2.0, 1.0


def _health(address: str) -> int:
    """The overall health status, or -1 when nothing answers."""
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
    except grpc.RpcError:
        return -1
    return int(reply.status)


async def test_connections_age_out_and_sigterm_keeps_serving_for_the_delay(
    mlflow_sqlite: Any,
    feedback_server_factory: Callable[..., Any],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    server = await asyncio.to_thread(
        feedback_server_factory,
        mlflow_sqlite.url,
        experiment=f"lifecycle-{uuid.uuid4().hex[:6]}",
        FEEDBACK_SHUTDOWN_DELAY_S=str(DELAY_S),
        FEEDBACK_SHUTDOWN_GRACE_S=str(GRACE_S),
        FEEDBACK_MAX_CONNECTION_AGE_S=str(AGE_S),
        FEEDBACK_MAX_CONNECTION_AGE_GRACE_S=str(AGE_GRACE_S),
    )
    stubs = Stubs(server.address)
    reply = await stubs.chat.Chat(chat_pb.ChatRequest(message="aging"), timeout=60)
    assert stubs.channel.get_state() == grpc.ChannelConnectivity.READY
    t0 = time.monotonic()
    aged = await poll_async(
        lambda: stubs.channel.get_state(try_to_connect=False) != grpc.ChannelConnectivity.READY,
        within_s=10 * AGE_S,
        interval_s=0.1,
    )
    aged_after_s = time.monotonic() - t0
    assert aged, "the server never closed the connection (max connection age)"
    await stubs.chat.Chat(chat_pb.ChatRequest(message="reconnected"), timeout=30)  # reconnects

    os.kill(server.pid, signal.SIGTERM)
    signalled = time.monotonic()
    assert await poll_async(
        lambda: _health(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
        within_s=DELAY_S / 2,
        interval_s=0.05,
    ), "health did not say NOT_SERVING right after SIGTERM"
    not_serving_after_s = time.monotonic() - signalled
    # Still serving during the delay, on a new connection too (a mesh still routing here).
    late = Stubs(server.address)
    try:
        ack = await late.feedback.LogFeedback(
            fb_pb.LogFeedbackRequest(
                target=common_pb2.TraceRef(trace_id=reply.trace_id),
                value=common_pb2.FeedbackValue(boolean=True),
                request_id="during-the-delay",
            ),
            timeout=5,
        )
        served_at_s = time.monotonic() - signalled
    finally:
        await late.close()
        await stubs.close()
    exited = await poll_async(lambda: not server.running, within_s=DELAY_S + 2 * GRACE_S + 15)
    stop_s = time.monotonic() - signalled
    figures = {
        "connection_closed_after_s": round(aged_after_s, 1),
        "max_connection_age_s": AGE_S,
        "not_serving_after_sigterm_s": round(not_serving_after_s, 2),
        "served_during_delay_at_s": round(served_at_s, 2),
        "exited_after_s": round(stop_s, 1),
        "delay_s": DELAY_S,
        "grace_s": GRACE_S,
        "machine": machine(),
    }
    resilience_report("lifecycle", figures)
    assert ack.assessment_id and served_at_s < DELAY_S
    assert exited, "the server did not exit after SIGTERM"
    assert DELAY_S <= stop_s <= DELAY_S + 2 * GRACE_S + 10
    assert "shutting down: NOT_SERVING" in server.log_text()
