"""Label schemas stored as MLflow's label schemas, and feedback writes checked against
them.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2
from feedback.v1 import feedback_service_pb2 as fb_pb
from feedback.v1 import review_service_pb2 as rv

from tests.integration.review.support import (
    ACCURACY_OPTIONS,
    Review,
    assessments_of,
    categorical_schema,
    create_schema,
    fails,
    text_expectation,
    unique,
)
from tests.integration.service import wait_until

pytestmark = pytest.mark.integration


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
