"""The reviewers' loop: leased work items, labels stored as assessments, declines, and
progress per reviewer.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from feedback.v1 import review_service_pb2 as rv
from google.protobuf import duration_pb2

from tests.integration.review.support import (
    EXPECTED_MLFLOW,
    Review,
    assessments_of,
    category,
    fails,
    queue_items,
    seed_session,
    text,
    thumbs_down_turn,
)
from tests.integration.service import wait_until

pytestmark = pytest.mark.integration


async def test_reviewer_gets_an_item_with_what_they_need_and_labels_it(review: Review) -> None:
    session, accuracy, expected, trace_ids = await seed_session(review, ["alice", "bob"], items=1)
    next_item = await review.stub.GetNextItem(
        rv.GetNextItemRequest(session=session, reviewer="alice")
    )
    item = next_item.item
    assert item.trace_id == trace_ids[0]
    assert item.request == "What is MLflow? (0)"
    assert item.response.startswith("You said: What is MLflow? (0)")
    thumbs = [a for a in item.assessments if a.name == "user_feedback"]
    assert thumbs and thumbs[0].feedback.boolean is False and thumbs[0].source.id == "enduser_123"
    assert item.HasField("lease_expire_time") and item.HasField("trace_time")
    assert [s.name for s in next_item.label_schemas] == [accuracy, expected]

    # Asking again before submitting returns the same item (lease renewed).
    again = await review.stub.GetNextItem(rv.GetNextItemRequest(session=session, reviewer="alice"))
    assert again.item.trace_id == item.trace_id
    # Bob gets nothing: the only item is leased to Alice.
    bobs = await review.stub.GetNextItem(rv.GetNextItemRequest(session=session, reviewer="bob"))
    assert not bobs.HasField("item")
    reason, _, _ = await fails(
        review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session,
                reviewer="bob",
                trace_id=item.trace_id,
                labels={accuracy: category("Accurate")},
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "REVIEW_ITEM_LEASED"

    submitted = await review.stub.SubmitLabels(
        rv.SubmitLabelsRequest(
            session=session,
            reviewer="Alice",
            trace_id=item.trace_id,
            labels={
                accuracy: category("Partially Accurate", comment="Misses the model registry"),
                expected: text(EXPECTED_MLFLOW),
            },
            request_id="labels-1",
        )
    )
    assert submitted.status == rv.REVIEW_ITEM_STATUS_COMPLETE
    assert [(r.name, r.kind) for r in submitted.results] == sorted(
        [
            (accuracy, fb_pb.ASSESSMENT_KIND_FEEDBACK),
            (expected, fb_pb.ASSESSMENT_KIND_EXPECTATION),
        ]
    )

    # The labels are MLflow assessments from the human reviewer...
    ids = {r.assessment_id for r in submitted.results}
    stored = await wait_until(
        lambda: (
            found
            if len(
                found := [
                    a for a in assessments_of(review, item.trace_id) if a.assessment_id in ids
                ]
            )
            == 2
            else None
        )
    )
    by_name = {a.name: a for a in stored}
    assert by_name[accuracy].value == "Partially Accurate"
    assert by_name[accuracy].rationale == "Misses the model registry"
    assert by_name[expected].value == EXPECTED_MLFLOW
    assert type(by_name[expected]).__name__ == "Expectation"
    for a in stored:
        assert str(a.source.source_type) == "HUMAN" and a.source.source_id == "alice"
        assert a.metadata["review_session"] == session
    # ...and the item is complete in MLflow's review queue, completed by the reviewer.
    queue = (await review.stub.GetReviewSession(rv.GetReviewSessionRequest(name=session))).session
    in_mlflow = queue_items(review, queue.session_id)[item.trace_id]
    assert str(in_mlflow.status) == "complete" and in_mlflow.completed_by == "alice"

    # A retry with the same request_id returns the same result...
    retry = await review.stub.SubmitLabels(
        rv.SubmitLabelsRequest(
            session=session,
            reviewer="alice",
            trace_id=item.trace_id,
            labels={
                accuracy: category("Partially Accurate", comment="Misses the model registry"),
                expected: text(EXPECTED_MLFLOW),
            },
            request_id="labels-1",
        )
    )
    assert [r.assessment_id for r in retry.results] == [r.assessment_id for r in submitted.results]
    # ...but new labels for a completed item are refused, and so is declining it.
    reason, _, _ = await fails(
        review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session,
                reviewer="alice",
                trace_id=item.trace_id,
                labels={accuracy: category("Accurate")},
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "REVIEW_ITEM_COMPLETE"
    reason, _, _ = await fails(
        review.stub.DeclineItem(
            rv.DeclineItemRequest(session=session, reviewer="bob", trace_id=item.trace_id)
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "REVIEW_ITEM_COMPLETE"
    # Nothing left for anyone.
    done = await review.stub.GetNextItem(rv.GetNextItemRequest(session=session, reviewer="bob"))
    assert not done.HasField("item")


async def test_labels_that_violate_the_schemas_are_refused(review: Review) -> None:
    session, accuracy, expected, trace_ids = await seed_session(review, ["alice"], items=1)
    trace_id = trace_ids[0]
    cases: list[tuple[dict[str, rv.Label], str]] = [
        ({accuracy: category("Great")}, f"labels[{accuracy!r}]"),  # unknown category
        (
            {accuracy: rv.Label(value=common_pb2.FeedbackValue(number=1))},
            f"labels[{accuracy!r}]",
        ),  # wrong type
        ({"no_such_schema": category("Accurate")}, "labels['no_such_schema']"),
        (
            {expected: rv.Label(value=common_pb2.FeedbackValue(text="x"), comment="c")},
            f"labels[{expected!r}].comment",
        ),  # comments not enabled
        ({accuracy: rv.Label()}, f"labels[{accuracy!r}].value"),  # no value
    ]
    for labels, field in cases:
        _, fields, _ = await fails(
            review.stub.SubmitLabels(
                rv.SubmitLabelsRequest(
                    session=session, reviewer="alice", trace_id=trace_id, labels=labels
                )
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field in fields, (field, fields)
    # Nothing was written and the item is still pending.
    assert not [a for a in assessments_of(review, trace_id) if a.name in (accuracy, expected)]
    progress = await review.stub.GetSessionProgress(rv.GetSessionProgressRequest(session=session))
    assert progress.pending_count == 1 and progress.complete_count == 0


async def test_a_reviewer_not_on_the_session_is_denied(review: Review) -> None:
    session, accuracy, _, trace_ids = await seed_session(review, ["alice"], items=1)
    for call in (
        review.stub.GetNextItem(rv.GetNextItemRequest(session=session, reviewer="mallory")),
        review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session,
                reviewer="mallory",
                trace_id=trace_ids[0],
                labels={accuracy: category("Accurate")},
            )
        ),
        review.stub.DeclineItem(
            rv.DeclineItemRequest(session=session, reviewer="mallory", trace_id=trace_ids[0])
        ),
    ):
        reason, _, _ = await fails(call, grpc.StatusCode.PERMISSION_DENIED)
        assert reason == "NOT_A_REVIEWER"


async def test_an_item_not_in_the_session_is_not_found(review: Review) -> None:
    session, accuracy, _, _ = await seed_session(review, ["alice"], items=0)
    outsider = await thumbs_down_turn(review, "Not in the session")
    _, _, resources = await fails(
        review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session,
                reviewer="alice",
                trace_id=outsider,
                labels={accuracy: category("Accurate")},
            )
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert resources == ["review_item"]


async def test_two_reviewers_never_get_the_same_pending_item(review: Review) -> None:
    reviewers = [f"reviewer{i}" for i in range(6)]
    session, _, _, trace_ids = await seed_session(review, reviewers, items=4)

    async def next_for(reviewer: str) -> str:
        reply = await review.stub.GetNextItem(
            rv.GetNextItemRequest(
                session=session,
                reviewer=reviewer,
                lease_duration=duration_pb2.Duration(seconds=120),
            )
        )
        return reply.item.trace_id if reply.HasField("item") else ""

    rounds = [await asyncio.gather(*(next_for(r) for r in reviewers)) for _ in range(3)]
    first = rounds[0]
    held = [t for t in first if t]
    assert sorted(held) == sorted(trace_ids)  # 4 items for 6 reviewers: each item once
    assert first.count("") == 2
    assert all(r == first for r in rounds)  # everyone keeps their own item
    progress = await review.stub.GetSessionProgress(rv.GetSessionProgressRequest(session=session))
    assert progress.leased_count == 4 and progress.pending_count == 4

    _, fields, _ = await fails(
        review.stub.GetNextItem(
            rv.GetNextItemRequest(
                session=session,
                reviewer="reviewer0",
                lease_duration=duration_pb2.Duration(seconds=5),
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == ["lease_duration"]


async def test_decline_and_progress_per_reviewer(review: Review) -> None:
    session, accuracy, _, _ = await seed_session(review, ["alice", "bob"], items=3)
    alice = (
        await review.stub.GetNextItem(rv.GetNextItemRequest(session=session, reviewer="alice"))
    ).item
    bob = (
        await review.stub.GetNextItem(rv.GetNextItemRequest(session=session, reviewer="bob"))
    ).item
    assert alice.trace_id != bob.trace_id
    labeled = rv.SubmitLabelsRequest(
        session=session,
        reviewer="alice",
        trace_id=alice.trace_id,
        labels={accuracy: category("Inaccurate")},
    )
    first = await review.stub.SubmitLabels(labeled)
    assert first.request_id.startswith("auto-")
    # An identical retry without a request_id is idempotent too (its key is derived).
    retry = await review.stub.SubmitLabels(labeled)
    assert retry.results == first.results and retry.request_id == first.request_id
    declined = await review.stub.DeclineItem(
        rv.DeclineItemRequest(session=session, reviewer="bob", trace_id=bob.trace_id)
    )
    assert declined.item.status == rv.REVIEW_ITEM_STATUS_DECLINED
    assert declined.item.completed_by == "bob"
    # Declining again is a no-op; labeling a declined item is refused.
    again = await review.stub.DeclineItem(
        rv.DeclineItemRequest(session=session, reviewer="bob", trace_id=bob.trace_id)
    )
    assert again.item.status == rv.REVIEW_ITEM_STATUS_DECLINED
    reason, _, _ = await fails(
        review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session,
                reviewer="alice",
                trace_id=bob.trace_id,
                labels={accuracy: category("Accurate")},
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "REVIEW_ITEM_DECLINED"

    progress = await review.stub.GetSessionProgress(rv.GetSessionProgressRequest(session=session))
    assert (progress.total_count, progress.pending_count) == (3, 1)
    assert (progress.complete_count, progress.declined_count, progress.leased_count) == (1, 1, 0)
    per = {r.reviewer: r for r in progress.reviewers}
    assert (per["alice"].complete_count, per["alice"].declined_count) == (1, 0)
    assert (per["bob"].complete_count, per["bob"].declined_count) == (0, 1)
    queue = (await review.stub.GetReviewSession(rv.GetReviewSessionRequest(name=session))).session
    statuses = {t: str(i.status) for t, i in queue_items(review, queue.session_id).items()}
    assert statuses[bob.trace_id] == "declined" and statuses[alice.trace_id] == "complete"
