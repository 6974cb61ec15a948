"""Review sessions stored as MLflow's review queues, and the items added to them (by
reference and by query); the service is served with health and reflection.
"""

from __future__ import annotations

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from feedback.v1 import review_service_pb2 as rv
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.review.support import (
    Review,
    assessments_of,
    categorical_schema,
    create_schema,
    fails,
    queue_items,
    seed_session,
    text_expectation,
    thumbs_down_turn,
    unique,
)
from tests.integration.service import wait_until

pytestmark = pytest.mark.integration


# --- health ------------------------------------------------------------------------------


async def test_review_service_is_served_with_health_and_reflection(review: Review) -> None:
    health = health_pb2_grpc.HealthStub(review.service.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service="feedback.v1.ReviewService"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


# --- sessions ----------------------------------------------------------------------------


async def test_sessions_are_mlflow_review_queues(review: Review) -> None:
    accuracy, expected = unique("response_accuracy"), unique("expected_response")
    await create_schema(review, categorical_schema(accuracy))
    await create_schema(review, text_expectation(expected))
    name = unique("quickstart_review")
    definition = rv.ReviewSession(
        name=name, label_schemas=[accuracy, expected], reviewers=["Alice", "bob"]
    )
    created = (
        await review.stub.CreateReviewSession(rv.CreateReviewSessionRequest(session=definition))
    ).session
    assert created.session_id.startswith("rq-")
    assert list(created.reviewers) == ["alice", "bob"]  # MLflow stores them in lower case
    assert list(created.label_schemas) == [accuracy, expected]

    queue = review.mlflow()._get_review_queue_by_name(await review.experiment_id(), name)
    assert queue.queue_id == created.session_id
    assert set(queue.users) == {"alice", "bob"}
    schema_ids = [
        (await review.stub.GetLabelSchema(rv.GetLabelSchemaRequest(name=n))).label_schema.schema_id
        for n in (accuracy, expected)
    ]
    assert sorted(queue.schema_ids) == sorted(schema_ids)

    # Idempotent create; a different definition under the name is refused.
    again = await review.stub.CreateReviewSession(rv.CreateReviewSessionRequest(session=definition))
    assert again.session.session_id == created.session_id
    other = rv.ReviewSession(name=name, label_schemas=[accuracy], reviewers=["carol"])
    await fails(
        review.stub.CreateReviewSession(rv.CreateReviewSessionRequest(session=other)),
        grpc.StatusCode.ALREADY_EXISTS,
    )

    got = await review.stub.GetReviewSession(rv.GetReviewSessionRequest(name=name))
    assert got.session == created
    mine = await review.stub.ListReviewSessions(rv.ListReviewSessionsRequest(reviewer="BOB"))
    assert name in [s.name for s in mine.sessions]
    theirs = await review.stub.ListReviewSessions(rv.ListReviewSessionsRequest(reviewer="zed"))
    assert name not in [s.name for s in theirs.sessions]


async def test_session_errors(review: Review) -> None:
    _, _, resources = await fails(
        review.stub.CreateReviewSession(
            rv.CreateReviewSessionRequest(
                session=rv.ReviewSession(
                    name=unique("s"), label_schemas=["no_such_schema"], reviewers=["alice"]
                )
            )
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert resources == ["label_schema"]
    _, fields, _ = await fails(
        review.stub.CreateReviewSession(
            rv.CreateReviewSessionRequest(
                session=rv.ReviewSession(name="bad name", label_schemas=[], reviewers=[])
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert {"session.name", "session.label_schemas", "session.reviewers"} <= set(fields)
    for call in (
        review.stub.GetReviewSession(rv.GetReviewSessionRequest(name="no_such_session")),
        review.stub.GetNextItem(rv.GetNextItemRequest(session="no_such_session", reviewer="a")),
        review.stub.GetSessionProgress(rv.GetSessionProgressRequest(session="no_such_session")),
        review.stub.AddSessionItems(
            rv.AddSessionItemsRequest(
                session="no_such_session",
                traces=[common_pb2.TraceRef(trace_id="tr-" + "0" * 32)],
            )
        ),
    ):
        _, _, resources = await fails(call, grpc.StatusCode.NOT_FOUND)
        assert resources == ["review_session"]


# --- adding items --------------------------------------------------------------------------


async def test_add_items_by_reference_and_by_query(review: Review) -> None:
    session, _, _, _ = await seed_session(review, ["alice"], items=0)
    down = [await thumbs_down_turn(review, f"Question {i}") for i in range(2)]
    up = await review.service.chat.Chat(chat_pb.ChatRequest(message="Thanks"))
    await review.service.feedback.LogFeedback(
        fb_pb.LogFeedbackRequest(
            target=common_pb2.TraceRef(trace_id=up.trace_id),
            value=common_pb2.FeedbackValue(boolean=True),
        )
    )
    crid_turn = await review.service.chat.Chat(
        chat_pb.ChatRequest(message="By request ID", client_request_id=unique("crid"))
    )
    # Wait until the judgments are in MLflow: the query reads MLflow.
    await wait_until(lambda: all(assessments_of(review, t) for t in [*down, up.trace_id]))

    added = await review.stub.AddSessionItems(
        rv.AddSessionItemsRequest(
            session=session,
            query=rv.TraceQuery(
                feedback=rv.FeedbackMatch(
                    name="user_feedback", value=common_pb2.FeedbackValue(boolean=False)
                ),
                max_traces=1000,
            ),
        )
    )
    ids = {i.trace_id for i in added.items}
    assert set(down) <= ids and up.trace_id not in ids and crid_turn.trace_id not in ids
    assert all(i.status == rv.REVIEW_ITEM_STATUS_PENDING for i in added.items)
    assert added.matched_count == len(added.items) and not added.truncated

    by_ref = await review.stub.AddSessionItems(
        rv.AddSessionItemsRequest(
            session=session,
            traces=[
                common_pb2.TraceRef(client_request_id=crid_turn.client_request_id),
                common_pb2.TraceRef(trace_id=down[0]),  # already there: unchanged
            ],
        )
    )
    assert [i.trace_id for i in by_ref.items] == [crid_turn.trace_id, down[0]]

    queue = (await review.stub.GetReviewSession(rv.GetReviewSessionRequest(name=session))).session
    in_mlflow = queue_items(review, queue.session_id)
    assert {*down, crid_turn.trace_id} <= set(in_mlflow)
    assert all(str(i.status) == "pending" for i in in_mlflow.values())


async def test_add_items_errors(review: Review) -> None:
    session, _, _, _ = await seed_session(review, ["alice"], items=0)
    ref = common_pb2.TraceRef(trace_id="tr-" + "a" * 32)
    cases: dict[str, rv.AddSessionItemsRequest] = {
        "traces": rv.AddSessionItemsRequest(session=session),  # neither traces nor query
        "traces[0].trace_id": rv.AddSessionItemsRequest(
            session=session, traces=[common_pb2.TraceRef(trace_id="tr-../../x")]
        ),
        "traces[0].span_id": rv.AddSessionItemsRequest(
            session=session,
            traces=[common_pb2.TraceRef(trace_id="tr-" + "a" * 32, span_id="0123456789abcdef")],
        ),
        "query.feedback.value": rv.AddSessionItemsRequest(
            session=session, query=rv.TraceQuery(feedback=rv.FeedbackMatch(name="user_feedback"))
        ),
    }
    both = rv.AddSessionItemsRequest(session=session, traces=[ref], query=rv.TraceQuery())
    cases["traces"] = both
    for field, request in cases.items():
        _, fields, _ = await fails(
            review.stub.AddSessionItems(request), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert field in fields, (field, fields)
    _, _, resources = await fails(
        review.stub.AddSessionItems(rv.AddSessionItemsRequest(session=session, traces=[ref])),
        grpc.StatusCode.NOT_FOUND,
    )
    assert resources == ["trace"]
