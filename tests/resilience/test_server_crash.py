"""The feedback server SIGKILLed in the middle of a judgment load and restarted on the same
data dir; clients retry with the same `request_id` throughout (some send every request
twice at once), and retry every request once more after the restart. It runs at both
durability levels (FEEDBACK_SPOOL_SYNC full and normal: both survive a killed process).
Every acknowledged judgment ends up in MLflow exactly once, and a repeated request is
always answered with the same assessment IDs.

Chat turns keep coming until the crash: every turn answered before it has its trace in
MLflow in the end (`chat_traces_lost_by_crash` is 0), since a turn is answered only once its
trace is recorded in the spool, and exported from there after the restart."""

from __future__ import annotations

import asyncio
import contextlib
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
    DrainSampler,
    LoadResult,
    Stubs,
    audit,
    chat_turns,
    experiment_traces,
    machine,
    ms,
    plan_judgments,
    run_load,
)

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(300)]

N_TRACES = 80
N_REQUESTS = 500
RATE = 50.0  # requests/s: above what MLflow absorbs, so a backlog is draining at the crash


@pytest.mark.parametrize("sync", ["full", "normal"])  # FEEDBACK_SPOOL_SYNC
async def test_server_crash_with_client_retries_stores_each_judgment_once(
    sync: str,
    mlflow_sqlite: Any,
    feedback_server_factory: Callable[..., Any],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    experiment = f"crash-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory, mlflow_sqlite.url, experiment=experiment, FEEDBACK_SPOOL_SYNC=sync
    )
    traces = await chat_turns(server.address, N_TRACES, prefix="crash")
    wanted = {t.trace_id for t in traces}
    assert await poll_async(
        lambda: wanted <= set(experiment_traces(mlflow_sqlite.url, experiment)),
        within_s=180,
        interval_s=1.0,
    ), "the chat traces did not reach MLflow"

    # Request IDs (hence assessment IDs) of their own per level: both runs share one MLflow.
    tag = f"crash_{sync}"
    judgments = plan_judgments(traces, N_REQUESTS, tag=tag)
    # Every 4th request is sent twice back to back (two clients, same request_id).
    sends = [x for j in judgments for x in ([j, j] if j.index % 4 == 0 else [j])]
    result = LoadResult()
    load = asyncio.create_task(
        run_load(
            server.address,
            sends,
            concurrency=16,
            rate_per_s=RATE,
            result=result,
            retry_unavailable=True,  # a client retries the same request until it is answered
        )
    )
    # Chat turns keep coming too until the crash: each answered turn's trace must survive it.
    answered: list[str] = []
    chatting = asyncio.create_task(_chat_until_crash(server.address, answered))
    try:
        await asyncio.sleep(4)
        acked_before_crash = len(result.acks)
        crashed_at = time.monotonic()
        await asyncio.to_thread(server.kill)
        chatting.cancel()
        await asyncio.sleep(1)
        await asyncio.to_thread(server.start)
        back_at = time.monotonic()
        await load
    finally:
        chatting.cancel()
        if not load.done():
            load.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await chatting
    pre_crash_latencies = [a.latency_s for a in result.acks.values() if a.at < crashed_at]

    # After the restart, every request is retried once more with its request_id.
    retry = LoadResult(acks=dict(result.acks))
    await run_load(server.address, judgments, concurrency=16, rate_per_s=200.0, result=retry)
    assert not retry.errors, retry.errors
    assert retry.id_mismatches == 0 and result.id_mismatches == 0

    sampler = DrainSampler(server)
    started = time.monotonic()
    drained = await sampler.wait_drained(within_s=240)
    assert drained is not None, f"spool not drained:\n{server.log_tail()}"
    assert await poll_async(
        lambda: server.metrics().get("feedback_traces_pending") == 0, within_s=120
    ), f"chat traces not exported:\n{server.log_tail()}"

    stored_traces = await asyncio.to_thread(experiment_traces, mlflow_sqlite.url, experiment)
    check = audit(stored_traces, retry.acks.values(), tag)
    chat_lost = set(answered) - set(stored_traces)
    metrics = server.metrics()
    figures = {
        "chat_traces_answered_before_crash": len(answered),
        "chat_traces_lost_by_crash": len(chat_lost),
        "requests": N_REQUESTS,
        "sends_including_retries": len(sends) + result.repeats + sum(result.errors.values()),
        "acknowledged_before_crash": acked_before_crash,
        "failed_calls_around_crash": result.errors,
        "restart_s": round(back_at - crashed_at, 1),
        "repeated_acknowledgments": result.repeats + retry.repeats,
        "repeated_with_other_ids": result.id_mismatches + retry.id_mismatches,
        **check.figures(),
        "dead_letters": metrics.get("feedback_spool_dead_letters"),
        "ack_latency_ms_p50": ms(percentile(pre_crash_latencies, 50)),
        "ack_latency_ms_p99": ms(percentile(pre_crash_latencies, 99)),
        "retry_pass_latency_ms_p50": ms(percentile(retry.latencies, 50)),
        "drain_wait_after_retries_s": round(drained.t - started, 1),
        "machine": machine(),
    }
    resilience_report(f"server-crash-sync-{sync}", figures)

    assert len(retry.acks) == N_REQUESTS
    assert check.lost == 0, check.missing_examples
    assert check.duplicated == 0
    assert check.wrong_id == 0
    assert check.unexpected == 0
    assert metrics.get("feedback_spool_dead_letters") == 0
    assert not chat_lost, f"answered turns without a trace in MLflow: {sorted(chat_lost)[:3]}"


async def _chat_until_crash(address: str, answered: list[str]) -> None:
    """Four clients chatting back to back until cancelled (or the server dies)."""
    stubs = Stubs(address)

    async def client(k: int) -> None:
        i = 0
        while True:
            i += 1
            try:
                reply = await stubs.chat.Chat(
                    chat_pb.ChatRequest(message=f"before the crash {k}-{i}"), timeout=10
                )
            except grpc.aio.AioRpcError:
                return
            answered.append(reply.trace_id)

    try:
        await asyncio.gather(*(client(k) for k in range(4)))
    finally:
        await stubs.close()
