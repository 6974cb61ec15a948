"""Votes that count right, against real MLflow servers (SQLite and PostgreSQL): a changed
vote supersedes through MLflow's override, a retraction takes a vote back, a request_id
is bound to its request, batches answer item by item, and every figure of a summary
(filters and buckets included) equals a brute-force recount of what MLflow holds."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.integration.service import Service, start_service, stop_service, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def service(
    mlflow_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    svc = await start_service(mlflow_server.url, tmp_path_factory.mktemp("votes"))
    yield svc
    await stop_service(svc)


def ref(trace_id: str) -> common_pb2.TraceRef:
    return common_pb2.TraceRef(trace_id=trace_id)


def vote(trace_id: str, up: bool, user: str = "", **kw: Any) -> fb.LogFeedbackRequest:
    return fb.LogFeedbackRequest(
        target=ref(trace_id),
        value=common_pb2.FeedbackValue(boolean=up),
        source=common_pb2.Source(id=user),
        **kw,
    )


def retract(trace_id: str, user: str, **kw: Any) -> fb.RetractFeedbackRequest:
    return fb.RetractFeedbackRequest(target=ref(trace_id), source=common_pb2.Source(id=user), **kw)


async def drained(svc: Service) -> None:
    await wait_until(lambda: svc.app.spool.depth() == 0 and svc.app.drainer.in_flight == 0, 120)


def mlflow_assessments(svc: Service, trace_id: str) -> dict[str, Any]:
    from mlflow.tracing.client import TracingClient

    info = TracingClient(svc.tracking_uri).get_trace_info(trace_id)
    return {a.assessment_id: a for a in info.assessments or []}


def error_reason(err: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""


async def test_a_changed_vote_supersedes_through_mlflows_override(service: Service) -> None:
    turn = await service.chat.Chat(chat_pb.ChatRequest(message="change my vote"))
    t = turn.trace_id
    up = await service.feedback.LogFeedback(vote(t, True, "alice"))
    down = await service.feedback.LogFeedback(vote(t, False, "alice"))
    assert down.superseded_assessment_id == up.assessment_id
    anon = [await service.feedback.LogFeedback(vote(t, False)) for _ in range(2)]
    assert all(a.superseded_assessment_id == "" for a in anon)  # never merged
    await drained(service)

    stored = mlflow_assessments(service, t)
    assert stored[up.assessment_id].valid is False
    assert stored[down.assessment_id].valid is True
    assert stored[down.assessment_id].overrides == up.assessment_id
    assert all(stored[a.assessment_id].valid for a in anon)
    listed = await service.feedback.ListFeedback(fb.ListFeedbackRequest(target=ref(t)))
    by_id = {a.assessment_id: a for a in listed.assessments}
    assert (by_id[up.assessment_id].valid, by_id[up.assessment_id].superseded_by_assessment_id) == (
        False,
        down.assessment_id,
    )
    assert by_id[down.assessment_id].supersedes_assessment_id == up.assessment_id
    assert len(listed.assessments) == 4


async def test_an_expectation_supersedes_the_experts_previous_one(service: Service) -> None:
    turn = await service.chat.Chat(chat_pb.ChatRequest(message="what should it say?"))
    t = turn.trace_id
    ids = []
    for text in ("first answer", "better answer"):
        ack = await service.feedback.LogExpectation(
            fb.LogExpectationRequest(
                target=ref(t),
                name="expected_response",
                value=struct_pb2.Value(string_value=text),
                source=common_pb2.Source(id="expert_1"),
            )
        )
        ids.append(ack.assessment_id)
    assert ack.superseded_assessment_id == ids[0]
    await drained(service)
    listed = await service.feedback.ListFeedback(fb.ListFeedbackRequest(target=ref(t)))
    by_id = {a.assessment_id: a for a in listed.assessments}
    assert set(by_id) == set(ids)  # the marker is not listed
    assert (by_id[ids[0]].valid, by_id[ids[0]].superseded_by_assessment_id) == (False, ids[1])
    assert (by_id[ids[1]].valid, by_id[ids[1]].supersedes_assessment_id) == (True, ids[0])
    markers = [a for a in mlflow_assessments(service, t).values() if a.overrides == ids[0]]
    assert [m.name for m in markers] == ["expected_response:superseded"]


async def test_a_retracted_vote_stops_counting_and_stays_in_mlflow(service: Service) -> None:
    turn = await service.chat.Chat(chat_pb.ChatRequest(message="take it back"))
    t = turn.trace_id
    given = await service.feedback.LogFeedback(vote(t, True, "bob"))
    rid = f"ret-{uuid.uuid4().hex}"
    taken = await service.feedback.RetractFeedback(retract(t, "bob", request_id=rid))
    assert taken.assessment_id == given.assessment_id  # taken back while still queued
    again = await service.feedback.RetractFeedback(retract(t, "bob", request_id=rid))
    assert again.assessment_id == taken.assessment_id  # idempotent by request_id
    await drained(service)
    stored = mlflow_assessments(service, t)
    assert stored[given.assessment_id].valid is False
    [marker] = [a for a in stored.values() if a.overrides == given.assessment_id]
    assert marker.name == "user_feedback:retracted" and marker.valid is True
    listed = await service.feedback.ListFeedback(fb.ListFeedbackRequest(target=ref(t)))
    [shown] = listed.assessments
    assert (shown.retracted, shown.valid) == (True, False)
    for user in ("bob", "carol"):  # nothing current any more / never anything
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.feedback.RetractFeedback(retract(t, user))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # anonymous votes are not retractable
        await service.feedback.RetractFeedback(retract(t, ""))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_request_id_reused_with_another_request_is_refused(service: Service) -> None:
    turn = await service.chat.Chat(chat_pb.ChatRequest(message="one key, one request"))
    rid = f"key-{uuid.uuid4().hex}"
    first = await service.feedback.LogFeedback(vote(turn.trace_id, True, "dana", request_id=rid))
    same = await service.feedback.LogFeedback(vote(turn.trace_id, True, "dana", request_id=rid))
    assert (same.assessment_id, same.request_id) == (first.assessment_id, rid)
    depth = service.app.spool.depth()
    for other in (
        vote(turn.trace_id, False, "dana", request_id=rid),  # another value
        vote(turn.trace_id, True, "eve", request_id=rid),  # another user
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.feedback.LogFeedback(other)
        assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert error_reason(caught.value) == "REQUEST_ID_REUSED"
    assert service.app.spool.depth() <= depth


async def test_a_batch_is_answered_item_by_item(service: Service) -> None:
    turn = await service.chat.Chat(chat_pb.ChatRequest(message="batch"))
    t = turn.trace_id
    items = [
        vote(t, True, "fay"),
        fb.LogFeedbackRequest(target=ref(t), value=common_pb2.FeedbackValue(number=float("nan"))),
        vote(t, False, "fay"),
        vote("tr-" + "0" * 32, True),
    ]
    reply = await service.feedback.BatchLogFeedback(fb.BatchLogFeedbackRequest(requests=items))
    kinds = [r.WhichOneof("result") for r in reply.results]
    assert kinds == ["response", "error", "response", "error"]
    invalid, unknown = reply.results[1].error, reply.results[3].error
    assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    bad = error_details_pb2.BadRequest()
    assert [d.Unpack(bad) for d in invalid.details if d.Is(bad.DESCRIPTOR)]
    assert [v.field for v in bad.field_violations] == ["value.number"]  # relative to the item
    assert unknown.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert reply.results[2].response.superseded_assessment_id == (
        reply.results[0].response.assessment_id
    )
    for size in (0, 501):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            request = fb.BatchLogFeedbackRequest(requests=[vote(t, True)] * size)
            await service.feedback.BatchLogFeedback(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- summaries: every figure against a brute-force recount ---------------------------------


USERS = ("u1", "u2", "u3")
SESSIONS = ("s1", "s2")
VOTERS = ("alice", "bob", "carol", "dave")


async def _judge_randomly(svc: Service, traces: list[str], rng: random.Random) -> None:
    """Votes from several people (changed, retracted), anonymous votes, ratings (some
    changed), a boolean `user_helpful`, comments."""
    current: dict[tuple[str, str], bool] = {}
    for _ in range(70):
        t = rng.choice(traces)
        who = rng.choice(VOTERS)
        roll = rng.random()
        if roll < 0.5:
            await svc.feedback.LogFeedback(vote(t, rng.random() < 0.6, who))
            current[(t, who)] = True
        elif roll < 0.62 and current.get((t, who)):
            await svc.feedback.RetractFeedback(retract(t, who))
            current[(t, who)] = False
        elif roll < 0.72:
            await svc.feedback.LogFeedback(vote(t, rng.random() < 0.5))  # anonymous
        elif roll < 0.86:
            await svc.feedback.LogRatings(
                fb.LogRatingsRequest(
                    target=ref(t),
                    ratings={"accuracy": rng.randint(1, 5), "relevance": rng.randint(1, 5)},
                    source=common_pb2.Source(id=who),
                )
            )
        elif roll < 0.93:
            await svc.feedback.LogFeedback(
                fb.LogFeedbackRequest(
                    target=ref(t),
                    name="user_helpful",
                    value=common_pb2.FeedbackValue(boolean=rng.random() < 0.5),
                    source=common_pb2.Source(id=who),
                )
            )
        else:
            await svc.feedback.LogFeedback(
                fb.LogFeedbackRequest(
                    target=ref(t),
                    name="comment",
                    value=common_pb2.FeedbackValue(text=f"note {rng.random():.4f}"),
                    source=common_pb2.Source(id=who),
                )
            )


def _aggregate(value: Any) -> float | None:
    """A value as MLflow's tracking server aggregates it (a boolean as 1 or 0)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return 1.0 if value.strip().lower() == "yes" else 0.0
    return None


def _recount(
    traces: list[Any], name: str, keep: Any, interval_ms: int = 0
) -> dict[int, dict[str, Any]]:
    """Every figure by brute force over MLflow's traces (bucket start -> figures; 0 for the
    whole window), from the raw assessments: valid feedback only, markers never."""
    out: dict[int, dict[str, Any]] = {}
    for trace in traces:
        info = trace.info
        if not keep(info):
            continue
        bucket = info.request_time // interval_ms * interval_ms if interval_ms else 0
        f = out.setdefault(bucket, {"total": 0, "with": 0, "pos": 0, "neg": 0, "sums": {}})
        f["total"] += 1
        valid = [
            a
            for a in info.assessments or []
            if getattr(a, "feedback", None) is not None and a.valid is not False
        ]
        named = [a for a in valid if a.name == name]
        f["with"] += bool(named)
        f["pos"] += sum(1 for a in named if a.value is True)
        f["neg"] += sum(1 for a in named if a.value is False)
        for a in valid:
            number = _aggregate(a.value)
            if a.name.startswith("user_") and a.name != name and number is not None:
                acc = f["sums"].setdefault(a.name[len("user_") :], [0.0, 0])
                acc[0] += number
                acc[1] += 1
    return out


def _assert_figures(got: Any, want: dict[str, Any] | None) -> None:
    want = want or {"total": 0, "with": 0, "pos": 0, "neg": 0, "sums": {}}
    assert got.total_traces == want["total"]
    assert got.traces_with_feedback == want["with"]
    assert got.positive_count == want["pos"] and got.negative_count == want["neg"]
    assert got.feedback_rate == pytest.approx(want["with"] / want["total"] if want["total"] else 0)
    judged = want["pos"] + want["neg"]
    assert got.positive_rate == pytest.approx(want["pos"] / judged if judged else 0)
    averages = {d: s / n for d, (s, n) in want["sums"].items()}
    assert dict(got.average_ratings) == pytest.approx(averages)


async def test_every_summary_figure_matches_a_recount(mlflow_server: Any, tmp_path: Any) -> None:
    svc = await start_service(mlflow_server.url, tmp_path)
    try:
        started_ms = int(time.time() * 1000)
        traces = []
        for i in range(14):
            turn = await svc.chat.Chat(
                chat_pb.ChatRequest(
                    message=f"question {i}",
                    user_id=USERS[i % 3],
                    session_id=SESSIONS[i % 2],
                    metadata={"app": "web" if i % 3 else "mobile's"},
                )
            )
            traces.append(turn.trace_id)
            if i == 6:
                await asyncio.sleep(1.2)  # traces on both sides of a 1-second bucket edge
        await _judge_randomly(svc, traces, random.Random(mlflow_server.backend))
        await drained(svc)

        from mlflow.tracing.client import TracingClient

        experiment_id = await svc.app.gateway.experiment_id()
        found = TracingClient(svc.tracking_uri).search_traces(
            experiment_ids=[experiment_id], max_results=500, include_spans=False
        )
        assert len(found) == len(traces)
        start = started_ms - 60_000
        cases: list[tuple[dict[str, Any], Any]] = [
            ({}, lambda info: True),
            ({"user_id": "u1"}, lambda info: info.trace_metadata.get("mlflow.trace.user") == "u1"),
            (
                {"session_id": "s2"},
                lambda info: info.trace_metadata.get("mlflow.trace.session") == "s2",
            ),
            (
                {"trace_metadata": {"app": "mobile's"}},
                lambda info: info.trace_metadata.get("app") == "mobile's",
            ),
            ({"feedback_name": "user_helpful"}, lambda info: True),
        ]
        for args, keep in cases:
            request = fb.SummarizeFeedbackRequest(**args)
            request.start_time.FromMilliseconds(start)
            request.interval.FromSeconds(1)
            summary = await svc.feedback.SummarizeFeedback(request)
            name = args.get("feedback_name", "user_feedback")
            whole = _recount(found, name, keep)
            _assert_figures(summary, whole.get(0))
            assert not summary.truncated
            per_bucket = _recount(found, name, keep, 1000)
            assert sum(b.total_traces for b in summary.buckets) == summary.total_traces
            assert len(summary.buckets) == len(
                range(start // 1000 * 1000, summary.end_time.ToMilliseconds(), 1000)
            )
            for b in summary.buckets:
                _assert_figures(b, per_bucket.get(b.start_time.ToMilliseconds()))
        # The recount has something to compare: changes, retractions, several voters.
        totals = _recount(found, "user_feedback", lambda info: True)[0]
        assert totals["pos"] + totals["neg"] > 5 and totals["sums"]
    finally:
        await stop_service(svc)


async def test_summary_requests_are_checked(service: Service) -> None:
    for request, field in (
        (fb.SummarizeFeedbackRequest(user_id="both ' and \""), "user_id"),
        (fb.SummarizeFeedbackRequest(trace_metadata={"bad key": "v"}), "trace_metadata['bad key']"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.feedback.SummarizeFeedback(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
    request = fb.SummarizeFeedbackRequest()
    request.interval.FromSeconds(60)  # 1,441 buckets in the default day
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await service.feedback.SummarizeFeedback(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
