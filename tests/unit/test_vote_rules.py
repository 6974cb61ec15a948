"""The feedback service's vote rules over a real spool and an in-memory MLflow that keeps
MLflow's override semantics: a changed vote supersedes, a retraction takes back (also a
judgment still queued), request IDs are bound to their request, batches answer item by
item, the judged-by tag follows the last valid feedback, counters count once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from feedback_server.domain.drainer import Drainer
from feedback_server.domain.feedback import FeedbackIn, FeedbackService
from feedback_server.domain.model import (
    IngestionState,
    Invalidation,
    Judgment,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceJudgments,
    TraceTarget,
    WriteOutcome,
    WriteResult,
)
from feedback_server.domain.spool import Spool
from feedback_server.domain.supersession import MARKER_KEY, link, marker_name
from feedback_server.domain.traces import TraceRegistry
from feedback_server.domain.writer import MlflowWriter
from feedback_server.errors import (
    InvalidArgument,
    NotFound,
    RequestIdReused,
    ServiceError,
    Unavailable,
)
from feedback_server.metrics import SpoolMetrics
from feedback_server.quality_metrics import JudgmentMetrics
from prometheus_client import CollectorRegistry

pytestmark = pytest.mark.timeout(60)

TRACE = "tr-" + "d" * 32


class FakeMlflow:
    """Traces, assessments (MLflow's `overrides`: the overridden one becomes invalid) and
    tags; `down` makes every call fail as an unreachable MLflow."""

    def __init__(self) -> None:
        self.assessments: dict[str, list[StoredAssessment]] = {TRACE: []}
        self.tags: dict[str, set[str]] = {TRACE: set()}
        self.down = False
        self.clock = 0
        self.after_untag: Any = None  # called once the tag is removed (a racing writer)
        self.trace_reads = self.single_reads = 0

    def _up(self) -> None:
        if self.down:
            raise Unavailable("MLflow is down")

    def _add(self, trace_id: str, a: StoredAssessment) -> None:
        self.clock += 1
        items = self.assessments[trace_id]
        if a.overrides:
            items[:] = [
                replace(x, valid=False) if x.assessment_id == a.overrides else x for x in items
            ]
        items.append(replace(a, create_time_ms=self.clock))

    async def trace_exists(self, trace_id: str) -> bool:
        self._up()
        return trace_id in self.assessments

    async def find_trace_by_client_request_id(self, crid: str) -> str | None:
        self._up()
        return None

    async def get_assessment(self, trace_id: str, assessment_id: str) -> StoredAssessment | None:
        self._up()
        self.single_reads += 1
        found = [a for a in self.assessments.get(trace_id, []) if a.assessment_id == assessment_id]
        return found[0] if found else None

    async def read_trace(self, trace_id: str) -> TraceJudgments | None:
        self._up()
        self.trace_reads += 1
        if trace_id not in self.assessments:
            return None
        judged = frozenset(self.tags[trace_id])
        return TraceJudgments(trace_id, list(self.assessments[trace_id]), judged)

    async def list_assessments(self, trace_id: str) -> list[StoredAssessment] | None:
        state = await self.read_trace(trace_id)
        return None if state is None else state.assessments

    async def write_assessment(
        self, j: Judgment, trace_id: str, overrides: str | None = None
    ) -> WriteOutcome:
        if self.down:
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id)
        if all(a.assessment_id != j.assessment_id for a in self.assessments[trace_id]):
            self._add(
                trace_id,
                StoredAssessment(
                    j.assessment_id,
                    j.name,
                    j.kind,
                    j.value,
                    j.source_type,
                    j.source_id,
                    span_id=j.target.span_id,
                    overrides=overrides,
                ),
            )
        return WriteOutcome(WriteResult.STORED, trace_id)

    async def write_invalidation(self, inv: Invalidation, trace_id: str) -> WriteOutcome:
        if self.down:
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id)
        if all(a.assessment_id != inv.assessment_id for a in self.assessments[trace_id]):
            self._add(
                trace_id,
                StoredAssessment(
                    inv.assessment_id,
                    marker_name(inv.name, inv.reason),
                    JudgmentKind.FEEDBACK,
                    None,
                    inv.source_type,
                    inv.source_id,
                    span_id=inv.span_id,
                    overrides=inv.target_id,
                    metadata={MARKER_KEY: inv.reason},
                ),
            )
        return WriteOutcome(WriteResult.STORED, trace_id)

    async def set_judged(self, trace_id: str, name: str, judged: bool) -> None:
        self._up()
        if judged:
            self.tags[trace_id].add(name)
        else:
            self.tags[trace_id].discard(name)
            if self.after_untag is not None:
                hook, self.after_untag = self.after_untag, None
                hook()

    def valid(self, trace_id: str = TRACE) -> list[tuple[str, str, Any]]:
        return [
            (a.source_id, a.name, a.value) for a in link(self.assessments[trace_id], []) if a.valid
        ]


class Stack:
    def __init__(self, mlflow: FakeMlflow, spool: Spool, registry: CollectorRegistry) -> None:
        self.mlflow = mlflow
        self.spool = spool
        self.drainer = Drainer(
            spool,
            MlflowWriter(mlflow, TraceRegistry()),
            base_backoff_s=0.01,
            max_backoff_s=0.05,
            poll_interval_s=0.05,
        )  # type: ignore[arg-type]
        self.metrics = JudgmentMetrics(registry=registry)
        self.service = FeedbackService(
            mlflow,  # type: ignore[arg-type]
            TraceRegistry(),
            spool,
            self.drainer,
            trace_grace_s=0.2,
            metrics=self.metrics,
        )

    async def vote(self, up: bool, source: str = "alice", request_id: str = "", **kw: Any) -> Any:
        return await self.service.log_judgment(thumb(up, source, request_id, **kw))

    async def retract(self, source: str = "alice", request_id: str = "") -> Any:
        return await self.service.retract(
            target=TraceTarget(trace_id=TRACE),
            name="user_feedback",
            source_type=SourceType.HUMAN,
            source_id=source,
            request_id=request_id,
        )

    async def drained(self) -> None:
        for _ in range(400):
            if self.spool.depth() == 0 and self.drainer.in_flight == 0:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the spool did not drain")

    def accepted(self, value_class: str) -> float:
        for metric in self.metrics.accepted.collect():
            for s in metric.samples:
                if s.name.endswith("_total") and s.labels == {
                    "name": "user_feedback",
                    "value_class": value_class,
                }:
                    return s.value
        return 0.0


def thumb(up: bool, source: str = "alice", request_id: str = "", **kw: Any) -> FeedbackIn:
    return FeedbackIn(
        kind=JudgmentKind.FEEDBACK,
        target=kw.pop("target", TraceTarget(trace_id=TRACE)),
        name="user_feedback",
        value=up,
        source_type=SourceType.HUMAN,
        source_id=source,
        metadata={},
        request_id=request_id,
        **kw,
    )


@pytest.fixture
async def stack(tmp_path: Path) -> Any:
    registry = CollectorRegistry()
    async with Spool(tmp_path / "spool.sqlite3", metrics=SpoolMetrics(registry)) as spool:
        s = Stack(FakeMlflow(), spool, registry)
        s.drainer.start()
        yield s
        await s.drainer.stop(1.0)


async def test_a_changed_vote_supersedes_and_anonymous_votes_add_up(stack: Stack) -> None:
    first = await stack.vote(True)
    second = await stack.vote(False)
    assert second.superseded == [first.assessment_ids[0]]
    await stack.vote(True, "anonymous")
    await stack.vote(True, "anonymous")
    await stack.drained()
    assert sorted(stack.mlflow.valid()) == [
        ("alice", "user_feedback", False),
        ("anonymous", "user_feedback", True),
        ("anonymous", "user_feedback", True),
    ]
    assert stack.mlflow.tags[TRACE] == {"user_feedback"}
    assert (stack.accepted("positive"), stack.accepted("negative")) == (3, 1)


async def test_a_retraction_takes_back_the_current_vote_also_while_queued(stack: Stack) -> None:
    stack.mlflow.down = True  # everything stays queued, in order
    vote = await stack.vote(True)
    taken = await stack.retract()
    assert taken.assessment_ids == vote.assessment_ids and taken.state is IngestionState.QUEUED
    with pytest.raises(NotFound):  # the latest queued event of alice is a retraction
        await stack.retract(request_id="again")
    stack.mlflow.down = False
    await stack.drained()
    assert stack.mlflow.valid() == []
    assert stack.mlflow.tags[TRACE] == set()  # no valid user_feedback left: untagged
    # Replayed with the same request_id: the same answer, nothing written.
    again = await stack.retract(request_id=taken.request_id)
    assert again.assessment_ids == taken.assessment_ids


async def test_retracting_what_is_not_there(stack: Stack) -> None:
    with pytest.raises(NotFound):  # MLflow answers: bob has no vote
        await stack.retract("bob")
    stack.mlflow.down = True
    with pytest.raises(Unavailable):  # MLflow cannot tell, and nothing is known here
        await stack.retract("bob")
    stack.mlflow.down = False
    await stack.vote(False, "bob")
    await stack.drained()
    stack.mlflow.down = True  # the vote is stored: this service knows it
    taken = await stack.retract("bob")
    assert taken.state is IngestionState.QUEUED
    stack.mlflow.down = False
    await stack.drained()
    assert stack.mlflow.valid() == []


async def test_a_request_id_is_bound_to_its_request(stack: Stack) -> None:
    first = await stack.vote(True, request_id="k-1")
    same = await stack.vote(True, request_id="k-1")
    assert same.assessment_ids == first.assessment_ids
    with pytest.raises(RequestIdReused) as caught:
        await stack.vote(False, request_id="k-1")
    assert caught.value.reason == "REQUEST_ID_REUSED"
    other_trace = TraceTarget(trace_id="tr-" + "e" * 32)
    stack.mlflow.assessments[other_trace.trace_id or ""] = []
    stack.mlflow.tags[other_trace.trace_id or ""] = set()
    with pytest.raises(RequestIdReused):  # another trace is another request too
        await stack.vote(True, request_id="k-1", target=other_trace)
    ratings = dict(
        target=TraceTarget(trace_id=TRACE),
        scale_max=5,
        rationale="",
        source_type=SourceType.HUMAN,
        source_id="alice",
        request_id="k-2",
    )
    await stack.service.log_ratings(ratings={"a": 1}, **ratings)  # type: ignore[arg-type]
    before = await stack.spool.stats()
    with pytest.raises(RequestIdReused):  # refused before its new dimension is written
        await stack.service.log_ratings(ratings={"a": 1, "b": 2}, **ratings)  # type: ignore[arg-type]
    after = await stack.spool.stats()
    assert after.pending + after.stored == before.pending + before.stored
    await stack.drained()
    assert stack.accepted("positive") == 1  # counted once, not per retry


async def test_a_batch_answers_each_item_in_order(stack: Stack) -> None:
    bad = InvalidArgument.of("value", "is required")
    items: list[FeedbackIn | ServiceError] = [
        thumb(True, "carol"),
        bad,
        thumb(False, "carol"),  # changes the vote of the first item
        thumb(True, "dave", target=TraceTarget(trace_id="tr-" + "f" * 32)),  # unknown trace
        thumb(True, "erin", request_id="k-9"),
        thumb(False, "erin", request_id="k-9"),  # the same key, another request
    ]
    results = await stack.service.log_batch(items)
    assert results[1] is bad
    assert isinstance(results[3], NotFound)
    assert isinstance(results[5], RequestIdReused)
    first, third, fifth = results[0], results[2], results[4]
    assert not isinstance(first, ServiceError) and not isinstance(third, ServiceError)
    assert not isinstance(fifth, ServiceError)
    assert third.superseded == first.assessment_ids
    await stack.drained()
    assert sorted(stack.mlflow.valid()) == [
        ("carol", "user_feedback", False),
        ("erin", "user_feedback", True),
    ]


async def test_the_tag_is_set_again_when_a_vote_lands_while_it_is_removed(stack: Stack) -> None:
    await stack.vote(True)
    await stack.drained()

    def another_replica_writes() -> None:  # between the tag's removal and the re-read
        stack.mlflow._add(
            TRACE,
            StoredAssessment(
                "z", "user_feedback", JudgmentKind.FEEDBACK, True, SourceType.HUMAN, "zoe"
            ),
        )

    stack.mlflow.after_untag = another_replica_writes
    await stack.retract()
    await stack.drained()
    assert stack.mlflow.valid() == [("zoe", "user_feedback", True)]
    assert stack.mlflow.tags[TRACE] == {"user_feedback"}


async def test_a_known_predecessor_is_confirmed_without_reading_the_trace(stack: Stack) -> None:
    await stack.vote(True)
    await stack.drained()
    reads = stack.mlflow.trace_reads
    second = await stack.vote(False)  # supersedes the vote this service knows
    await stack.drained()
    assert stack.mlflow.trace_reads == reads and stack.mlflow.single_reads == 1
    # Superseded meanwhile by another replica: the hint is stale, the trace is read.
    stack.mlflow._add(
        TRACE,
        StoredAssessment(
            "other-replica",
            "user_feedback",
            JudgmentKind.FEEDBACK,
            True,
            SourceType.HUMAN,
            "alice",
            overrides=second.assessment_ids[0],
        ),
    )
    third = await stack.vote(True)
    assert third.superseded == second.assessment_ids  # what this replica knew
    await stack.drained()
    assert stack.mlflow.trace_reads == reads + 1
    current = [a for a in link(stack.mlflow.assessments[TRACE], []) if a.valid]
    assert [(a.assessment_id, a.overrides) for a in current] == [
        (third.assessment_ids[0], "other-replica")
    ]
