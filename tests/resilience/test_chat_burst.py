"""A burst of chat turns several times what MLflow absorbs (and larger than MLflow's own
async export queue, 1,000 traces, which drops beyond that): every trace ID the service
returned exists in MLflow at the end. The service's bounded export pool is the
backpressure: no turn is admitted while FEEDBACK_EXPORT_MAX_PENDING (256) turns wait for
their export, so a Chat call waits for admission instead of a trace being dropped.

FEEDBACK_RESILIENCE_BURST sets the number of Chat calls (default 1,500, from 64 clients)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb

from testbed.poll import poll_async
from testbed.stats import percentile
from tests.resilience.harness import (
    RETRYABLE,
    Stubs,
    experiment_traces,
    machine,
    ms,
)

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(600)]

BURST = int(os.environ.get("FEEDBACK_RESILIENCE_BURST", "1500"))
CLIENTS = 64
EXPORT_MAX_PENDING = 256  # the server's default FEEDBACK_EXPORT_MAX_PENDING


async def test_chat_burst_loses_no_trace(
    mlflow_sqlite: Any,
    feedback_server_factory: Callable[..., Any],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    experiment = f"burst-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory, mlflow_sqlite.url, experiment=experiment
    )
    # One turn first, so the experiment exists and the clients start together.
    stubs = [Stubs(server.address) for _ in range(4)]
    await stubs[0].chat.Chat(chat_pb.ChatRequest(message="warm-up"), timeout=60)

    returned: list[str] = []
    latencies: list[float] = []
    refused: dict[str, int] = {}
    todo = list(range(BURST))

    async def client(k: int) -> None:
        stub = stubs[k % len(stubs)].chat
        while todo:
            i = todo.pop()
            while True:
                t0 = time.monotonic()
                try:
                    reply = await stub.Chat(
                        chat_pb.ChatRequest(
                            message=f"burst question {i}",
                            client_request_id=f"burst-{i}",
                            user_id=f"user-{i % 50}",
                        ),
                        timeout=120,
                    )
                except grpc.aio.AioRpcError as err:
                    refused[err.code().name] = refused.get(err.code().name, 0) + 1
                    if err.code() not in RETRYABLE:
                        raise
                    await asyncio.sleep(0.5)  # the service said: retry later
                    continue
                latencies.append(time.monotonic() - t0)
                returned.append(reply.trace_id)
                break

    began = time.monotonic()
    try:
        await asyncio.gather(*(client(k) for k in range(CLIENTS)))
    finally:
        for s in stubs:
            await s.close()
    burst_s = time.monotonic() - began
    present_at_end = set(await asyncio.to_thread(experiment_traces, mlflow_sqlite.url, experiment))
    backlog_at_end = len(set(returned) - present_at_end)

    wanted = set(returned)
    timeout = max(180.0, BURST / 5)
    await poll_async(
        lambda: wanted <= set(experiment_traces(mlflow_sqlite.url, experiment)),
        within_s=timeout,
        interval_s=3.0,
    )
    all_in_s = time.monotonic() - began
    stored = set(await asyncio.to_thread(experiment_traces, mlflow_sqlite.url, experiment))
    missing = wanted - stored
    figures = {
        "chat_calls": BURST,
        "clients": CLIENTS,
        "trace_ids_returned": len(wanted),
        "traces_lost": len(missing),
        "burst_s": round(burst_s, 1),
        "chat_ingest_per_s": round(BURST / burst_s, 1),
        "mlflow_trace_ingest_per_s": round(BURST / all_in_s, 1),
        "all_traces_in_mlflow_after_s": round(all_in_s, 1),
        "unexported_at_burst_end": backlog_at_end,
        "export_max_pending": EXPORT_MAX_PENDING,
        "refused_calls": refused,
        "chat_latency_ms_p50": ms(percentile(latencies, 50)),
        "chat_latency_ms_p99": ms(percentile(latencies, 99)),
        # Backpressure engaged: the callers were held back to MLflow's pace (the burst took
        # about as long as MLflow needed), or some were told to retry later.
        "backpressure_engaged": bool(refused) or burst_s >= 0.5 * all_in_s,
        "machine": machine(),
    }
    resilience_report("chat-burst", figures)

    assert len(wanted) == BURST
    assert not missing, f"{len(missing)} traces never reached MLflow, e.g. {sorted(missing)[:3]}"
    # The export pool never holds more than its bound plus the turns being answered.
    assert backlog_at_end <= EXPORT_MAX_PENDING + CLIENTS
