"""SummarizeFeedback over 1k, 10k and 100k judged traces: the service (counted by the
MLflow tracking server) against the seed's `analyze_user_feedback` and the scan it
replaced, on the same store, with every figure checked against a recount.

For each size, one experiment of an MLflow server (SQLite store) is seeded directly through
MLflow's own SQLAlchemy models (bench/summary_store.py: thumbs from several users, some
changed, some retracted, anonymous ones, ratings, comments, over the last 20 hours), then:

- `service`: SummarizeFeedback of the last 24 hours through a feedback server (gRPC), the
  median of 5 calls (after one warm-up); also with hourly buckets and with a user filter;
- `exact`: its figures equal `summary_store.recount` (plain SQL over the store);
- `seed`: the seed's code (/work/shared/seeds: `get_recent_traces` then
  `analyze_user_feedback`, one `get_trace` per trace), given every trace of the window
  (the seed's own call returns the first 100 only); run in full up to `seed_max` traces,
  above that estimated from the per-trace time measured at the largest size it ran;
- `old_scan`: the scan this service used before (pages of 500 `search_traces` with their
  assessments, counted client-side, stopping at 10,000 traces: `truncated` beyond).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from .common import Stack, feedback_server, load_avg, log
from .summary_store import recount, seed

SIZES = (1_000, 10_000, 100_000)
WINDOW_MS = 24 * 3600 * 1000
OLD_SCAN_CAP = 10_000


def _timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def _service_figures(port: int, start_ms: int, end_ms: int, **kw: Any) -> tuple[float, Any]:
    """The median time of 5 SummarizeFeedback calls (after a warm-up), and the answer."""
    from feedback.v1 import feedback_service_pb2 as fb
    from feedback.v1 import feedback_service_pb2_grpc

    hourly = kw.pop("hourly", False)
    request = fb.SummarizeFeedbackRequest(**kw)
    request.start_time.FromMilliseconds(start_ms)
    request.end_time.FromMilliseconds(end_ms)
    if hourly:
        request.interval.FromSeconds(3600)
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
        stub.SummarizeFeedback(request, timeout=600)
        times, answer = [], None
        for _ in range(5):
            seconds, answer = _timed(stub.SummarizeFeedback, request, timeout=600)
            times.append(seconds)
    return statistics.median(times), answer


def _exact(answer: Any, truth: dict[str, Any]) -> bool:
    averages = dict(answer.average_ratings)
    return bool(
        answer.total_traces == truth["total_traces"]
        and answer.traces_with_feedback == truth["traces_with_feedback"]
        and answer.positive_count == truth["positive_count"]
        and answer.negative_count == truth["negative_count"]
        and set(averages) == set(truth["average_ratings"])
        and all(abs(averages[k] - v) < 1e-9 for k, v in truth["average_ratings"].items())
    )


def seed_analysis(tracking_uri: str, experiment_id: str, start_ms: int) -> dict[str, Any]:
    """The seed's `get_recent_traces` + `analyze_user_feedback`, as written there, except
    that every trace of the window is listed (paged) instead of the first 100."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    traces: list[Any] = []
    token = None
    while True:
        page = client.search_traces(
            locations=[experiment_id],
            filter_string=f"trace.timestamp_ms > {start_ms}",
            max_results=500,
            page_token=token,
        )
        traces += page
        token = page.token
        if not token:
            break
    # analyze_user_feedback(traces); MLflow 3.17 keeps a trace's assessments in
    # `trace.info.assessments` (the seed reads `trace.data.assessments`).
    total_traces = len(traces)
    traces_with_feedback = positive_count = negative_count = 0
    for trace in traces:
        trace_detail = client.get_trace(trace.info.trace_id)
        if trace_detail.info.assessments:
            traces_with_feedback += 1
            for assessment in trace_detail.info.assessments:
                if assessment.name == "user_feedback":
                    if assessment.value:
                        positive_count += 1
                    else:
                        negative_count += 1
    return {
        "total_traces": total_traces,
        "traces_with_feedback": traces_with_feedback,
        "positive_count": positive_count,
        "negative_count": negative_count,
    }


def old_scan(tracking_uri: str, experiment_id: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    """The replaced implementation (searches.scan_traces + FeedbackService.summarize)."""
    from mlflow.tracing.client import TracingClient

    client = TracingClient(tracking_uri)
    rows: list[Any] = []
    token = None
    truncated = False
    while True:
        page = client.search_traces(
            experiment_ids=[experiment_id],
            filter_string=f"trace.timestamp_ms >= {start_ms} AND trace.timestamp_ms < {end_ms}",
            max_results=min(500, OLD_SCAN_CAP - len(rows) + 1),
            order_by=["timestamp_ms DESC"],
            page_token=token,
            include_spans=False,
        )
        rows += [t.info for t in page]
        if len(rows) > OLD_SCAN_CAP:
            rows, truncated = rows[:OLD_SCAN_CAP], True
            break
        token = page.token
        if not token:
            break
    with_feedback = positive = negative = 0
    for info in rows:
        has = False
        for a in info.assessments or []:
            if a.valid is False or getattr(a, "feedback", None) is None:
                continue
            if a.name == "user_feedback" and isinstance(a.value, bool):
                has = True
                positive += a.value
                negative += not a.value
        with_feedback += has
    return {
        "total_traces": len(rows),
        "traces_with_feedback": with_feedback,
        "positive_count": positive,
        "negative_count": negative,
        "truncated": truncated,
    }


def measure(stack: Stack, work: Path, *, seed_max: int) -> dict[str, Any]:
    import mlflow

    from testbed.mlflow_server import MlflowServer

    server = MlflowServer.sqlite(work / "mlflow-summary")
    stack.add(server.close)
    server.start()
    mlflow.set_tracking_uri(server.url)
    sizes: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    per_trace_seed_s: float | None = None
    for n in SIZES:
        label = f"{n // 1000}k"
        name = f"bench-summary-{n}"
        experiment_id = mlflow.create_experiment(name)
        end_ms = int(time.time() * 1000)
        start_ms = end_ms - WINDOW_MS
        seed_s, seeded = _timed(
            seed,
            server.backend_store_uri,
            experiment_id,
            n,
            start_ms=end_ms - 20 * 3600 * 1000,
            end_ms=end_ms - 1000,
            seed=n,
        )
        log(
            f"summary {label}: seeded {seeded.traces} traces, {seeded.assessments} assessments "
            f"in {seed_s:.1f} s"
        )
        truth = recount(server.backend_store_uri, experiment_id, start_ms, end_ms)
        service = feedback_server(
            stack, work, f"server-summary-{n}", tracking_uri=server.url, experiment=name
        ).wait_serving()
        service_s, answer = _service_figures(service.port, start_ms, end_ms)
        buckets_s, bucketed = _service_figures(service.port, start_ms, end_ms, hourly=True)
        user_s, _ = _service_figures(service.port, start_ms, end_ms, user_id="u7")
        service.stop(3)
        exact = _exact(answer, truth) and _exact(bucketed, truth)
        old_s, old = _timed(old_scan, server.url, experiment_id, start_ms, end_ms)
        point: dict[str, Any] = {
            "traces": seeded.traces,
            "assessments": seeded.assessments,
            "seed_store_s": round(seed_s, 1),
            "service_ms": round(service_s * 1000, 1),
            "service_hourly_buckets_ms": round(buckets_s * 1000, 1),
            "service_user_filter_ms": round(user_s * 1000, 1),
            "exact": exact,
            "truth": truth,
            "old_scan_s": round(old_s, 2),
            "old_scan": old,
            "old_scan_exact": old["total_traces"] == truth["total_traces"]
            and old["positive_count"] == truth["positive_count"],
        }
        if n <= seed_max:
            seed_code_s, seeds = _timed(seed_analysis, server.url, experiment_id, start_ms)
            per_trace_seed_s = seed_code_s / max(1, n)
            point |= {"seed_code_s": round(seed_code_s, 1), "seed_code": seeds}
        elif per_trace_seed_s is not None:
            seed_code_s = per_trace_seed_s * n
            point |= {"seed_code_s_estimated": round(seed_code_s, 1)}
        point["ratio_vs_seed"] = round(seed_code_s / service_s, 1)
        point["ratio_vs_old_scan"] = round(old_s / service_s, 1)
        point["load_avg"] = load_avg()
        sizes[label] = point
        figures |= {
            f"service_ms_{label}": point["service_ms"],
            f"ratio_vs_seed_{label}": point["ratio_vs_seed"],
            f"ratio_vs_old_scan_{label}": point["ratio_vs_old_scan"],
            f"exact_{label}": int(exact),
        }
        log(
            f"summary {label}: service {point['service_ms']:.0f} ms (hourly buckets "
            f"{point['service_hourly_buckets_ms']:.0f} ms), exact={exact}; seed's code "
            f"{seed_code_s:.1f} s{'' if n <= seed_max else ' (estimated)'} = "
            f"{point['ratio_vs_seed']}x; old scan {old_s:.1f} s = {point['ratio_vs_old_scan']}x"
            f"{' (truncated)' if old['truncated'] else ''}"
        )
    server.stop()
    return {"sizes": sizes, "seed_max": seed_max, "figures": figures}
