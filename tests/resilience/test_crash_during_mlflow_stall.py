"""The crash that used to lose everything: MLflow stalled (SIGSTOP: it accepts connections
and never answers), N chat turns answered and each judged (a 👎, acknowledged), the feedback
server SIGKILLed (an OOM kill, a node loss) and restarted on the same data dir, then MLflow
resumed (SIGCONT). Every answered turn's trace and every acknowledged judgment ends up in
MLflow, and nothing is dead-lettered.

Before durable traces, the answers were returned while their traces were only in memory:
0 of 60 traces and 0 of 60 judgments reached MLflow (the judgments waited for traces that
never came and were dead-lettered after the TTL). Also checked: after the restart, feedback
on those traces (by trace ID and by client request ID) is accepted, and the drainer waits for
their export instead of asking MLflow for traces it does not have yet
(`feedback_drain_attempts_total{result="trace_not_found"}` stays 0).

It runs at both durability levels (FEEDBACK_SPOOL_SYNC full and normal).
FEEDBACK_RESILIENCE_STALL_TURNS sets N (default 60, as in the report of the issue)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb

from testbed.poll import poll_async
from tests.resilience.harness import Stubs, experiment_traces, machine

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(420)]

TURNS = int(os.environ.get("FEEDBACK_RESILIENCE_STALL_TURNS", "60"))
AFTER_RESTART = 10  # more judgments on the pre-crash traces, sent while MLflow still stalls
QUEUED = common_pb2.INGESTION_STATE_QUEUED


def _thumbs_down(target: common_pb2.TraceRef, name: str, request_id: str) -> Any:
    return fb_pb.LogFeedbackRequest(
        target=target,
        name=name,
        value=common_pb2.FeedbackValue(boolean=False),
        source=common_pb2.Source(id="user-stall"),
        request_id=request_id,
    )


async def _turn_and_judge(stubs: Stubs, i: int) -> tuple[str, str, int]:
    reply = await stubs.chat.Chat(
        chat_pb.ChatRequest(message=f"stalled question {i}", client_request_id=f"stall-{i}"),
        timeout=30,
    )
    ack = await stubs.feedback.LogFeedback(
        _thumbs_down(common_pb2.TraceRef(trace_id=reply.trace_id), "stall_before", f"sb-{i}"),
        timeout=30,
    )
    return reply.trace_id, reply.client_request_id, ack.state


@pytest.mark.parametrize("sync", ["full", "normal"])  # FEEDBACK_SPOOL_SYNC
async def test_a_crash_while_mlflow_stalls_loses_no_answered_turn_and_no_judgment(
    sync: str,
    mlflow_server_factory: Callable[..., Any],
    feedback_server_factory: Callable[..., Any],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    mlflow = await asyncio.to_thread(mlflow_server_factory, "sqlite")
    experiment = f"stall-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory, mlflow.url, experiment=experiment, FEEDBACK_SPOOL_SYNC=sync
    )
    stubs = Stubs(server.address)
    warm = await stubs.chat.Chat(chat_pb.ChatRequest(message="warm-up"), timeout=60)
    assert await poll_async(
        lambda: warm.trace_id in experiment_traces(mlflow.url, experiment), 120, interval_s=0.5
    ), "the warm-up trace did not reach MLflow"

    mlflow.signal_group(signal.SIGSTOP)
    stalled_at = time.monotonic()
    try:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> tuple[str, str, int]:
            async with sem:
                return await _turn_and_judge(stubs, i)

        answered = await asyncio.gather(*(one(i) for i in range(TURNS)))
        answered_in_s = time.monotonic() - stalled_at
        await stubs.close()
        assert all(state == QUEUED for _, _, state in answered)

        await asyncio.to_thread(server.kill)  # SIGKILL: no graceful shutdown
        killed_at = time.monotonic()
        await asyncio.to_thread(server.start)  # same data dir, same address; MLflow still stalled
        restart_s = time.monotonic() - killed_at

        # Feedback on the pre-crash traces is accepted (the restarted server knows them).
        stubs = Stubs(server.address)
        after = []
        for i, (trace_id, crid, _) in enumerate(answered[:AFTER_RESTART]):
            target = (
                common_pb2.TraceRef(client_request_id=crid)
                if i % 2
                else common_pb2.TraceRef(trace_id=trace_id)
            )
            ack = await stubs.feedback.LogFeedback(
                _thumbs_down(target, "stall_after", f"sa-{i}"), timeout=30
            )
            assert ack.trace_id == trace_id and ack.state == QUEUED
            after.append(trace_id)
        await stubs.close()
    finally:
        mlflow.signal_group(signal.SIGCONT)
    resumed_at = time.monotonic()

    wanted = {t for t, _, _ in answered}

    def landed() -> bool:
        traces = experiment_traces(mlflow.url, experiment)
        return (
            wanted <= set(traces)
            and all({a.name for a in traces[t]} >= {"stall_before"} for t in wanted)
            and all("stall_after" in {a.name for a in traces[t]} for t in after)
        )

    assert await poll_async(landed, within_s=240, interval_s=1.0), server.log_tail()
    all_in_s = time.monotonic() - resumed_at
    assert await poll_async(
        lambda: server.metrics().get("feedback_spool_depth") == 0
        and server.metrics().get("feedback_traces_pending") == 0,
        within_s=60,
    )
    traces = await asyncio.to_thread(experiment_traces, mlflow.url, experiment)
    metrics = server.metrics()
    judgments = [a for t in wanted for a in traces[t] if a.name.startswith("stall_")]
    per_trace = {t: sorted(a.name for a in traces[t]) for t in wanted}
    figures = {
        "turns_answered_while_mlflow_stalled": len(answered),
        "judgments_acknowledged": len(answered) + len(after),
        "traces_in_mlflow": len(wanted & set(traces)),
        "judgments_in_mlflow": len(judgments),
        "dead_letters": metrics.get("feedback_spool_dead_letters"),
        "trace_dead_letters": metrics.get("feedback_trace_dead_letters"),
        "drain_trace_not_found_after_restart": metrics.get(
            'feedback_drain_attempts_total{result="trace_not_found"}'
        ),
        "turns_and_judgments_took_s": round(answered_in_s, 1),
        "restart_s": round(restart_s, 1),
        "all_in_mlflow_after_resume_s": round(all_in_s, 1),
        "machine": machine(),
    }
    resilience_report(f"crash-during-mlflow-stall-sync-{sync}", figures)

    assert len(wanted) == TURNS
    assert wanted <= set(traces)
    assert len(judgments) == TURNS + AFTER_RESTART  # each exactly once
    assert all(names.count("stall_before") == 1 for names in per_trace.values())
    assert metrics.get("feedback_spool_dead_letters") == 0
    assert metrics.get("feedback_trace_dead_letters") == 0
    assert metrics.get('feedback_drain_attempts_total{result="trace_not_found"}') == 0
    for trace_id, crid, _ in answered[:3]:
        info = next(
            t
            for t in await asyncio.to_thread(_traces_with_info, mlflow.url, experiment)
            if t.trace_id == trace_id
        )
        assert info.client_request_id == crid and info.state.value == "OK"


def _traces_with_info(url: str, experiment: str) -> list[Any]:
    from mlflow.tracing.client import TracingClient
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(url).get_experiment_by_name(experiment)
    assert exp is not None
    return [t.info for t in TracingClient(url).search_traces(experiment_ids=[exp.experiment_id])]
