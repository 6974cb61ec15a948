"""Expert review against a real MLflow server: label schemas in MLflow's label schemas,
review sessions in MLflow's review queues, leased work items, labels stored as
assessments, schema enforcement on feedback writes, and evaluation of the application
against the experts' expected responses (the seed's step 5 and 6)."""

from __future__ import annotations

import asyncio
import string
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import mlflow
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2, review_service_pb2_grpc
from feedback.v1 import feedback_service_pb2 as fb_pb
from feedback.v1 import review_service_pb2 as rv
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.tracing.client import TracingClient

from testbed.fake_openai import FakeOpenAI
from tests.integration.service import Service, start_service, stop_service, wait_until

pytestmark = pytest.mark.integration

ACCURACY_OPTIONS = ["Accurate", "Partially Accurate", "Inaccurate"]
EXPECTED_MLFLOW = (
    "MLflow is an open-source platform for managing the machine learning lifecycle, "
    "including experiment tracking, model registry, packaging, deployment, and evaluation."
)


class Review:
    """A service of its own (own MLflow experiment) with a ReviewService stub."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.stub = review_service_pb2_grpc.ReviewServiceStub(service.channel)

    async def experiment_id(self) -> str:
        return await self.service.app.gateway.experiment_id()

    def mlflow(self) -> TracingClient:
        return TracingClient(self.service.tracking_uri)


@pytest.fixture(scope="package")
async def review(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Review]:
    service = await start_service(
        mlflow_sqlite.url,
        tmp_path_factory.mktemp("review-spool"),
        experiment_name=f"review-{uuid.uuid4().hex[:8]}",
    )
    yield Review(service)
    await stop_service(service)


# --- helpers -----------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:6]}"


def details(err: grpc.aio.AioRpcError) -> tuple[str, list[str], list[str]]:
    """(ErrorInfo.reason, BadRequest fields, ResourceInfo resource types)."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    reason, fields, resources = "", [], []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            br = error_details_pb2.BadRequest()
            detail.Unpack(br)
            fields += [v.field for v in br.field_violations]
        elif detail.Is(error_details_pb2.ResourceInfo.DESCRIPTOR):
            ri = error_details_pb2.ResourceInfo()
            detail.Unpack(ri)
            resources.append(ri.resource_type)
    return reason, fields, resources


async def fails(call: Any, code: grpc.StatusCode) -> tuple[str, list[str], list[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    assert info.value.code() == code, info.value.details()
    return details(info.value)


def categorical_schema(name: str) -> rv.LabelSchema:
    return rv.LabelSchema(
        name=name,
        type=rv.LABEL_SCHEMA_TYPE_FEEDBACK,
        input=rv.LabelInput(categorical=rv.CategoricalInput(options=ACCURACY_OPTIONS)),
        instructions="Is the response factually accurate?",
        enable_comment=True,
    )


def text_expectation(name: str, max_length: int = 0) -> rv.LabelSchema:
    return rv.LabelSchema(
        name=name,
        type=rv.LABEL_SCHEMA_TYPE_EXPECTATION,
        input=rv.LabelInput(text=rv.TextInput(max_length=max_length)),
        instructions="What would be the ideal response?",
    )


async def create_schema(review: Review, schema: rv.LabelSchema) -> rv.LabelSchema:
    reply = await review.stub.CreateLabelSchema(rv.CreateLabelSchemaRequest(label_schema=schema))
    return reply.label_schema


async def seed_session(
    review: Review, reviewers: list[str], items: int = 2
) -> tuple[str, str, str, list[str]]:
    """Schemas (accuracy, expected), a session and `items` thumbs-down chat turns in it."""
    accuracy, expected = unique("response_accuracy"), unique("expected_response")
    await create_schema(review, categorical_schema(accuracy))
    await create_schema(review, text_expectation(expected))
    session = unique("quickstart_review")
    await review.stub.CreateReviewSession(
        rv.CreateReviewSessionRequest(
            session=rv.ReviewSession(
                name=session, label_schemas=[accuracy, expected], reviewers=reviewers
            )
        )
    )
    trace_ids = [await thumbs_down_turn(review, f"What is MLflow? ({i})") for i in range(items)]
    if not trace_ids:
        return session, accuracy, expected, trace_ids
    await review.stub.AddSessionItems(
        rv.AddSessionItemsRequest(
            session=session, traces=[common_pb2.TraceRef(trace_id=t) for t in trace_ids]
        )
    )
    return session, accuracy, expected, trace_ids


async def thumbs_down_turn(review: Review, message: str, user: str = "enduser_123") -> str:
    reply = await review.service.chat.Chat(chat_pb.ChatRequest(message=message, user_id=user))
    await review.service.feedback.LogFeedback(
        fb_pb.LogFeedbackRequest(
            target=common_pb2.TraceRef(trace_id=reply.trace_id),
            value=common_pb2.FeedbackValue(boolean=False),
            rationale="Missing details about MLflow's key features",
            source=common_pb2.Source(id=user),
        )
    )
    return reply.trace_id


def category(value: str, comment: str = "") -> rv.Label:
    return rv.Label(value=common_pb2.FeedbackValue(category=value), comment=comment)


def text(value: str) -> rv.Label:
    return rv.Label(value=common_pb2.FeedbackValue(text=value))


def assessments_of(review: Review, trace_id: str) -> list[Any]:
    mlflow.set_tracking_uri(review.service.tracking_uri)
    trace = mlflow.get_trace(trace_id, silent=True)
    return list(trace.info.assessments) if trace else []


def queue_items(review: Review, queue_id: str) -> dict[str, Any]:
    return {i.item_id: i for i in review.mlflow()._list_review_queue_items(queue_id)}


# --- health ------------------------------------------------------------------------------


async def test_review_service_is_served_with_health_and_reflection(review: Review) -> None:
    health = health_pb2_grpc.HealthStub(review.service.channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(service="feedback.v1.ReviewService"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


# --- label schemas -----------------------------------------------------------------------


async def test_label_schemas_are_mlflow_label_schemas(review: Review) -> None:
    name = unique("response_accuracy")
    created = await create_schema(review, categorical_schema(name))
    assert created.schema_id.startswith("ls-")
    assert list(created.input.categorical.options) == ACCURACY_OPTIONS
    assert created.HasField("create_time") and not created.builtin

    # Stored in MLflow's own label schemas, as MLflow's client sees them.
    stored = review.mlflow()._get_label_schema_by_name(await review.experiment_id(), name)
    assert stored.schema_id == created.schema_id
    assert list(stored.input.options) == ACCURACY_OPTIONS
    assert stored.instruction == "Is the response factually accurate?"

    # Creating the same definition again is idempotent; a different one is refused.
    again = await create_schema(review, categorical_schema(name))
    assert again.schema_id == created.schema_id
    changed = categorical_schema(name)
    changed.input.categorical.options.append("Unsure")
    _, _, resources = await fails(
        review.stub.CreateLabelSchema(rv.CreateLabelSchemaRequest(label_schema=changed)),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    assert resources == ["label_schema"]

    got = await review.stub.GetLabelSchema(rv.GetLabelSchemaRequest(name=name))
    assert got.label_schema == created

    listed = await review.stub.ListLabelSchemas(rv.ListLabelSchemasRequest(page_size=500))
    names = {s.name: s for s in listed.label_schemas}
    assert name in names
    assert names["Feedback"].builtin  # MLflow's built-in question


async def test_every_input_kind_round_trips(review: Review) -> None:
    inputs = {
        "pass_fail": rv.LabelInput(pass_fail=rv.PassFailInput()),
        "multi": rv.LabelInput(
            categorical=rv.CategoricalInput(options=["a", "b", "c"], multi_select=True)
        ),
        "numeric": rv.LabelInput(numeric=rv.NumericInput(min_value=1, max_value=5)),
        "text": rv.LabelInput(text=rv.TextInput(max_length=200)),
    }
    for kind, label_input in inputs.items():
        schema = rv.LabelSchema(
            name=unique(kind), type=rv.LABEL_SCHEMA_TYPE_FEEDBACK, input=label_input
        )
        created = await create_schema(review, schema)
        if kind == "pass_fail":  # the defaults MLflow's UI uses
            assert created.input.pass_fail.positive_label == "Pass"
            assert created.input.pass_fail.negative_label == "Fail"
        else:
            assert created.input == label_input


async def test_invalid_label_schemas_name_the_field(review: Review) -> None:
    cases = {
        "label_schema.name": rv.LabelSchema(
            name="has space", type=rv.LABEL_SCHEMA_TYPE_FEEDBACK, input=rv.LabelInput(text={})
        ),
        "label_schema.type": rv.LabelSchema(name="no_type", input=rv.LabelInput(text={})),
        "label_schema.input": rv.LabelSchema(name="no_input", type=rv.LABEL_SCHEMA_TYPE_FEEDBACK),
        "label_schema.input.categorical.options": rv.LabelSchema(
            name="no_options",
            type=rv.LABEL_SCHEMA_TYPE_FEEDBACK,
            input=rv.LabelInput(categorical=rv.CategoricalInput()),
        ),
        "label_schema.input.numeric": rv.LabelSchema(
            name="bad_range",
            type=rv.LABEL_SCHEMA_TYPE_FEEDBACK,
            input=rv.LabelInput(numeric=rv.NumericInput(min_value=5, max_value=1)),
        ),
    }
    for field, schema in cases.items():
        _, fields, _ = await fails(
            review.stub.CreateLabelSchema(rv.CreateLabelSchemaRequest(label_schema=schema)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field in fields, (field, fields)
    # MLflow reserves "Feedback" (any case) for its built-in question.
    _, fields, _ = await fails(
        review.stub.CreateLabelSchema(
            rv.CreateLabelSchemaRequest(label_schema=categorical_schema("feedback"))
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == ["label_schema.name"]


async def test_unknown_schema_is_not_found(review: Review) -> None:
    for call in (
        review.stub.GetLabelSchema(rv.GetLabelSchemaRequest(name="no_such_schema")),
        review.stub.DeleteLabelSchema(rv.DeleteLabelSchemaRequest(name="no_such_schema")),
    ):
        _, _, resources = await fails(call, grpc.StatusCode.NOT_FOUND)
        assert resources == ["label_schema"]


async def test_delete_schema_guards_sessions_and_the_builtin_question(review: Review) -> None:
    name = unique("tone")
    await create_schema(review, categorical_schema(name))
    session = unique("tone_review")
    await review.stub.CreateReviewSession(
        rv.CreateReviewSessionRequest(
            session=rv.ReviewSession(name=session, label_schemas=[name], reviewers=["alice"])
        )
    )
    reason, _, _ = await fails(
        review.stub.DeleteLabelSchema(rv.DeleteLabelSchemaRequest(name=name)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "LABEL_SCHEMA_IN_USE"
    reason, _, _ = await fails(
        review.stub.DeleteLabelSchema(rv.DeleteLabelSchemaRequest(name="Feedback")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert reason == "LABEL_SCHEMA_BUILTIN"
    deleted = await review.stub.DeleteLabelSchema(
        rv.DeleteLabelSchemaRequest(name=name, force=True)
    )
    assert deleted.schema_id.startswith("ls-")
    await fails(
        review.stub.GetLabelSchema(rv.GetLabelSchemaRequest(name=name)), grpc.StatusCode.NOT_FOUND
    )
    # The session no longer asks for the deleted schema.
    got = await review.stub.GetReviewSession(rv.GetReviewSessionRequest(name=session))
    assert list(got.session.label_schemas) == []


# --- schema enforcement on feedback writes -----------------------------------------------


async def test_feedback_writes_are_checked_against_label_schemas(review: Review) -> None:
    accuracy = unique("accuracy")
    await create_schema(review, categorical_schema(accuracy))
    await create_schema(
        review,
        rv.LabelSchema(
            name=unique("confidence"),
            type=rv.LABEL_SCHEMA_TYPE_FEEDBACK,
            input=rv.LabelInput(numeric=rv.NumericInput(min_value=0, max_value=1)),
        ),
    )
    # LogRatings stores `user_<dimension>` = rating / scale_max: a 0..0.6 range refuses 4/5.
    dimension = f"clarity_{uuid.uuid4().hex[:6]}"
    await create_schema(
        review,
        rv.LabelSchema(
            name=f"user_{dimension}",
            type=rv.LABEL_SCHEMA_TYPE_FEEDBACK,
            input=rv.LabelInput(numeric=rv.NumericInput(min_value=0, max_value=0.6)),
        ),
    )
    expected = unique("expected")
    await create_schema(review, text_expectation(expected, max_length=20))
    reply = await review.service.chat.Chat(chat_pb.ChatRequest(message="What is MLflow?"))
    target = common_pb2.TraceRef(trace_id=reply.trace_id)

    bad_feedback = [
        common_pb2.FeedbackValue(category="Great"),  # unknown category
        common_pb2.FeedbackValue(boolean=True),  # wrong type
        common_pb2.FeedbackValue(text="accurate"),  # not an option (case matters)
    ]
    for value in bad_feedback:
        _, fields, _ = await fails(
            review.service.feedback.LogFeedback(
                fb_pb.LogFeedbackRequest(target=target, name=accuracy, value=value)
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert fields == ["value"]
    _, fields, _ = await fails(
        review.service.feedback.LogRatings(
            fb_pb.LogRatingsRequest(target=target, ratings={dimension: 4, "other": 5})
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == [f"ratings[{dimension!r}]"]
    _, fields, _ = await fails(
        review.service.feedback.LogExpectation(
            fb_pb.LogExpectationRequest(
                target=target, name=expected, value={"string_value": "x" * 21}
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert fields == ["value"]

    # Values that fit are accepted; names without a schema are not checked.
    ok = await review.service.feedback.LogFeedback(
        fb_pb.LogFeedbackRequest(
            target=target, name=accuracy, value=common_pb2.FeedbackValue(category="Accurate")
        )
    )
    await review.service.feedback.LogRatings(
        fb_pb.LogRatingsRequest(target=target, ratings={dimension: 3})
    )
    await review.service.feedback.LogFeedback(
        fb_pb.LogFeedbackRequest(
            target=target, name="free_form", value=common_pb2.FeedbackValue(category="Great")
        )
    )
    await wait_until(
        lambda: any(
            a.assessment_id == ok.assessment_id for a in assessments_of(review, reply.trace_id)
        )
    )
    # Nothing of the refused writes reached MLflow.
    names = [a.name for a in assessments_of(review, reply.trace_id)]
    assert names.count(accuracy) == 1 and expected not in names


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


# --- the reviewers' loop -------------------------------------------------------------------


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


# --- evaluation ----------------------------------------------------------------------------


async def label_all(
    review: Review, session: str, accuracy: str, expected: str, answers: dict[str, str | None]
) -> dict[str, str]:
    """Labels every pending item; `answers` maps a request to its expected response (None:
    no expectation). Returns trace ID -> request."""
    requests: dict[str, str] = {}
    while True:
        reply = await review.stub.GetNextItem(
            rv.GetNextItemRequest(session=session, reviewer="alice")
        )
        if not reply.HasField("item"):
            return requests
        item = reply.item
        requests[item.trace_id] = item.request
        labels = {accuracy: category("Inaccurate")}
        answer = answers[item.request]
        if answer is not None:
            labels[expected] = text(answer)
        await review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=session, reviewer="alice", trace_id=item.trace_id, labels=labels
            )
        )


async def test_evaluation_reruns_labeled_traces_and_scores_new_traces(review: Review) -> None:
    session, accuracy, expected, _ = await seed_session(review, ["alice"], items=3)
    # The echo backend answers "You said: <message> This answer comes from ...": an
    # expert expecting exactly that passes; one expecting the real answer fails.
    answers: dict[str, str | None] = {
        "What is MLflow? (0)": "You said: What is MLflow? (0) This answer comes from the "
        "embedded echo backend.",
        "What is MLflow? (1)": EXPECTED_MLFLOW,
        "What is MLflow? (2)": None,
    }
    requests = await label_all(review, session, accuracy, expected, answers)
    assert len(requests) == 3

    events = [
        e
        async for e in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session=session, expectation_name=expected)
        )
    ]
    assert [e.WhichOneof("event") for e in events] == ["progress"] * 3 + ["result"]
    assert [e.progress.done_count for e in events[:3]] == [1, 2, 3]
    result = events[-1].result
    assert (result.scored_count, result.passed_count, result.skipped_count) == (2, 1, 1)
    assert result.pass_rate == pytest.approx(0.5)
    assert result.scorer == rv.SCORER_TOKEN_F1 and result.threshold == 0.5
    assert result.feedback_name == "correctness"

    by_request = {requests[i.source_trace_id]: i for i in result.items}
    passed, failed = by_request["What is MLflow? (0)"], by_request["What is MLflow? (1)"]
    assert passed.passed and passed.score == pytest.approx(1.0)
    assert not failed.passed and failed.score < 0.5
    assert by_request["What is MLflow? (2)"].status == rv.EVALUATION_ITEM_STATUS_SKIPPED

    # Each scored item is a new traced turn carrying its score as CODE feedback.
    for item in (passed, failed):
        assert item.status == rv.EVALUATION_ITEM_STATUS_SCORED
        assert item.trace_id and item.trace_id != item.source_trace_id
        score = await wait_until(
            lambda item=item: next(
                (a for a in assessments_of(review, item.trace_id) if a.name == "correctness"),
                None,
            )
        )
        assert score.assessment_id == item.assessment_id
        assert score.value == pytest.approx(item.score)
        assert str(score.source.source_type) == "CODE" and score.source.source_id == "token_f1"
        assert score.metadata["passed"] == ("true" if item.passed else "false")
        assert score.metadata["source_trace_id"] == item.source_trace_id
        trace = mlflow.get_trace(item.trace_id)
        assert trace.info.trace_metadata["feedback.eval.source_trace_id"] == item.source_trace_id
        assert trace.info.trace_metadata["feedback.rpc"] == "EvaluateSession"


async def test_evaluation_errors(review: Review) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session="no_such_session")
        ):
            pass
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    session, _, _, _ = await seed_session(review, ["alice"], items=0)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session=session, scorer=rv.SCORER_LLM_JUDGE)
        ):
            pass
    assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(info.value)[0] == "LLM_JUDGE_NOT_CONFIGURED"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        async for _ in review.stub.EvaluateSession(
            rv.EvaluateSessionRequest(session=session, threshold=1.5)
        ):
            pass
    assert details(info.value)[1] == ["threshold"]


async def test_evaluation_with_an_llm_judge(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with FakeOpenAI(chunks=["Yes\n", "It matches the expected response."]) as judge:
        service = await start_service(
            mlflow_sqlite.url,
            tmp_path_factory.mktemp("judge-spool"),
            experiment_name=f"judge-{uuid.uuid4().hex[:8]}",
            openai_base_url=judge.base_url,
            openai_model="judge-model",
        )
        try:
            review = Review(service)
            session, accuracy, expected, _ = await seed_session(review, ["alice"], items=1)
            await label_all(
                review, session, accuracy, expected, {"What is MLflow? (0)": EXPECTED_MLFLOW}
            )
            events = [
                e
                async for e in review.stub.EvaluateSession(
                    rv.EvaluateSessionRequest(
                        session=session, scorer=rv.SCORER_LLM_JUDGE, expectation_name=expected
                    )
                )
            ]
            result = events[-1].result
            assert result.scorer == rv.SCORER_LLM_JUDGE
            assert (result.scored_count, result.passed_count) == (1, 1)
            item = result.items[0]
            assert item.rationale == "It matches the expected response."
            prompt = judge.requests[0].body["messages"][-1]["content"]
            assert EXPECTED_MLFLOW in prompt and "What is MLflow? (0)" in prompt
            score = await wait_until(
                lambda: next(
                    (a for a in assessments_of(review, item.trace_id) if a.name == "correctness"),
                    None,
                )
            )
            assert str(score.source.source_type) == "LLM_JUDGE"
            assert score.source.source_id == "llm_judge:openai:judge-model"
            assert score.value == 1.0
        finally:
            await stop_service(service)


# --- arbitrary input ---------------------------------------------------------------------

_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", "Feedback", "feedback", "x' OR '1'='1", "tr-../../x", "\x00", "a b", "A" * 300]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=70),
)
_values = st.one_of(
    st.builds(common_pb2.FeedbackValue),
    st.builds(lambda b: common_pb2.FeedbackValue(boolean=b), st.booleans()),
    st.builds(lambda x: common_pb2.FeedbackValue(number=x), st.floats(allow_nan=True)),
    st.builds(lambda s: common_pb2.FeedbackValue(category=s), _texts),
    st.builds(lambda s: common_pb2.FeedbackValue(text=s), _texts),
    st.builds(
        lambda xs: common_pb2.FeedbackValue(
            structured={"list_value": {"values": [{"string_value": x} for x in xs]}}
        ),
        st.lists(_texts, max_size=3),
    ),
)


@pytest.fixture(scope="module")
async def seeded(review: Review) -> tuple[str, str, str, list[str]]:
    return await seed_session(review, ["alice", "bob"], items=2)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_review_rpcs_never_fail_internally(
    review: Review, seeded: tuple[str, str, str, list[str]], data: Any
) -> None:
    session, accuracy, expected, trace_ids = seeded
    name = data.draw(st.one_of(st.just(session), _texts))
    reviewer = data.draw(st.one_of(st.sampled_from(["alice", "BOB", "mallory"]), _texts))
    trace_id = data.draw(st.one_of(st.sampled_from(trace_ids), _texts))
    label_names = st.one_of(st.sampled_from([accuracy, expected]), _texts)
    calls = [
        lambda: review.stub.SubmitLabels(
            rv.SubmitLabelsRequest(
                session=name,
                reviewer=reviewer,
                trace_id=trace_id,
                labels={
                    k: rv.Label(value=v, comment=c)
                    for k, v, c in data.draw(
                        st.lists(st.tuples(label_names, _values, _texts), max_size=3)
                    )
                },
                request_id=data.draw(_texts),
            )
        ),
        lambda: review.stub.GetNextItem(
            rv.GetNextItemRequest(
                session=name,
                reviewer=reviewer,
                lease_duration=duration_pb2.Duration(seconds=data.draw(st.integers(-5, 10_000))),
            )
        ),
        lambda: review.stub.DeclineItem(
            rv.DeclineItemRequest(session=name, reviewer=reviewer, trace_id=trace_id)
        ),
        lambda: review.stub.CreateLabelSchema(
            rv.CreateLabelSchemaRequest(
                label_schema=rv.LabelSchema(
                    name="prop_" + data.draw(_texts),
                    type=data.draw(st.integers(-1, 3)),
                    input=rv.LabelInput(
                        categorical=rv.CategoricalInput(
                            options=data.draw(st.lists(_texts, max_size=12))
                        )
                    ),
                    instructions=data.draw(_texts),
                )
            )
        ),
        lambda: review.stub.ListReviewSessions(
            rv.ListReviewSessionsRequest(
                reviewer=reviewer,
                page_size=data.draw(st.integers(-1, 600)),
                page_token=data.draw(_texts),
            )
        ),
        lambda: review.stub.AddSessionItems(
            rv.AddSessionItemsRequest(
                session=name,
                traces=[
                    common_pb2.TraceRef(trace_id=t) for t in data.draw(st.lists(_texts, max_size=3))
                ],
            )
        ),
    ]
    depth = review.service.app.spool.depth()
    try:
        await data.draw(st.sampled_from(calls))()
    except grpc.aio.AioRpcError as err:
        assert err.code() not in {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}, (
            err.code(),
            err.details(),
        )
        if err.code() in {
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.PERMISSION_DENIED,
        }:
            # Not more (the drainer may store earlier judgments meanwhile).
            assert review.service.app.spool.depth() <= depth, "a rejected request was spooled"


# --- the Python client -------------------------------------------------------------------


async def test_python_client_runs_the_seed_review(review: Review) -> None:
    from feedback_client import (
        AsyncFeedbackClient,
        Categorical,
        EvaluationItemStatus,
        FreeText,
        InvalidArgumentError,
        Label,
        LabelSchemaType,
        NotFoundError,
        ReviewItemStatus,
        Text,
    )

    client = AsyncFeedbackClient(channel=review.service.channel, timeout=60)
    accuracy, expected = unique("response_accuracy"), unique("expected_response")
    schema = await client.create_label_schema(
        accuracy, Categorical(ACCURACY_OPTIONS), enable_comment=True
    )
    assert schema.input == Categorical(tuple(ACCURACY_OPTIONS))
    await client.create_label_schema(expected, FreeText(), type="expectation")
    assert (await client.get_label_schema(expected)).type is LabelSchemaType.EXPECTATION
    assert {accuracy, expected} <= {s.name for s in await client.list_label_schemas()}

    session = unique("quickstart_review")
    created = await client.create_review_session(session, [accuracy, expected], ["Expert_1"])
    assert created.reviewers == ("expert_1",)
    assert session in {s.name for s in await client.list_review_sessions("expert_1")}
    since = datetime.now(UTC)
    trace_id = await thumbs_down_turn(review, "What is MLflow?")
    await wait_until(lambda: assessments_of(review, trace_id))
    added = await client.add_session_items_matching(session, feedback_value=False, start=since)
    assert [i.trace_id for i in added.items] == [trace_id]
    other = await client.add_session_items(session, [trace_id])
    assert other.items[0].status is ReviewItemStatus.PENDING

    task = await client.next_item(session, "expert_1", lease=120)
    assert task.item is not None and task.item.trace_id == trace_id
    assert [s.name for s in task.label_schemas] == [accuracy, expected]
    assert any(a.name == "user_feedback" and a.value is False for a in task.item.assessments)
    with pytest.raises(InvalidArgumentError) as bad:
        await client.submit_labels(session, "expert_1", trace_id, {accuracy: "Purple"})
    assert [v.field for v in bad.value.field_violations] == [f"labels[{accuracy!r}]"]
    done = await client.submit_labels(
        session,
        "expert_1",
        trace_id,
        {accuracy: Label("Inaccurate", comment="wrong"), expected: Text(EXPECTED_MLFLOW)},
    )
    assert done.status is ReviewItemStatus.COMPLETE
    progress = await client.session_progress(session)
    assert progress.complete_count == 1 and progress.pending_count == 0

    seen = []
    result = await client.evaluate_session(
        session, expectation_name=expected, on_progress=seen.append
    )
    assert len(seen) == 1 and result.scored_count == 1
    assert result.items[0].status is EvaluationItemStatus.SCORED
    with pytest.raises(NotFoundError):
        await client.get_review_session("no_such_session")
