"""The resilience tests' load generators, MLflow read-back and the figures the suite
reports. The feedback server they crash runs as a subprocess (`testbed.feedback_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import chat_service_pb2_grpc, common_pb2, feedback_service_pb2_grpc
from feedback.v1 import feedback_service_pb2 as fb_pb
from google.protobuf import struct_pb2

from testbed.feedback_server import FeedbackServerProcess

# --------------------------------------------------------------------------- clients


class Stubs:
    """Async stubs on one channel."""

    def __init__(self, address: str) -> None:
        # Reconnect quickly after the server restarts (gRPC's default backoff reaches 120 s).
        self.channel = grpc.aio.insecure_channel(
            address,
            options=[
                ("grpc.initial_reconnect_backoff_ms", 200),
                ("grpc.min_reconnect_backoff_ms", 200),
                ("grpc.max_reconnect_backoff_ms", 1000),
            ],
        )
        self.chat = chat_service_pb2_grpc.ChatServiceStub(self.channel)
        self.feedback = feedback_service_pb2_grpc.FeedbackServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()


@dataclass(frozen=True)
class Traced:
    trace_id: str
    client_request_id: str


async def chat_turns(
    address: str, count: int, *, concurrency: int = 16, prefix: str = "turn"
) -> list[Traced]:
    """`count` Chat calls (retried on UNAVAILABLE / RESOURCE_EXHAUSTED); their traces."""
    stubs = Stubs(address)
    out: list[Traced] = []
    todo = list(range(count))

    async def worker() -> None:
        while todo:
            i = todo.pop()
            for attempt in range(20):
                try:
                    reply = await stubs.chat.Chat(
                        chat_pb.ChatRequest(
                            message=f"{prefix} question {i}",
                            client_request_id=f"{prefix}-{i}",
                            user_id=f"user-{i % 7}",
                            session_id=f"s-{i % 11}",
                        ),
                        timeout=60,
                    )
                except grpc.aio.AioRpcError as err:
                    if err.code() in RETRYABLE and attempt < 19:
                        await asyncio.sleep(0.5)
                        continue
                    raise
                out.append(Traced(reply.trace_id, reply.client_request_id))
                break

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await stubs.close()
    return out


RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}


@dataclass(frozen=True)
class Judgment:
    """One request of the load, and the assessments it must produce on its trace."""

    index: int
    rpc: str  # LogFeedback | LogRatings | LogExpectation
    trace: Traced
    by_request_id: bool  # target the trace by its client request ID
    names: tuple[str, ...]  # assessment names it produces (one per rating dimension)
    request_id: str

    def request(self) -> Any:
        target = (
            common_pb2.TraceRef(client_request_id=self.trace.client_request_id)
            if self.by_request_id
            else common_pb2.TraceRef(trace_id=self.trace.trace_id)
        )
        if self.rpc == "LogFeedback":
            return fb_pb.LogFeedbackRequest(
                target=target,
                name=self.names[0],
                value=common_pb2.FeedbackValue(boolean=self.index % 3 != 0),
                rationale=f"judgment {self.index}",
                source=common_pb2.Source(id=f"user-{self.index % 13}"),
                request_id=self.request_id,
            )
        if self.rpc == "LogRatings":
            dims = {
                n.removeprefix("user_"): 1 + (self.index + k) % 5 for k, n in enumerate(self.names)
            }
            return fb_pb.LogRatingsRequest(
                target=target,
                ratings=dims,
                source=common_pb2.Source(id=f"user-{self.index % 13}"),
                request_id=self.request_id,
            )
        value = struct_pb2.Value()
        value.string_value = f"expected answer {self.index}"
        return fb_pb.LogExpectationRequest(
            target=target,
            name=self.names[0],
            value=value,
            source=common_pb2.Source(id="labeler"),
            request_id=self.request_id,
        )


def plan_judgments(traces: list[Traced], count: int, *, tag: str) -> list[Judgment]:
    """`count` requests spread over `traces`; every (trace, assessment name) pair is unique,
    so a duplicate in MLflow shows as the same name twice on one trace."""
    out: list[Judgment] = []
    n = len(traces)
    for i in range(count):
        trace = traces[i % n]
        round_ = i // n
        kind = i % 10
        rid = f"{tag}-{i}"
        if kind < 6:
            out.append(Judgment(i, "LogFeedback", trace, kind == 5, (f"{tag}_fb{round_}",), rid))
        elif kind < 9:
            names = (f"user_{tag}_r{round_}a", f"user_{tag}_r{round_}b")
            out.append(Judgment(i, "LogRatings", trace, kind == 8, names, rid))
        else:
            out.append(Judgment(i, "LogExpectation", trace, False, (f"{tag}_ex{round_}",), rid))
    return out


@dataclass
class Ack:
    judgment: Judgment
    state: int
    assessment_ids: tuple[str, ...]
    latency_s: float
    at: float  # monotonic time of the acknowledgment


@dataclass
class LoadResult:
    acks: dict[int, Ack] = field(default_factory=dict)  # judgment index -> last acknowledgment
    errors: dict[str, int] = field(default_factory=dict)  # status code name -> count
    unacknowledged: set[int] = field(default_factory=set)  # sent, never acknowledged
    latencies: list[float] = field(default_factory=list)  # every acknowledged call
    # A repeated request (same request_id) answered with other assessment IDs than before.
    id_mismatches: int = 0
    repeats: int = 0  # acknowledgments of a request that was already acknowledged

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


async def send_one(stubs: Stubs, j: Judgment, deadline_s: float = 30.0) -> Ack:
    t0 = time.monotonic()
    req = j.request()
    if j.rpc == "LogFeedback":
        reply = await stubs.feedback.LogFeedback(req, timeout=deadline_s)
        ids: tuple[str, ...] = (reply.assessment_id,)
    elif j.rpc == "LogRatings":
        reply = await stubs.feedback.LogRatings(req, timeout=deadline_s)
        by_name = {r.name: r.assessment_id for r in reply.results}
        ids = tuple(by_name[n] for n in j.names)
    else:
        reply = await stubs.feedback.LogExpectation(req, timeout=deadline_s)
        ids = (reply.assessment_id,)
    t1 = time.monotonic()
    return Ack(j, reply.state, ids, t1 - t0, t1)


async def run_load(
    address: str,
    judgments: Iterable[Judgment],
    *,
    concurrency: int,
    rate_per_s: float,
    result: LoadResult | None = None,
    stop: asyncio.Event | None = None,
    retry_unavailable: bool = False,
    deadline_s: float = 30.0,
) -> LoadResult:
    """Sends `judgments` from `concurrency` clients, paced to `rate_per_s` overall.

    A request that fails is recorded as unacknowledged (and retried while the status is
    retryable and `retry_unavailable`). Stops early when `stop` is set.
    """
    result = result or LoadResult()
    queue = list(judgments)
    queue.reverse()
    stubs = Stubs(address)
    start = time.monotonic()
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while queue and not (stop is not None and stop.is_set()):
            j = queue.pop()
            due = start + sent / rate_per_s
            sent += 1
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            while True:
                try:
                    ack = await send_one(stubs, j, deadline_s)
                except grpc.aio.AioRpcError as err:
                    result.error(err.code().name)
                    if retry_unavailable and err.code() in RETRYABLE:
                        await asyncio.sleep(0.2)
                        continue
                    if j.index not in result.acks:
                        result.unacknowledged.add(j.index)
                    break
                previous = result.acks.get(j.index)
                if previous is not None:
                    result.repeats += 1
                    if previous.assessment_ids != ack.assessment_ids:
                        result.id_mismatches += 1
                result.acks[j.index] = ack
                result.unacknowledged.discard(j.index)
                result.latencies.append(ack.latency_s)
                break

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await stubs.close()
    return result


# --------------------------------------------------------------------------- MLflow read-back


def experiment_traces(tracking_uri: str, experiment: str) -> dict[str, list[Any]]:
    """trace ID -> its assessments, for every trace of the experiment (paged search)."""
    from mlflow.tracing.client import TracingClient
    from mlflow.tracking import MlflowClient

    # Explicit clients: the process-wide tracking URI may belong to an in-process server.
    exp = MlflowClient(tracking_uri).get_experiment_by_name(experiment)
    if exp is None:
        return {}
    client = TracingClient(tracking_uri)
    out: dict[str, list[Any]] = {}
    token: str | None = None
    while True:
        page = client.search_traces(
            experiment_ids=[exp.experiment_id],
            max_results=500,
            page_token=token,
            include_spans=False,
        )
        for trace in page:
            out[trace.info.trace_id] = list(trace.info.assessments or [])
        token = page.token
        if not token:
            return out


@dataclass
class Audit:
    """Acknowledged judgments checked against what MLflow holds."""

    acknowledged_requests: int
    expected_assessments: int
    stored: int  # expected assessments present exactly once
    lost: int  # expected, absent
    duplicated: int  # (trace, name) pairs of the load found more than once
    wrong_id: int  # present under another assessment ID than acknowledged
    unexpected: int  # load assessments nobody acknowledged (should be 0 once all retried)
    missing_examples: list[str]

    def figures(self) -> dict[str, int]:
        """The audit's counts, as the resilience reports name them."""
        return {
            "judgments_expected": self.expected_assessments,
            "judgments_stored_once": self.stored,
            "judgments_lost": self.lost,
            "judgments_duplicated": self.duplicated,
            "judgments_wrong_id": self.wrong_id,
            "judgments_unexpected": self.unexpected,
        }


def audit(traces: dict[str, list[Any]], acks: Iterable[Ack], tag: str) -> Audit:
    """Counts assessments per (trace, name) for the names of the load tagged `tag`."""
    found: dict[tuple[str, str], list[str]] = {}
    for trace_id, assessments in traces.items():
        for a in assessments:
            if a.name.startswith((f"{tag}_", f"user_{tag}_")):
                found.setdefault((trace_id, a.name), []).append(a.assessment_id)
    expected: dict[tuple[str, str], str] = {}
    n_acks = 0
    for ack in acks:
        n_acks += 1
        for name, aid in zip(ack.judgment.names, ack.assessment_ids, strict=True):
            expected[(ack.judgment.trace.trace_id, name)] = aid
    stored = lost = wrong = 0
    missing: list[str] = []
    for key, aid in expected.items():
        ids = found.get(key, [])
        if not ids:
            lost += 1
            if len(missing) < 5:
                missing.append(f"{key[0]}/{key[1]}/{aid}")
        elif aid not in ids:
            wrong += 1
        else:
            stored += 1
    duplicated = sum(1 for ids in found.values() if len(ids) > 1)
    unexpected = sum(1 for key in found if key not in expected)
    return Audit(n_acks, len(expected), stored, lost, duplicated, wrong, unexpected, missing)


# --------------------------------------------------------------------------- figures


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def mlflow_feedback_ceiling(
    tracking_uri: str, trace_ids: list[str], *, threads: int = 16, seconds: float = 8.0
) -> dict[str, Any]:
    """MLflow's own assessment-write ceiling: `threads` threads calling mlflow.log_feedback
    directly against the same server for `seconds`. Returns calls, errors and calls/s."""
    import mlflow

    previous_uri = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    stop = time.monotonic() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def work(k: int) -> None:
        i = 0
        while time.monotonic() < stop:
            trace_id = trace_ids[(k + i * threads) % len(trace_ids)]
            i += 1
            try:
                mlflow.log_feedback(
                    trace_id=trace_id, name="ceiling_probe", value=True, source=None
                )
                counts[k] += 1
            except Exception:
                errors[k] += 1

    began = time.monotonic()
    pool = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - began
    mlflow.set_tracking_uri(previous_uri)
    return {
        "threads": threads,
        "seconds": round(elapsed, 2),
        "calls": sum(counts),
        "errors": sum(errors),
        "per_s": round(sum(counts) / elapsed, 1),
    }


def report(tmp_dir: Path, name: str, figures: dict[str, Any]) -> Path:
    """Writes figures as JSON under the test's tmp dir and prints them (visible with -s,
    and in the captured output of a failing test)."""
    path = Path(tmp_dir) / f"resilience-{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str))
    collected = os.environ.get("FEEDBACK_RESILIENCE_REPORT_DIR")
    if collected:
        Path(collected).mkdir(parents=True, exist_ok=True)
        (Path(collected) / path.name).write_text(path.read_text())
    text = format_report(name, path, figures)
    REPORTS.append(text)
    print(text, flush=True)
    return path


#: Every report of this session, printed again in pytest's terminal summary (so the figures
#: show in `make test` output without `-s`).
REPORTS: list[str] = []


def format_report(name: str, path: Path, figures: dict[str, Any]) -> str:
    lines = [f"RESILIENCE {name}: figures in {path}"]
    for key, value in sorted(figures.items()):
        lines.append(f"RESILIENCE {name}: {key} = {json.dumps(value, default=str)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- drain sampling


@dataclass
class Sample:
    t: float  # monotonic
    depth: float | None
    stored: float | None
    dead: float | None


class DrainSampler:
    """Polls the feedback server's /metrics every `interval` s in the background."""

    def __init__(self, server: FeedbackServerProcess, interval: float = 0.5) -> None:
        self.server = server
        self.interval = interval
        self.samples: list[Sample] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> DrainSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def sample(self) -> Sample:
        m = await asyncio.to_thread(self.server.metrics)
        s = Sample(
            time.monotonic(),
            m.get("feedback_spool_depth"),
            m.get("feedback_judgments_stored_total"),
            m.get("feedback_spool_dead_letters"),
        )
        self.samples.append(s)
        return s

    async def _run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.interval)

    async def wait_drained(self, within_s: float, not_before: float = 0.0) -> Sample | None:
        """The first sample with an empty spool taken after `not_before`, or None."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            s = await self.sample()
            if s.t >= not_before and s.depth == 0:
                return s
            await asyncio.sleep(self.interval)
        return None

    def drain_figures(self, since: float, until: float) -> dict[str, Any]:
        """Drain throughput between `since` (e.g. MLflow back) and `until` (spool empty):
        the lag to the first stored judgment, the average rate from then on, and the best
        5-second window."""
        window = [s for s in self.samples if since <= s.t <= until and s.stored is not None]
        if len(window) < 2:
            return {}
        base = window[0].stored or 0.0
        first = next((s for s in window if (s.stored or 0) > base), None)
        last = window[-1]
        out: dict[str, Any] = {
            "backlog_at_start": window[0].depth,
            "stored_in_window": (last.stored or 0) - base,
        }
        if first is not None:
            out["lag_to_first_store_s"] = round(first.t - since, 1)
            span = last.t - first.t
            if span > 0:
                out["avg_per_s"] = round(((last.stored or 0) - (first.stored or 0)) / span, 1)
        best = 0.0
        for i, a in enumerate(window):
            for b in window[i + 1 :]:
                if b.t - a.t >= 5.0:
                    best = max(best, ((b.stored or 0) - (a.stored or 0)) / (b.t - a.t))
                    break
        out["peak_5s_per_s"] = round(best, 1)
        return out


def machine() -> dict[str, Any]:
    """Context for the figures: cores and load while the test ran."""
    return {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2)}
