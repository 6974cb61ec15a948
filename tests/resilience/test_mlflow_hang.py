"""MLflow hung (SIGSTOP: it accepts connections and never answers, like a frozen server or a
black-holed network) while the feedback server crashes and restarts: the restarted server
knows none of the traces, yet it must acknowledge judgments durably (QUEUED) without
waiting on MLflow, and store each exactly once after MLflow resumes.

Regression test: before the fix in FeedbackService._lookup_for_write, every write by an
unknown trace ID or client request ID waited for MLflow's HTTP timeout (10 s) in a shared
I/O pool, so a restarted server acknowledged nothing while MLflow hung."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from feedback.v1 import common_pb2

from testbed.poll import poll_async
from testbed.stats import percentile
from tests.resilience.harness import (
    DrainSampler,
    LoadResult,
    audit,
    chat_turns,
    experiment_traces,
    machine,
    ms,
    plan_judgments,
    run_load,
)

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(300)]

# Shorter than MLflow's HTTP timeout (10 s): an acknowledgment that waits on the hung
# MLflow cannot make it.
ACK_DEADLINE_S = 8.0


async def test_restart_during_mlflow_hang_still_acknowledges(
    mlflow_server_factory: Callable[..., Any],
    feedback_server_factory: Callable[..., Any],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    mlflow = await asyncio.to_thread(mlflow_server_factory, "sqlite")
    experiment = f"hang-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(feedback_server_factory, mlflow.url, experiment=experiment)
    traces = await chat_turns(server.address, 40, prefix="hang")
    wanted = {t.trace_id for t in traces}
    assert await poll_async(
        lambda: wanted <= set(experiment_traces(mlflow.url, experiment)),
        within_s=180,
        interval_s=1.0,
    ), "the chat traces did not reach MLflow"

    judgments = plan_judgments(traces, 160, tag="hang")
    result = LoadResult()
    try:
        mlflow.signal_group(signal.SIGSTOP)
        hung_at = time.monotonic()
        await asyncio.to_thread(server.kill)
        await asyncio.to_thread(server.start)  # a fresh process: no trace is known locally
        await run_load(
            server.address,
            judgments,
            concurrency=16,
            rate_per_s=40.0,
            result=result,
            deadline_s=ACK_DEADLINE_S,
        )
        acked_while_hung = len(result.acks)
    finally:
        mlflow.signal_group(signal.SIGCONT)
    resumed_at = time.monotonic()

    sampler = DrainSampler(server)
    drained = await sampler.wait_drained(within_s=180)
    assert drained is not None, f"spool not drained:\n{server.log_tail()}"
    stored_traces = await asyncio.to_thread(experiment_traces, mlflow.url, experiment)
    check = audit(stored_traces, result.acks.values(), "hang")
    figures = {
        "mlflow_hung_s": round(resumed_at - hung_at, 1),
        "requests": len(judgments),
        "acknowledged_while_hung": acked_while_hung,
        "failed": result.errors,
        "ack_latency_ms_p50_while_hung": ms(percentile(result.latencies, 50)),
        "ack_latency_ms_p99_while_hung": ms(percentile(result.latencies, 99)),
        **check.figures(),
        "drain_after_resume_s": round(drained.t - resumed_at, 1),
        "machine": machine(),
    }
    resilience_report("mlflow-hang-restart", figures)

    assert not result.errors, f"not acknowledged while MLflow hung: {result.errors}"
    assert all(a.state == common_pb2.INGESTION_STATE_QUEUED for a in result.acks.values())
    assert check.lost == 0 and check.duplicated == 0 and check.wrong_id == 0
    assert check.stored == check.expected_assessments
