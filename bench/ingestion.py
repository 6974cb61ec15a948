"""Ingestion: LogFeedback acknowledgments against the framework ceiling and the seed's design.

- `framework`: LogFeedback and the standard health Check, served by the same server
  process, driven by the same ghz settings, interleaved per concurrency (LogFeedback
  then Check) so both see the same background: the drainer writing the growing
  backlog to MLflow at full speed, as it would after any burst.
- `seed`: the seed's design (bench/seed_server.py: `mlflow.log_feedback` inside the
  handler) on the same MLflow server at the same concurrencies.
- `scale`: LogFeedback and Check with one server process, then two processes on the
  same port (SO_REUSEPORT, separate FEEDBACK_DATA_DIRs); ghz opens 16 connections so
  the kernel spreads them over the listeners.

LogFeedback targets 64 traces made by the service's Chat, round-robin, so that
what is measured is the acknowledgment path (validation, durable spool write), not
the lookup of unknown trace IDs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from .common import CpuMeter, load_avg, log
from .ghz import run_ghz

LOG_FEEDBACK = "feedback.v1.FeedbackService/LogFeedback"
HEALTH_CHECK = "grpc.health.v1.Health/Check"
CONCURRENCIES = (1, 16, 64)


def feedback_requests(trace_ids: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "target": {"traceId": t},
            "name": "user_feedback",
            "value": {"boolean": i % 3 != 0},
            "source": {"type": "SOURCE_TYPE_HUMAN", "id": f"user-{i % 50}"},
        }
        for i, t in enumerate(trace_ids)
    ]


def _run(
    port: int,
    call: str,
    data: Any,
    c: int,
    seconds: float,
    protoset: Path,
    meter: CpuMeter | None,
    rps: float | None = None,
) -> dict[str, Any]:
    if meter is not None:
        meter.start()
    result = run_ghz(
        port, call, data=data, concurrency=c, duration_s=seconds, protoset=protoset, rps=rps
    )
    if meter is not None:
        result["cpu_pct"] = meter.stop()
    result["load_avg"] = load_avg()
    return result


#: Open-loop rates LogFeedback is offered at (16 workers, calls started on schedule).
OPEN_RATES = (100.0, 500.0)


def _batch_counts(metrics: Callable[[], dict[str, float]] | None) -> tuple[float, float]:
    m = metrics() if metrics is not None else {}
    return (
        m.get("feedback_spool_commit_batch_size_sum", 0.0),
        m.get("feedback_spool_commit_batch_size_count", 0.0),
    )


def framework(
    port: int,
    trace_ids: list[str],
    protoset: Path,
    *,
    seconds: float,
    meter: CpuMeter | None = None,
    stall_mlflow: Callable[[], AbstractContextManager[None]] | None = None,
    concurrencies: tuple[int, ...] = CONCURRENCIES,
    at_half_check: bool = True,
    metrics: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """LogFeedback against Check at each concurrency (closed loop), then LogFeedback offered
    at fixed rates (open loop); `metrics` (the server's /metrics) gives the operations per
    spool commit during the C=16 run."""
    data = feedback_requests(trace_ids)
    # Warm-up (not reported): code paths, connections, and a drain backlog.
    run_ghz(port, LOG_FEEDBACK, data=data, concurrency=16, duration_s=1.5, protoset=protoset)
    run_ghz(port, HEALTH_CHECK, data={}, concurrency=16, duration_s=0.5, protoset=protoset)
    runs: dict[str, Any] = {}
    batch: float | None = None
    for c in concurrencies:
        before = _batch_counts(metrics)
        lf = _run(port, LOG_FEEDBACK, data, c, seconds, protoset, meter)
        after = _batch_counts(metrics)
        if c == 16 and after[1] > before[1]:
            batch = round((after[0] - before[0]) / (after[1] - before[1]), 1)
        hc = _run(port, HEALTH_CHECK, {}, c, seconds, protoset, meter)
        runs[str(c)] = {
            "log_feedback": lf,
            "health_check": hc,
            "rps_ratio": round(lf["rps"] / hc["rps"], 3) if hc["rps"] else None,
        }
        log(
            f"ingestion C={c}: LogFeedback {lf['rps']:.0f}/s p99 {lf['p99_ms']:.1f} ms, "
            f"Check {hc['rps']:.0f}/s p99 {hc['p99_ms']:.1f} ms"
        )
    c16 = runs["16"]
    figures: dict[str, Any] = {f"rps_ratio_c{c}": runs[str(c)]["rps_ratio"] for c in concurrencies}
    figures |= {
        "log_feedback_rps_c16": c16["log_feedback"]["rps"],
        "health_rps_c16": c16["health_check"]["rps"],
        "log_feedback_p99_ms_c16": c16["log_feedback"]["p99_ms"],
        "health_p99_ms_c16": c16["health_check"]["p99_ms"],
        "commit_batch_size_c16": batch,
    }
    rates = [(f"{r:.0f}rps", r) for r in OPEN_RATES]
    if at_half_check:
        # The earlier target's rate: half of what Check sustains at C=16.
        rates.append(("half_check", 0.5 * c16["health_check"]["rps"]))
    for key, rate in rates:
        # Open loop: latency at that load, not at saturation (where any closed loop's
        # latency is C / throughput).
        at_rate = _run(port, LOG_FEEDBACK, data, 16, seconds, protoset, meter, rps=rate)
        at_rate["offered_rps"] = round(rate, 1)
        runs[f"16_at_{key}"] = {"log_feedback": at_rate}
        log(
            f"ingestion C=16 at {rate:.0f}/s offered: LogFeedback {at_rate['rps']:.0f}/s "
            f"p50 {at_rate['p50_ms']:.1f} ms p99 {at_rate['p99_ms']:.1f} ms"
        )
        figures |= {
            f"log_feedback_rps_at_{key}": at_rate["rps"],
            f"log_feedback_p50_ms_at_{key}": at_rate["p50_ms"],
            f"log_feedback_p99_ms_at_{key}": at_rate["p99_ms"],
        }
        if key in ("100rps", "500rps"):  # the machine's own tail at that rate
            check = _run(port, HEALTH_CHECK, {}, 16, seconds, protoset, meter, rps=rate)
            runs[f"16_at_{key}"]["health_check"] = check
            figures[f"health_p99_ms_at_{key}"] = check["p99_ms"]
            log(
                f"  Check at {rate:.0f}/s: p50 {check['p50_ms']:.1f} ms"
                f" p99 {check['p99_ms']:.1f} ms"
            )
    if stall_mlflow is not None:
        # The acknowledgment path alone: MLflow is stopped (SIGSTOP), so the drainer's and
        # the exporter's calls hang instead of using the server's CPU (and MLflow's).
        with stall_mlflow():
            time.sleep(0.5)
            lf = _run(port, LOG_FEEDBACK, data, 16, seconds, protoset, meter)
            hc = _run(port, HEALTH_CHECK, {}, 16, seconds, protoset, meter)
        runs["16_mlflow_stalled"] = {
            "log_feedback": lf,
            "health_check": hc,
            "rps_ratio": round(lf["rps"] / hc["rps"], 3) if hc["rps"] else None,
        }
        log(
            f"ingestion C=16, MLflow stalled: LogFeedback {lf['rps']:.0f}/s p99 "
            f"{lf['p99_ms']:.1f} ms, Check {hc['rps']:.0f}/s p99 {hc['p99_ms']:.1f} ms"
        )
        figures |= {
            "rps_ratio_c16_mlflow_stalled": runs["16_mlflow_stalled"]["rps_ratio"],
            "log_feedback_rps_c16_mlflow_stalled": lf["rps"],
            "log_feedback_p99_ms_c16_mlflow_stalled": lf["p99_ms"],
        }
    return {"seconds_per_run": seconds, "runs": runs, "figures": figures}


def seed(
    port: int,
    trace_ids: list[str],
    protoset: Path,
    ours: dict[str, Any],
    *,
    seconds: float,
    meter: CpuMeter | None = None,
) -> dict[str, Any]:
    data = feedback_requests(trace_ids)
    run_ghz(port, LOG_FEEDBACK, data=data, concurrency=4, duration_s=1.0, protoset=protoset)
    runs: dict[str, Any] = {}
    for c in CONCURRENCIES:
        s = _run(port, LOG_FEEDBACK, data, c, seconds, protoset, meter)
        mine = ours["runs"][str(c)]["log_feedback"]
        runs[str(c)] = {
            "seed": s,
            "service_rps": mine["rps"],
            "rps_ratio": round(mine["rps"] / s["rps"], 1) if s["rps"] else None,
            "p50_ratio": round(s["p50_ms"] / mine["p50_ms"], 1) if mine["p50_ms"] else None,
        }
        log(f"seed C={c}: {s['rps']:.1f}/s p99 {s['p99_ms']:.0f} ms (errors {s['errors']})")
    figures = {f"rps_ratio_c{c}": runs[str(c)]["rps_ratio"] for c in CONCURRENCIES}
    figures["seed_rps_c16"] = runs["16"]["seed"]["rps"]
    normal = ours.get("runs_normal", {}).get("16")
    if normal and runs["16"]["seed"]["rps"]:  # the service at FEEDBACK_SPOOL_SYNC=normal
        figures["rps_ratio_c16_normal"] = round(
            normal["log_feedback"]["rps"] / runs["16"]["seed"]["rps"], 1
        )
    stalled = ours["runs"].get("16_mlflow_stalled")
    if stalled and runs["16"]["seed"]["rps"]:
        figures["rps_ratio_c16_ack_path_alone"] = round(
            stalled["log_feedback"]["rps"] / runs["16"]["seed"]["rps"], 1
        )
    return {"seconds_per_run": seconds, "runs": runs, "figures": figures}


def scale_point(
    port: int,
    trace_ids: list[str],
    protoset: Path,
    *,
    seconds: float,
    concurrency: int = 64,
    meter: CpuMeter | None = None,
) -> dict[str, Any]:
    data = feedback_requests(trace_ids)
    kw: dict[str, Any] = {"concurrency": concurrency, "connections": 16, "protoset": protoset}
    # Warm-up: every process meets every trace once (a process that did not make a trace
    # asks MLflow once whether it exists) and has a drain backlog.
    run_ghz(port, LOG_FEEDBACK, data=data, duration_s=2.0, **kw)
    out = {}
    for name, call, payload in (
        ("log_feedback", LOG_FEEDBACK, data),
        ("health_check", HEALTH_CHECK, {}),
    ):
        if meter is not None:
            meter.start()
        out[name] = run_ghz(port, call, data=payload, duration_s=seconds, **kw)
        if meter is not None:
            out[name]["cpu_pct"] = meter.stop()
        out[name]["load_avg"] = load_avg()
    return out
