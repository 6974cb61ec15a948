"""Shared by the review tests: the `Review` handle (a service with a ReviewService stub),
label schemas, a seeded session, and readers of the status details and of what MLflow
stores.
"""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import mlflow
import pytest
from feedback.v1 import chat_service_pb2 as chat_pb
from feedback.v1 import common_pb2, review_service_pb2_grpc
from feedback.v1 import feedback_service_pb2 as fb_pb
from feedback.v1 import review_service_pb2 as rv
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from mlflow.tracing.client import TracingClient

from tests.integration.service import Service

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
