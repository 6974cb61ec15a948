"""The typed client's FeedbackService writes: thumbs, typed feedback, ratings, expectations,
retractions and batches; each request is checked field by field.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import pytest
from feedback.v1 import common_pb2, feedback_service_pb2
from feedback_client import (
    AlreadyExistsError,
    FeedbackClient,
    FeedbackItem,
    FieldViolation,
    IngestionState,
    InvalidArgumentError,
    LogResult,
    RatingResult,
    RatingsResult,
    RetractResult,
    SourceType,
    Text,
    TraceRef,
    by_request_id,
    by_trace_id,
)
from google.protobuf import struct_pb2
from google.rpc import code_pb2, error_details_pb2

from tests.unit.python_client.support import (
    AUTH,
    SPAN_ID,
    TRACE_ID,
    Server,
    log_response,
    rich_status,
)

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(("method", "expected"), [("thumbs_up", True), ("thumbs_down", False)])
def test_thumbs_send_boolean_user_feedback_from_the_human_user(
    client: FeedbackClient, server: Server, method: str, expected: bool
) -> None:
    future, request = server.unary(
        lambda: getattr(client, method)(
            TRACE_ID, rationale="spot on", user_id="u-1", request_id="r-1"
        ),
        "LogFeedback",
        log_response(common_pb2.INGESTION_STATE_QUEUED),
    )

    assert request.target.WhichOneof("ref") == "trace_id"
    assert request.target.trace_id == TRACE_ID
    assert request.target.span_id == ""
    assert request.name == "user_feedback"
    assert request.value.WhichOneof("kind") == "boolean"
    assert request.value.boolean is expected
    assert request.rationale == "spot on"
    assert request.source.type == common_pb2.SOURCE_TYPE_HUMAN
    assert request.source.id == "u-1"
    assert request.request_id == "r-1"
    assert dict(request.metadata) == {}
    assert AUTH in server.invocation_metadata
    assert future.result(timeout=5) == LogResult(
        assessment_id="a-1", trace_id=TRACE_ID, state=IngestionState.QUEUED, request_id="r-1"
    )


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (True, "boolean", True),
        (4, "number", 4.0),
        (0.75, "number", 0.75),
        ("accurate", "category", "accurate"),
        (Text("Great answer, but too long."), "text", "Great answer, but too long."),
        (
            {"score": 3, "tags": ["a", True], "none": None},
            "structured",
            struct_pb2.Value(
                struct_value=struct_pb2.Struct(
                    fields={
                        "score": struct_pb2.Value(number_value=3),
                        "tags": struct_pb2.Value(
                            list_value=struct_pb2.ListValue(
                                values=[
                                    struct_pb2.Value(string_value="a"),
                                    struct_pb2.Value(bool_value=True),
                                ]
                            )
                        ),
                        "none": struct_pb2.Value(null_value=struct_pb2.NULL_VALUE),
                    }
                )
            ),
        ),
        (
            ["x", 1],
            "structured",
            struct_pb2.Value(
                list_value=struct_pb2.ListValue(
                    values=[struct_pb2.Value(string_value="x"), struct_pb2.Value(number_value=1)]
                )
            ),
        ),
    ],
)
def test_feedback_types_each_value(
    client: FeedbackClient, server: Server, value: Any, kind: str, expected: Any
) -> None:
    future, request = server.unary(
        lambda: client.feedback(
            by_trace_id(TRACE_ID, span_id=SPAN_ID),
            "quality",
            value,
            rationale="because",
            source_type=SourceType.LLM_JUDGE,
            source_id="gpt-judge",
            metadata={"run": "7"},
            request_id="r-9",
        ),
        "LogFeedback",
        log_response(),
    )

    assert request.target == common_pb2.TraceRef(trace_id=TRACE_ID, span_id=SPAN_ID)
    assert request.name == "quality"
    assert request.value.WhichOneof("kind") == kind
    assert getattr(request.value, kind) == expected
    assert request.rationale == "because"
    assert request.source == common_pb2.Source(
        type=common_pb2.SOURCE_TYPE_LLM_JUDGE, id="gpt-judge"
    )
    assert dict(request.metadata) == {"run": "7"}
    assert request.request_id == "r-9"
    assert future.result(timeout=5).state is IngestionState.STORED


def test_feedback_by_client_request_id(client: FeedbackClient, server: Server) -> None:
    future, request = server.unary(
        lambda: client.feedback(by_request_id("req-42"), "user_feedback", False),
        "LogFeedback",
        feedback_service_pb2.LogFeedbackResponse(
            assessment_id="a-2", state=common_pb2.INGESTION_STATE_QUEUED, request_id="gen-1"
        ),
    )

    assert request.target.WhichOneof("ref") == "client_request_id"
    assert request.target.client_request_id == "req-42"
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="")
    assert re.fullmatch("[0-9a-f]{32}", request.request_id)  # a fresh key, set by the client
    assert future.result(timeout=5) == LogResult(
        assessment_id="a-2", trace_id="", state=IngestionState.QUEUED, request_id="gen-1"
    )


def test_targets_are_unambiguous(client: FeedbackClient) -> None:
    # A plain string must be a trace ID: a client request ID needs by_request_id(). These
    # raise before any RPC is made (an RPC would block this test until its timeout).
    with pytest.raises(ValueError, match="by_request_id"):
        client.thumbs_up("req-42")
    with pytest.raises(ValueError):
        TraceRef()
    with pytest.raises(ValueError):
        TraceRef(trace_id=TRACE_ID, client_request_id="req-42")
    with pytest.raises(ValueError):
        by_request_id("")
    with pytest.raises(TypeError):
        client.thumbs_up(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.feedback(TRACE_ID, "q", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.feedback(TRACE_ID, "q", math.nan)
    with pytest.raises(ValueError):
        client.expect(TRACE_ID, "expected_response", None)
    with pytest.raises(ValueError, match="timezone-aware"):
        client.summarize(start=datetime(2026, 1, 1))


def test_rate_sends_ratings_and_parses_each_dimension(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        lambda: client.rate(
            TRACE_ID,
            {"helpfulness": 4, "accuracy": 5},
            rationale="good",
            user_id="u-1",
            request_id="r-3",
        ),
        "LogRatings",
        feedback_service_pb2.LogRatingsResponse(
            trace_id=TRACE_ID,
            results=[
                feedback_service_pb2.RatingResult(
                    dimension="accuracy", name="user_accuracy", value=1.0, assessment_id="a-1"
                ),
                feedback_service_pb2.RatingResult(
                    dimension="helpfulness", name="user_helpfulness", value=0.8, assessment_id="a-2"
                ),
            ],
            state=common_pb2.INGESTION_STATE_STORED,
            request_id="r-3",
        ),
    )

    assert isinstance(request, feedback_service_pb2.LogRatingsRequest)
    assert request.target == common_pb2.TraceRef(trace_id=TRACE_ID)
    assert dict(request.ratings) == {"helpfulness": 4, "accuracy": 5}
    assert request.scale_max == 5
    assert request.rationale == "good"
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="u-1")
    assert request.request_id == "r-3"
    assert future.result(timeout=5) == RatingsResult(
        trace_id=TRACE_ID,
        results=(
            RatingResult("accuracy", "user_accuracy", 1.0, "a-1"),
            RatingResult("helpfulness", "user_helpfulness", 0.8, "a-2"),
        ),
        state=IngestionState.STORED,
        request_id="r-3",
    )


def test_rate_with_another_scale(client: FeedbackClient, server: Server) -> None:
    _, request = server.unary(
        lambda: client.rate(by_request_id("req-1"), {"tone": 9}, scale_max=10),
        "LogRatings",
        feedback_service_pb2.LogRatingsResponse(),
    )
    assert request.scale_max == 10
    assert request.target.client_request_id == "req-1"


def test_expect_sends_a_json_value(client: FeedbackClient, server: Server) -> None:
    future, request = server.unary(
        lambda: client.expect(
            TRACE_ID,
            "expected_facts",
            {"facts": ["open source", "tracing"]},
            source_id="expert-1",
            metadata={"dataset": "v1"},
            request_id="r-5",
        ),
        "LogExpectation",
        feedback_service_pb2.LogExpectationResponse(
            assessment_id="a-5",
            trace_id=TRACE_ID,
            state=common_pb2.INGESTION_STATE_STORED,
            request_id="r-5",
        ),
    )

    assert isinstance(request, feedback_service_pb2.LogExpectationRequest)
    assert request.target.trace_id == TRACE_ID
    assert request.name == "expected_facts"
    facts = request.value.struct_value.fields["facts"].list_value.values
    assert [v.string_value for v in facts] == ["open source", "tracing"]
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="expert-1")
    assert dict(request.metadata) == {"dataset": "v1"}
    assert request.request_id == "r-5"
    assert future.result(timeout=5) == LogResult("a-5", TRACE_ID, IngestionState.STORED, "r-5")


def test_expect_sends_a_plain_string(client: FeedbackClient, server: Server) -> None:
    _, request = server.unary(
        lambda: client.expect(TRACE_ID, "expected_response", "MLflow is an ML platform."),
        "LogExpectation",
        feedback_service_pb2.LogExpectationResponse(),
    )
    assert request.value == struct_pb2.Value(string_value="MLflow is an ML platform.")


def test_every_write_gets_its_own_fresh_request_id(client: FeedbackClient, server: Server) -> None:
    seen = set()
    for _ in range(3):
        _, request = server.unary(
            lambda: client.thumbs_down(TRACE_ID, user_id="u-1"), "LogFeedback", log_response()
        )
        seen.add(request.request_id)
    assert len(seen) == 3
    _, given = server.unary(
        lambda: client.thumbs_up(TRACE_ID, user_id="u-1", request_id="mine"),
        "LogFeedback",
        log_response(),
    )
    assert given.request_id == "mine"


def test_retract_sends_the_source_and_parses_the_answer(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        lambda: client.retract(TRACE_ID, user_id="u-1"),
        "RetractFeedback",
        feedback_service_pb2.RetractFeedbackResponse(
            assessment_id="a-7",
            trace_id=TRACE_ID,
            state=common_pb2.INGESTION_STATE_QUEUED,
            request_id="r-7",
        ),
    )
    assert request.name == "user_feedback"
    assert request.source == common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="u-1")
    assert re.fullmatch("[0-9a-f]{32}", request.request_id)
    assert future.result(timeout=5) == RetractResult(
        assessment_id="a-7", trace_id=TRACE_ID, state=IngestionState.QUEUED, request_id="r-7"
    )
    with pytest.raises(ValueError, match="source ID"):
        client.retract(TRACE_ID, user_id="")


def test_log_batch_answers_each_item_with_its_result_or_error(
    client: FeedbackClient, server: Server
) -> None:
    bad = rich_status(
        code_pb2.INVALID_ARGUMENT,
        "invalid request: value.number",
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="value.number", description="x")
            ]
        ),
        error_details_pb2.ErrorInfo(reason="INVALID_ARGUMENT", domain="feedback.v1"),
    )
    reused = rich_status(
        code_pb2.ALREADY_EXISTS,
        "reused",
        error_details_pb2.ErrorInfo(reason="REQUEST_ID_REUSED", domain="feedback.v1"),
    )
    response = feedback_service_pb2.BatchLogFeedbackResponse(
        results=[
            feedback_service_pb2.BatchLogFeedbackResult(response=log_response()),
            feedback_service_pb2.BatchLogFeedbackResult(error=bad),
            feedback_service_pb2.BatchLogFeedbackResult(error=reused),
        ]
    )
    items = [
        FeedbackItem(TRACE_ID, True, source_id="u-1"),
        FeedbackItem(TRACE_ID, 0.5, name="score"),
        FeedbackItem(TRACE_ID, False, request_id="k-1"),
    ]
    future, request = server.unary(lambda: client.log_batch(items), "BatchLogFeedback", response)
    assert [r.name for r in request.requests] == ["user_feedback", "score", "user_feedback"]
    assert request.requests[0].source.id == "u-1"
    assert request.requests[2].request_id == "k-1"
    assert len({r.request_id for r in request.requests}) == 3
    ok, invalid, again = future.result(timeout=5)
    assert isinstance(ok, LogResult) and ok.assessment_id == "a-1"
    assert isinstance(invalid, InvalidArgumentError)
    assert invalid.field_violations == [FieldViolation("value.number", "x")]
    assert isinstance(again, AlreadyExistsError) and again.reason == "REQUEST_ID_REUSED"
