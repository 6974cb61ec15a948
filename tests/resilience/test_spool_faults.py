"""The self-healing spool and MLflow's refusals, with real processes: the feedback server as
a subprocess, MLflow behind a real HTTP proxy process that the tests switch (pass, 503, 403),
faults injected into the server through tests/resilience/hooks (a wall-clock step, a dead
writer thread), the spool file damaged behind the server's back, and the admin CLI run as
the operator would.

- a poison row: two rows the server cannot decode are dead-lettered with their reason, the
  judgments queued behind one of them and every other judgment are stored;
- a wall-clock step back (an hour, during an outage) pauses nothing, and a step forward
  (30 days, while judgments wait for their traces) expires nothing;
- a full spool (its disk budget), and a full disk (a small tmpfs of the server's own, where
  user namespaces allow one): writes answer UNAVAILABLE with RetryInfo at once and health
  says NOT_SERVING, until there is room again;
- a dead writer thread: the same, until it is restarted;
- MLflow answering 403 (as its basic-auth app does): judgments and traces are dead-lettered
  with the reason, once, not retried forever, and land after a replay.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from testbed.feedback_server import (
    FeedbackServerProcess,
    small_disk_available,
    small_disk_wrapper,
)
from testbed.http_proxy import HttpProxy
from testbed.poll import poll_async
from tests.resilience.harness import Stubs, chat_turns, experiment_traces, machine, ms

pytestmark = [pytest.mark.resilience, pytest.mark.timeout(300)]

HOOKS = Path(__file__).resolve().parent / "hooks"
QUEUED = common_pb2.INGESTION_STATE_QUEUED
DAY_S = 24 * 3600


@pytest.fixture
def proxy(mlflow_sqlite: Any, tmp_path: Path) -> Iterator[HttpProxy]:
    with HttpProxy(mlflow_sqlite.url, tmp_path / "proxy") as started:
        yield started


def _hooked(**env: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(HOOKS), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **env}


def _request(trace_id: str, name: str, rid: str, *, big: bool = False) -> Any:
    return fb_pb.LogFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=trace_id),
        name=name,
        value=common_pb2.FeedbackValue(boolean=False),
        rationale="r" * 8000 if big else "",
        metadata={f"k{i}": "m" * 1000 for i in range(32)} if big else {},
        source=common_pb2.Source(id="user-faults"),
        request_id=rid,
    )


def _health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=2
        )
    return int(reply.status)


def _retry_delay_s(err: grpc.aio.AioRpcError) -> float | None:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.ToTimedelta().total_seconds()
    return None


def _admin(server: FeedbackServerProcess, *args: str) -> tuple[int, str]:
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "feedback-admin"),
            *args,
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def _make_traces(url: str, experiment: str, trace_ids: list[str]) -> None:
    """Traces that another application logged into the same experiment (later)."""
    from mlflow.entities import TraceInfo, TraceLocation, TraceState
    from mlflow.tracing.client import TracingClient
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(url).get_experiment_by_name(experiment)
    assert exp is not None
    client = TracingClient(url)
    for trace_id in trace_ids:
        client.start_trace(
            TraceInfo(
                trace_id=trace_id,
                trace_location=TraceLocation.from_experiment_id(exp.experiment_id),
                request_time=int(time.time() * 1000),
                state=TraceState.OK,
                execution_duration=1,
            )
        )


def _names(url: str, experiment: str) -> dict[str, list[str]]:
    return {t: [a.name for a in a_] for t, a_ in experiment_traces(url, experiment).items()}


async def _until(check: Callable[[], Any], within_s: float, why: str) -> Any:
    value = await poll_async(check, within_s, interval_s=0.25)
    assert value, why
    return value


# --------------------------------------------------------------------------- poison rows


async def test_unreadable_rows_are_dead_lettered_while_the_rest_drains(
    mlflow_sqlite: Any,
    feedback_server_factory: Callable[..., FeedbackServerProcess],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    experiment = f"poison-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory, mlflow_sqlite.url, experiment=experiment
    )
    traces = [t.trace_id for t in await chat_turns(server.address, 6, prefix="poison")]
    await _until(
        lambda: set(traces) <= set(experiment_traces(mlflow_sqlite.url, experiment)),
        120,
        "traces not exported",
    )
    await asyncio.to_thread(server.stop)
    conn = sqlite3.connect(server.data_dir / "spool.sqlite3", isolation_level=None)
    insert = (
        "INSERT INTO spool_entries (assessment_id, order_key, state, is_head, judgment, "
        "trace_id, enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms) "
        "VALUES (?, ?, 'queued', 1, {judgment}, ?, 0, 0, 0, 0)"
    )
    # Half a judgment at the head of traces[0] (the judgment sent later queues behind it),
    # and bytes that are not UTF-8 at all.
    conn.execute(insert.format(judgment="?"), ("a-poison-json", traces[0], "{half a", traces[0]))
    conn.execute(
        insert.format(judgment="CAST(X'7bff00fe' AS TEXT)"), ("a-poison-bytes", "crid:p", None)
    )
    conn.close()
    await asyncio.to_thread(server.start)
    stubs = Stubs(server.address)
    try:
        for i, trace_id in enumerate(traces):
            ack = await stubs.feedback.LogFeedback(_request(trace_id, "poison_fb", f"p-{i}"))
            assert ack.state == QUEUED
    finally:
        await stubs.close()
    await _until(
        lambda: all("poison_fb" in _names(mlflow_sqlite.url, experiment)[t] for t in traces),
        120,
        f"judgments not stored:\n{server.log_tail()}",
    )
    code, listing = await asyncio.to_thread(_admin, server, "dead-letters", "list", "--json")
    dead = {d["assessment_id"]: d["reason"] for d in json.loads(listing)}
    check_code, check = await asyncio.to_thread(_admin, server, "spool", "check")
    metrics = server.metrics()
    resilience_report(
        "poison-row",
        {
            "judgments_stored": len(traces),
            "dead_letters": dead,
            "spool_check": check.splitlines(),
            "machine": machine(),
        },
    )
    assert code == 0 and set(dead) == {"a-poison-json", "a-poison-bytes"}
    assert all(reason.startswith("unreadable row") for reason in dead.values())
    assert metrics.get('feedback_judgments_dead_lettered_total{reason="unreadable"}') == 2
    assert check_code == 1 and "unreadable_rows       2" in check


# --------------------------------------------------------------------------- clock steps


def _clocked(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    clock = tmp_path / "clock-offset-s"
    clock.write_text("0")
    return clock, _hooked(FEEDBACK_TEST_CLOCK_FILE=str(clock), FEEDBACK_MLFLOW_TIMEOUT_S="3")


async def test_a_backward_clock_step_during_an_outage_stalls_nothing(
    proxy: HttpProxy,
    tmp_path: Path,
    feedback_server_factory: Callable[..., FeedbackServerProcess],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    clock, env = _clocked(tmp_path)
    experiment = f"clockback-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory, proxy.url, experiment=experiment, **env
    )
    traces = [t.trace_id for t in await chat_turns(server.address, 4, prefix="back")]
    await _until(
        lambda: set(traces) <= set(experiment_traces(proxy.url, experiment)), 120, "no export"
    )
    proxy.set_mode("unavailable")
    stubs = Stubs(server.address)
    try:
        for i in range(8):
            await stubs.feedback.LogFeedback(_request(traces[i % 4], f"back_{i}", f"b-{i}"))
    finally:
        await stubs.close()
    await _until(
        lambda: server.metrics().get('feedback_drain_attempts_total{result="unavailable"}'),
        60,
        "the drainer never met the outage",
    )
    clock.write_text(str(-3600))  # the wall clock steps back an hour
    await asyncio.sleep(0.5)
    proxy.set_mode("pass")
    back_at = time.monotonic()

    def stored() -> bool:
        names = _names(proxy.url, experiment)
        return all(f"back_{i}" in names.get(traces[i % 4], ()) for i in range(8))

    await _until(stored, 120, f"a backward clock step stalled the drain:\n{server.log_tail()}")
    figures = {
        "judgments": 8,
        "clock_step_s": -3600,
        "stored_after_mlflow_back_s": round(time.monotonic() - back_at, 1),
        "dead_letters": server.metrics().get("feedback_spool_dead_letters"),
        "machine": machine(),
    }
    resilience_report("clock-step-back", figures)
    assert figures["dead_letters"] == 0


async def test_a_forward_clock_step_expires_no_waiting_judgment(
    proxy: HttpProxy,
    tmp_path: Path,
    feedback_server_factory: Callable[..., FeedbackServerProcess],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    clock, env = _clocked(tmp_path)
    experiment = f"clockfwd-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory,
        proxy.url,
        experiment=experiment,
        FEEDBACK_TRACE_WAIT_TTL_S="120",
        **env,
    )
    await chat_turns(server.address, 1, prefix="fwd")  # the experiment exists
    late = [f"tr-{uuid.uuid4().hex}" for _ in range(6)]  # traces another app logs later
    proxy.set_mode("unavailable")  # MLflow cannot say they do not exist: accepted, queued
    stubs = Stubs(server.address)
    try:
        for i, trace_id in enumerate(late):
            ack = await stubs.feedback.LogFeedback(_request(trace_id, "fwd_fb", f"f-{i}"))
            assert ack.state == QUEUED
    finally:
        await stubs.close()
    proxy.set_mode("pass")
    await _until(
        lambda: (
            server.metrics().get('feedback_drain_attempts_total{result="trace_not_found"}') or 0
        )
        >= len(late),
        90,
        "the judgments never waited for their traces",
    )
    clock.write_text(str(30 * DAY_S))  # 30 days forward: past the TTL and every retention
    await asyncio.sleep(8)  # several attempts on the stepped clock
    dead_after_step = server.metrics().get("feedback_spool_dead_letters")
    await asyncio.to_thread(_make_traces, proxy.url, experiment, late)

    def stored() -> bool:
        names = _names(proxy.url, experiment)
        return all("fwd_fb" in names.get(t, []) for t in late)

    await _until(stored, 120, f"judgments not stored:\n{server.log_tail()}")
    code, stats = await asyncio.to_thread(_admin, server, "spool", "stats", "--json")
    figures = {
        "judgments_waiting": len(late),
        "clock_step_s": 30 * DAY_S,
        "dead_letters_after_step": dead_after_step,
        "stored_entries_kept": json.loads(stats)["stored"],
        "machine": machine(),
    }
    resilience_report("clock-step-forward", figures)
    assert dead_after_step == 0
    assert server.metrics().get("feedback_spool_dead_letters") == 0
    assert code == 0 and json.loads(stats)["stored"] == len(late)


# --------------------------------------------------------------------------- cannot write


async def _refused_fast(stubs: Stubs, request: Any) -> tuple[grpc.aio.AioRpcError, float]:
    t0 = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.feedback.LogFeedback(request, timeout=30)
    return caught.value, time.monotonic() - t0


async def test_a_full_spool_refuses_at_once_reports_not_serving_and_recovers(
    proxy: HttpProxy,
    feedback_server_factory: Callable[..., FeedbackServerProcess],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    experiment = f"full-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory,
        proxy.url,
        experiment=experiment,
        FEEDBACK_SPOOL_MAX_BYTES=str(2 * 1024 * 1024),
        FEEDBACK_MLFLOW_TIMEOUT_S="3",
    )
    await chat_turns(server.address, 1, prefix="full")
    proxy.set_mode("unavailable")  # nothing drains: the spool fills up
    late: list[str] = []
    stubs = Stubs(server.address)
    try:
        refused: grpc.aio.AioRpcError | None = None
        for i in range(200):
            trace_id = f"tr-{uuid.uuid4().hex}"
            try:
                await stubs.feedback.LogFeedback(_request(trace_id, "full_fb", f"u-{i}", big=True))
            except grpc.aio.AioRpcError as err:
                refused = err
                break
            late.append(trace_id)
        assert refused is not None, "the budget never filled"
        err, took = await _refused_fast(
            stubs, _request(late[0][:-1] + "0", "full_fb", "u-x", big=True)
        )
        not_serving = await asyncio.to_thread(_health, server.address)
        with pytest.raises(grpc.aio.AioRpcError) as chat_refused:
            await stubs.chat.Chat(chat_pb.ChatRequest(message="no room"), timeout=30)
        proxy.set_mode("pass")
        await asyncio.to_thread(_make_traces, proxy.url, experiment, late)
        full_until = time.monotonic()
        await _until(
            lambda: _health(server.address) == health_pb2.HealthCheckResponse.SERVING,
            120,
            f"health never came back:\n{server.log_tail()}",
        )
        recovered_s = time.monotonic() - full_until
        after = f"tr-{uuid.uuid4().hex}"
        await asyncio.to_thread(_make_traces, proxy.url, experiment, [after])
        ack = await stubs.feedback.LogFeedback(_request(after, "full_fb", "u-after", big=True))
    finally:
        await stubs.close()
    await _until(
        lambda: all("full_fb" in _names(proxy.url, experiment).get(t, []) for t in [*late, after]),
        180,
        f"acknowledged judgments missing:\n{server.log_tail()}",
    )
    metrics = server.metrics()
    figures = {
        "budget_bytes": 2 * 1024 * 1024,
        "judgments_acknowledged_until_full": len(late),
        "refused_code": err.code().name,
        "refused_after_ms": ms(took),
        "retry_delay_s": _retry_delay_s(err),
        "health_while_full": health_pb2.HealthCheckResponse.ServingStatus.Name(not_serving),
        "chat_while_full": chat_refused.value.code().name,
        "serving_again_after_s": round(recovered_s, 1),
        "evicted": metrics.get("feedback_spool_evicted_total"),
        "dead_letters": metrics.get("feedback_spool_dead_letters"),
        "machine": machine(),
    }
    resilience_report("full-spool", figures)
    assert refused.code() == err.code() == grpc.StatusCode.UNAVAILABLE
    assert _retry_delay_s(err) is not None and took < 5
    assert not_serving == health_pb2.HealthCheckResponse.NOT_SERVING
    assert chat_refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert ack.state == QUEUED or ack.state == common_pb2.INGESTION_STATE_STORED
    assert metrics.get("feedback_spool_dead_letters") == 0
    assert (metrics.get("feedback_spool_evicted_total") or 0) > 0


@pytest.mark.skipif(not small_disk_available(), reason="no user namespaces for a small tmpfs")
async def test_a_full_disk_refuses_at_once_reports_not_serving_and_recovers(
    mlflow_sqlite: Any,
    tmp_path: Path,
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    """A real full disk: the data dir is a 6 MiB tmpfs (testbed.small_disk_wrapper), filled
    with a ballast file behind the server's back, then freed."""
    data_dir = tmp_path / "small-disk"
    experiment = f"disk-{uuid.uuid4().hex[:6]}"
    server = FeedbackServerProcess(
        mlflow_sqlite.url,
        data_dir,
        experiment=experiment,
        log_path=tmp_path / "feedback-server-disk.log",
        wrapper=small_disk_wrapper(data_dir, "6m"),
    )
    try:
        await asyncio.to_thread(server.start)
        traces = [t.trace_id for t in await chat_turns(server.address, 4, prefix="disk")]
        inside = Path(f"/proc/{server.pid}/root") / data_dir.relative_to("/")
        free = os.statvfs(inside).f_bavail * os.statvfs(inside).f_frsize
        ballast = inside / "ballast"
        with ballast.open("wb") as fh:  # another tenant of the disk fills it up
            fh.write(b"\0" * max(0, free - 400_000))
        acked: list[str] = []
        stubs = Stubs(server.address)
        try:
            refused: grpc.aio.AioRpcError | None = None
            for i in range(100):
                try:
                    await stubs.feedback.LogFeedback(
                        _request(traces[i % 4], f"disk_{i}", f"k-{i}", big=True)
                    )
                except grpc.aio.AioRpcError as err:
                    refused = err
                    break
                acked.append(f"disk_{i}")
            assert refused is not None, "the disk never filled"
            err, took = await _refused_fast(stubs, _request(traces[0], "disk_x", "k-x", big=True))
            not_serving = await asyncio.to_thread(_health, server.address)
            ballast.unlink()  # the disk is freed
            t0 = time.monotonic()
            await _until(
                lambda: _health(server.address) == health_pb2.HealthCheckResponse.SERVING,
                60,
                f"health never came back:\n{server.log_tail()}",
            )
            back_s = time.monotonic() - t0
            await stubs.feedback.LogFeedback(_request(traces[0], "disk_after", "k-after"))
        finally:
            await stubs.close()

        def stored() -> bool:
            names = [n for ns in _names(mlflow_sqlite.url, experiment).values() for n in ns]
            return set(acked) | {"disk_after"} <= set(names)

        await _until(stored, 120, f"acknowledged judgments missing:\n{server.log_tail()}")
        figures = {
            "tmpfs": "6m",
            "judgments_acknowledged_until_full": len(acked),
            "refused_code": err.code().name,
            "refused_after_ms": ms(took),
            "retry_delay_s": _retry_delay_s(err),
            "health_while_full": health_pb2.HealthCheckResponse.ServingStatus.Name(not_serving),
            "serving_after_freeing_s": round(back_s, 1),
            "machine": machine(),
        }
        resilience_report("full-disk", figures)
        assert refused.code() == err.code() == grpc.StatusCode.UNAVAILABLE
        assert _retry_delay_s(err) is not None and took < 5
        assert not_serving == health_pb2.HealthCheckResponse.NOT_SERVING
        assert server.metrics().get("feedback_spool_dead_letters") == 0
    finally:
        server.kill()
        server.close()


async def test_a_dead_writer_thread_refuses_at_once_and_comes_back(
    mlflow_sqlite: Any,
    tmp_path: Path,
    feedback_server_factory: Callable[..., FeedbackServerProcess],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    crash = tmp_path / "kill-the-writer"
    experiment = f"writer-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(
        feedback_server_factory,
        mlflow_sqlite.url,
        experiment=experiment,
        **_hooked(FEEDBACK_TEST_WRITER_CRASH_FILE=str(crash)),
    )
    traces = [t.trace_id for t in await chat_turns(server.address, 3, prefix="writer")]
    stubs = Stubs(server.address)
    try:
        await stubs.feedback.LogFeedback(_request(traces[0], "writer_before", "w-0"))
        crash.touch()
        err, took = await _refused_fast(stubs, _request(traces[1], "writer_lost", "w-1"))
        await _until(
            lambda: _health(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING,
            10,
            "health still SERVING with a dead writer",
        )
        err2, took2 = await _refused_fast(stubs, _request(traces[1], "writer_lost", "w-2"))
        await asyncio.sleep(2)  # restarted writers die again while the bug is there
        still_down = await asyncio.to_thread(_health, server.address)
        crash.unlink()
        t0 = time.monotonic()
        await _until(
            lambda: _health(server.address) == health_pb2.HealthCheckResponse.SERVING,
            30,
            f"the writer was not restarted:\n{server.log_tail()}",
        )
        back_s = time.monotonic() - t0
        for i, trace_id in enumerate(traces):
            await stubs.feedback.LogFeedback(_request(trace_id, "writer_after", f"w-a{i}"))
    finally:
        crash.unlink(missing_ok=True)
        await stubs.close()

    def stored() -> bool:
        names = _names(mlflow_sqlite.url, experiment)
        # A trace not exported yet is not listed (yet): wait for it too.
        return "writer_before" in names.get(traces[0], ()) and all(
            "writer_after" in names.get(t, ()) for t in traces
        )

    await _until(stored, 120, f"judgments missing:\n{server.log_tail()}")
    names = _names(mlflow_sqlite.url, experiment)
    figures = {
        "refused_code": err.code().name,
        "refused_after_ms": ms(took),
        "refused_while_down_after_ms": ms(took2),
        "retry_delay_s": _retry_delay_s(err),
        "serving_after_fix_s": round(back_s, 1),
        "machine": machine(),
    }
    resilience_report("dead-writer-thread", figures)
    assert err.code() == err2.code() == grpc.StatusCode.UNAVAILABLE
    assert _retry_delay_s(err) is not None and took < 5 and took2 < 5
    assert still_down == health_pb2.HealthCheckResponse.NOT_SERVING
    assert "writer_lost" not in names[traces[1]]  # refused, so never stored
    assert "writer thread crashed" in server.log_text()


# --------------------------------------------------------------------------- MLflow 403


async def test_mlflow_refusing_with_403_dead_letters_once_and_replay_lands(
    proxy: HttpProxy,
    feedback_server_factory: Callable[..., FeedbackServerProcess],
    resilience_report: Callable[[str, dict[str, Any]], Any],
) -> None:
    experiment = f"denied-{uuid.uuid4().hex[:6]}"
    server = await asyncio.to_thread(feedback_server_factory, proxy.url, experiment=experiment)
    traces = [t.trace_id for t in await chat_turns(server.address, 4, prefix="denied")]
    await _until(
        lambda: set(traces) <= set(experiment_traces(proxy.url, experiment)), 120, "no export"
    )
    proxy.set_mode("deny-assessments")
    stubs = Stubs(server.address)
    try:
        for i, trace_id in enumerate(traces):
            ack = await stubs.feedback.LogFeedback(_request(trace_id, "denied_fb", f"d-{i}"))
            assert ack.state == QUEUED
        await _until(
            lambda: server.metrics().get("feedback_spool_dead_letters") == len(traces),
            60,
            f"403 not dead-lettered:\n{server.log_tail()}",
        )
        proxy.set_mode("deny")  # the trace export is refused too
        refused_turn = await stubs.chat.Chat(chat_pb.ChatRequest(message="refused"), timeout=30)
    finally:
        await stubs.close()
    await _until(
        lambda: server.metrics().get("feedback_trace_dead_letters") == 1,
        60,
        f"trace refusal not dead-lettered:\n{server.log_tail()}",
    )
    _, judgments = await asyncio.to_thread(_admin, server, "dead-letters", "list", "--json")
    _, dead_traces = await asyncio.to_thread(_admin, server, "traces", "list", "--json")
    metrics = server.metrics()
    proxy.set_mode("pass")
    code1, _ = await asyncio.to_thread(_admin, server, "dead-letters", "replay", "--all")
    code2, _ = await asyncio.to_thread(_admin, server, "traces", "replay", "--all")

    def landed() -> bool:
        names = _names(proxy.url, experiment)
        return refused_turn.trace_id in names and all(
            "denied_fb" in names.get(t, ()) for t in traces
        )

    await _until(landed, 120, f"replayed entries not stored:\n{server.log_tail()}")
    dead = json.loads(judgments)
    (trace,) = json.loads(dead_traces)
    figures = {
        "judgments_refused": len(dead),
        "reasons": sorted({d["reason"] for d in dead}),
        "attempts": sorted({d["attempts"] for d in dead}),
        "trace_refused_reason": trace["reason"],
        "drain_attempts_unavailable": metrics.get(
            'feedback_drain_attempts_total{result="unavailable"}'
        ),
        "dead_lettered_rejected": metrics.get(
            'feedback_judgments_dead_lettered_total{reason="rejected"}'
        ),
        "machine": machine(),
    }
    resilience_report("mlflow-403", figures)
    assert len(dead) == len(traces)
    assert all("PERMISSION_DENIED (HTTP 403)" in d["reason"] and d["attempts"] == 1 for d in dead)
    assert trace["trace_id"] == refused_turn.trace_id and "HTTP 403" in trace["reason"]
    assert metrics.get('feedback_judgments_dead_lettered_total{reason="rejected"}') == len(traces)
    assert metrics.get('feedback_drain_attempts_total{result="unavailable"}') == 0
    assert code1 == code2 == 0
