"""Export and drain: what reaches MLflow per second, against MLflow's own ceiling.

For one MLflow server (SQLite or PostgreSQL store):

1. traces, ceiling: N threads exporting two-span traces directly (bench/mlflow_direct.py);
2. traces, service: 32 clients call Chat back to back; the service exports each turn's
   trace from its export pool (FEEDBACK_EXPORT_WORKERS threads), and admits a turn only
   while fewer than FEEDBACK_EXPORT_MAX_PENDING wait, so Chat settles at the export rate;
3. judgments, ceiling: N threads calling `mlflow.log_feedback` directly;
4. judgments, service: a burst of LogFeedback acknowledgments fills the spool, then the
   drainer (FEEDBACK_DRAIN_CONCURRENCY writes in flight) writes the backlog to MLflow.

The ceiling is the best of N = 8 and N = 16 threads, one measured before the service and
one after it, so that drift hits both sides. "Reaching MLflow" is counted in MLflow's own
store (rows of `trace_info` and `assessments` of the experiment), sampled at the start and
at the end of a steady window, the same way for the ceiling and for the service.
Judgments target 200 different traces (judgments on one trace are written in order, one
at a time). The load clients are Python (grpc.aio): these phases are bound by MLflow, at
tens of calls per second, not by the client.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from .common import BIN, ROOT, log

TRACE_TARGETS = 200


class StoreCounter:
    """Counts an experiment's traces and assessments directly in MLflow's database."""

    def __init__(self, backend_store_uri: str, libpq_uri: str | None = None) -> None:
        self.uri = backend_store_uri
        self._libpq = libpq_uri
        self._lock = threading.Lock()

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            if self.uri.startswith("sqlite:"):
                path = self.uri.split(":///", 1)[1]
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
                try:
                    return conn.execute(sql.replace("%s", "?"), params).fetchall()
                finally:
                    conn.close()
            import psycopg2

            conn = psycopg2.connect(self._libpq)
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, params)
                    return list(cur.fetchall())
            finally:
                conn.close()

    def experiment_id(self, name: str) -> str:
        rows = self._query("SELECT experiment_id FROM experiments WHERE name = %s", (name,))
        if not rows:
            raise RuntimeError(f"experiment {name!r} not in the store")
        return str(rows[0][0])

    def counts(self, experiment_id: str) -> tuple[int, int]:
        eid = int(experiment_id)
        traces = self._query("SELECT COUNT(*) FROM trace_info WHERE experiment_id = %s", (eid,))
        judged = self._query("SELECT COUNT(*) FROM assessments WHERE experiment_id = %s", (eid,))
        return int(traces[0][0]), int(judged[0][0])

    def trace_ids(self, experiment_id: str, limit: int) -> list[str]:
        rows = self._query(
            "SELECT request_id FROM trace_info WHERE experiment_id = %s "
            "ORDER BY timestamp_ms LIMIT %s",
            (int(experiment_id), limit),
        )
        return [str(r[0]) for r in rows]


def _window_rate(
    counter: StoreCounter,
    experiment_id: str,
    index: int,
    warm_s: float,
    window_s: float,
    stop_when: Callable[[int], bool] | None = None,
) -> dict[str, Any]:
    """Samples the count (`index` 0 = traces, 1 = assessments) after `warm_s`, then at
    the end of `window_s` (or earlier when `stop_when(count)` holds); returns the rate."""
    time.sleep(warm_s)
    c0, t0 = counter.counts(experiment_id)[index], time.monotonic()
    c1, t1 = c0, t0
    while time.monotonic() - t0 < window_s:
        time.sleep(0.25)
        c1, t1 = counter.counts(experiment_id)[index], time.monotonic()
        if stop_when is not None and stop_when(c1):
            break
    return {
        "count": c1 - c0,
        "window_s": round(t1 - t0, 2),
        "rate": round((c1 - c0) / (t1 - t0), 2),
    }


def _direct(
    mode: str, uri: str, experiment: str, threads: int, seconds: float, trace_file: Path | None
) -> subprocess.Popen[str]:
    argv = [
        str(BIN / "python"),
        "-m",
        "bench.mlflow_direct",
        mode,
        "--uri",
        uri,
        "--experiment",
        experiment,
        "--threads",
        str(threads),
        "--seconds",
        str(seconds),
    ]
    if trace_file is not None:
        argv += ["--trace-ids", str(trace_file)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "START":
        proc.kill()
        raise RuntimeError(f"bench.mlflow_direct did not start: {line!r}")
    return proc


def _finish_direct(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = proc.communicate(timeout=120)
    lines = [x for x in out.splitlines() if x.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


async def _chat_load(port: int, concurrency: int, seconds: float) -> dict[str, Any]:
    """`concurrency` clients calling Chat back to back for `seconds` (grpc.aio)."""
    from feedback.v1 import chat_service_pb2 as pb
    from feedback.v1 import chat_service_pb2_grpc

    ok = failed = 0
    deadline = time.monotonic() + seconds
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = chat_service_pb2_grpc.ChatServiceStub(channel)

        async def worker(i: int) -> None:
            nonlocal ok, failed
            n = 0
            while time.monotonic() < deadline:
                n += 1
                try:
                    await stub.Chat(pb.ChatRequest(message=f"drain turn {i}-{n}"), timeout=60)
                    ok += 1
                except grpc.aio.AioRpcError:
                    failed += 1

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return {"ok": ok, "failed": failed, "rps": round(ok / seconds, 1)}


async def _feedback_burst(port: int, trace_ids: list[str], total: int) -> dict[str, Any]:
    """`total` LogFeedback calls from 64 concurrent clients (grpc.aio), round-robin targets."""
    from feedback.v1 import common_pb2, feedback_service_pb2_grpc
    from feedback.v1 import feedback_service_pb2 as pb

    requests = [
        pb.LogFeedbackRequest(
            target=common_pb2.TraceRef(trace_id=t),
            name="user_feedback",
            value=common_pb2.FeedbackValue(boolean=True),
        )
        for t in trace_ids
    ]
    ok = failed = 0
    next_i = 0
    t0 = time.monotonic()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = feedback_service_pb2_grpc.FeedbackServiceStub(channel)

        async def worker() -> None:
            nonlocal ok, failed, next_i
            while next_i < total:
                i = next_i
                next_i += 1
                try:
                    await stub.LogFeedback(requests[i % len(requests)], timeout=60)
                    ok += 1
                except grpc.aio.AioRpcError:
                    failed += 1

        await asyncio.gather(*(worker() for _ in range(64)))
    elapsed = time.monotonic() - t0
    return {"ok": ok, "failed": failed, "rps": round(ok / elapsed, 1)}


def wait_stable(counter: StoreCounter, eid: str, index: int, target: int, timeout_s: float) -> int:
    """Waits until the count reaches `target` (or stops growing for 5 s); returns it."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = counter.counts(eid)[index]
        if now >= target:
            return now
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > 5:
            return now
        time.sleep(0.25)
    return last


def measure(
    *,
    store: str,
    counter: StoreCounter,
    tracking_uri: str,
    experiment: str,
    service_port: int,
    work: Path,
    warm_s: float,
    window_s: float,
    threads: tuple[int, ...] = (8, 16),
    chat_concurrency: int = 32,
) -> dict[str, Any]:
    """See the module docstring. The ceiling is the best of `threads` direct clients,
    measured before and after the service (so drift hits both sides)."""
    seconds = warm_s + window_s + 1
    # The service's experiment exists once it served one call: make one.
    asyncio.run(_chat_load(service_port, 1, 0.01))
    eid = counter.experiment_id(experiment)

    def ceiling(mode: str, n: int, trace_file: Path | None) -> dict[str, Any]:
        proc = _direct(mode, tracking_uri, experiment, n, seconds, trace_file)
        rate = _window_rate(counter, eid, 0 if mode == "traces" else 1, warm_s, window_s)
        rate["client"] = _finish_direct(proc)
        rate["threads"] = n
        log(f"drain {store}: {mode} ceiling with {n} threads {rate['rate']}/s")
        return rate

    # Traces.
    ceilings_t = [ceiling("traces", threads[0], None)]
    before = counter.counts(eid)[0]
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(lambda: asyncio.run(_chat_load(service_port, chat_concurrency, seconds)))
        service_t = _window_rate(counter, eid, 0, warm_s, window_s)
        service_t["chat"] = load.result()
    log(f"drain {store}: traces via the service {service_t['rate']}/s")
    # Let the service finish its queued exports before MLflow is measured again.
    wait_stable(counter, eid, 0, before + service_t["chat"]["ok"], 120)
    ceilings_t += [ceiling("traces", n, None) for n in threads[1:]]

    # Judgments on traces this service exported (its registry knows them).
    trace_ids = counter.trace_ids(eid, TRACE_TARGETS)
    trace_file = work / f"trace-ids-{store}.txt"
    trace_file.write_text("\n".join(trace_ids) + "\n")
    ceilings_j = [ceiling("feedback", threads[0], trace_file)]
    best = max(c["rate"] for c in ceilings_j)
    backlog = max(600, int(best * (warm_s + window_s) * 1.6))
    before = counter.counts(eid)[1]
    burst = asyncio.run(_feedback_burst(service_port, trace_ids, backlog))
    acked = burst["ok"]
    service_j = _window_rate(
        counter, eid, 1, warm_s, window_s, stop_when=lambda c: c - before >= acked * 0.95
    )
    service_j["burst"] = burst
    service_j["backlog_left_at_end"] = acked - (counter.counts(eid)[1] - before)
    log(f"drain {store}: judgments via the service {service_j['rate']}/s")
    wait_stable(counter, eid, 1, before + acked, 60)
    ceilings_j += [ceiling("feedback", n, trace_file) for n in threads[1:]]

    ceiling_t = max(ceilings_t, key=lambda c: c["rate"])
    ceiling_j = max(ceilings_j, key=lambda c: c["rate"])
    return {
        "store": store,
        "traces": {"ceilings": ceilings_t, "service": service_t},
        "judgments": {"ceilings": ceilings_j, "service": service_j},
        "figures": {
            "traces_ratio": round(service_t["rate"] / ceiling_t["rate"], 3)
            if ceiling_t["rate"]
            else None,
            "judgments_ratio": round(service_j["rate"] / ceiling_j["rate"], 3)
            if ceiling_j["rate"]
            else None,
            "traces_per_s": service_t["rate"],
            "judgments_per_s": service_j["rate"],
            "ceiling_traces_per_s": ceiling_t["rate"],
            "ceiling_judgments_per_s": ceiling_j["rate"],
        },
    }
