"""MLflow killed (SIGKILL) in the middle of a judgment load, restarted later on the same
port and store: every acknowledged judgment ends up in MLflow exactly once, and the
judgments sent during the outage were acknowledged as QUEUED.

The outage: MLflow is SIGKILLed ~5 s into the load, stays dead for OUTAGE_S (20 s; 10 s in
the PostgreSQL smoke) and is then restarted on the same port and store; its start-up adds
10-40 s on a busy 2-core machine, so the measured `outage_s` (kill -> healthy again, in the
figures) is typically 30-60 s. FEEDBACK_RESILIENCE_OUTAGE_S changes the dead time.

Chat turns need MLflow for their traces, so the traces are created and confirmed in MLflow
before the outage; feedback on them keeps coming during it.
"""

from __future__ import annotations

import asyncio
import os
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
    mlflow_feedback_ceiling,
    ms,
    plan_judgments,
    run_load,
)

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(420)]

OUTAGE_S = float(os.environ.get("FEEDBACK_RESILIENCE_OUTAGE_S", "20"))
QUEUED = common_pb2.INGESTION_STATE_QUEUED

# backend -> (traces, max requests, requests/s, seconds MLflow stays dead before its
# restart): PostgreSQL runs a smaller smoke of the same flow.
SIZES = {
    "sqlite": (100, 700, 15.0, OUTAGE_S),
    "postgres": (60, 300, 8.0, OUTAGE_S / 2),
}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_mlflow_outage_loses_and_duplicates_nothing(
    backend: str,
    mlflow_server_factory: Callable[..., Any],
    feedback_server_factory: Callable[..., Any],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    n_traces, max_requests, rate, dead_s = SIZES[backend]
    mlflow = await asyncio.to_thread(mlflow_server_factory, backend)
    experiment = f"outage-{backend}-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(feedback_server_factory, mlflow.url, experiment=experiment)

    # Traces first, confirmed in MLflow (a chat turn needs MLflow to store its trace).
    traces = await chat_turns(server.address, n_traces, prefix=f"o{backend[:2]}")
    wanted = {t.trace_id for t in traces}
    in_mlflow = await poll_async(
        lambda: wanted <= set(experiment_traces(mlflow.url, experiment)),
        within_s=180,
        interval_s=1.0,
    )
    assert in_mlflow, "the chat traces did not reach MLflow before the outage"

    judgments = plan_judgments(traces, max_requests, tag="out")
    stop = asyncio.Event()
    result = LoadResult()
    sampler = DrainSampler(server).start()
    load = asyncio.create_task(
        run_load(
            server.address, judgments, concurrency=16, rate_per_s=rate, result=result, stop=stop
        )
    )
    try:
        await asyncio.sleep(5)
        killed_at = time.monotonic()
        await asyncio.to_thread(mlflow.kill)
        await asyncio.sleep(dead_s)
        await asyncio.to_thread(mlflow.start)
        back_at = time.monotonic()
        await asyncio.sleep(3)
        stop.set()
        await load
        load_done = time.monotonic()
        drained = await sampler.wait_drained(within_s=240, not_before=load_done)
    finally:
        stop.set()
        await sampler.stop()
        if not load.done():
            load.cancel()
    assert drained is not None, f"spool not drained:\n{server.log_tail()}"

    # Acknowledged during the outage: durably queued, nothing refused.
    during = [a for a in result.acks.values() if killed_at + 0.5 < a.at < back_at]
    assert during, "no judgment was sent during the outage"
    assert all(a.state == QUEUED for a in during)
    assert not result.errors, f"calls failed: {result.errors}"
    assert not result.unacknowledged

    stored_traces = await asyncio.to_thread(experiment_traces, mlflow.url, experiment)
    check = audit(stored_traces, result.acks.values(), "out")
    ceiling = await asyncio.to_thread(
        mlflow_feedback_ceiling, mlflow.url, sorted(wanted), threads=16, seconds=6
    )
    metrics = server.metrics()
    figures = {
        "backend": backend,
        "outage_s": round(back_at - killed_at, 1),
        "mlflow_restart_s": round(mlflow.startup_seconds[-1], 1),
        "requests_acknowledged": len(result.acks),
        "requests_acknowledged_during_outage": len(during),
        **check.figures(),
        "dead_letters": metrics.get("feedback_spool_dead_letters"),
        "ack_latency_ms_p50": ms(percentile(result.latencies, 50)),
        "ack_latency_ms_p99": ms(percentile(result.latencies, 99)),
        "ack_latency_ms_max": ms(max(result.latencies)),
        "drain_after_restart": sampler.drain_figures(back_at, drained.t),
        "mlflow_log_feedback_ceiling": ceiling,
        "machine": machine(),
    }
    resilience_report(f"mlflow-outage-{backend}", figures)

    assert check.lost == 0, check.missing_examples
    assert check.duplicated == 0
    assert check.wrong_id == 0
    assert check.unexpected == 0
    assert check.stored == check.expected_assessments
    assert metrics.get("feedback_spool_dead_letters") == 0
    # Regression: MLflow's HTTP pool was smaller than the threads calling it.
    assert "Connection pool is full" not in server.log_text()
