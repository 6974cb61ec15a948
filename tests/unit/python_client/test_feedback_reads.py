"""The typed client's FeedbackService reads: `list_feedback` and `summarize`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from feedback.v1 import common_pb2, feedback_service_pb2
from feedback_client import (
    Assessment,
    AssessmentKind,
    FeedbackClient,
    FeedbackList,
    FeedbackSummary,
    IngestionState,
    Source,
    SourceType,
    SummaryBucket,
    ValueKind,
    by_trace_id,
)
from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from tests.unit.python_client.support import SPAN_ID, TRACE_ID, Server

pytestmark = pytest.mark.timeout(30)


def test_list_feedback_parses_typed_assessments(client: FeedbackClient, server: Server) -> None:
    created = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(created)
    future, request = server.unary(
        lambda: client.list_feedback(by_trace_id(TRACE_ID, span_id=SPAN_ID)),
        "ListFeedback",
        feedback_service_pb2.ListFeedbackResponse(
            trace_id=TRACE_ID,
            assessments=[
                feedback_service_pb2.Assessment(
                    assessment_id="a-1",
                    name="user_feedback",
                    kind=feedback_service_pb2.ASSESSMENT_KIND_FEEDBACK,
                    feedback=common_pb2.FeedbackValue(boolean=False),
                    rationale="wrong",
                    source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="u-1"),
                    metadata={"k": "v"},
                    span_id=SPAN_ID,
                    create_time=stamp,
                    state=common_pb2.INGESTION_STATE_QUEUED,
                    valid=True,
                ),
                feedback_service_pb2.Assessment(
                    assessment_id="a-2",
                    name="expected_response",
                    kind=feedback_service_pb2.ASSESSMENT_KIND_EXPECTATION,
                    expectation=struct_pb2.Value(string_value="42"),
                    source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_CODE, id="ci"),
                    state=common_pb2.INGESTION_STATE_STORED,
                    valid=False,
                    supersedes_assessment_id="a-0",
                    superseded_by_assessment_id="a-3",
                    retracted=True,
                ),
            ],
        ),
    )

    assert request == feedback_service_pb2.ListFeedbackRequest(
        target=common_pb2.TraceRef(trace_id=TRACE_ID, span_id=SPAN_ID)
    )
    result = future.result(timeout=5)
    assert isinstance(result, FeedbackList)
    assert result.trace_id == TRACE_ID
    assert result.assessments == (
        Assessment(
            assessment_id="a-1",
            name="user_feedback",
            kind=AssessmentKind.FEEDBACK,
            value=False,
            value_kind=ValueKind.BOOLEAN,
            rationale="wrong",
            source=Source(SourceType.HUMAN, "u-1"),
            metadata={"k": "v"},
            span_id=SPAN_ID,
            create_time=created,
            state=IngestionState.QUEUED,
            valid=True,
        ),
        Assessment(
            assessment_id="a-2",
            name="expected_response",
            kind=AssessmentKind.EXPECTATION,
            value="42",
            value_kind=None,
            rationale="",
            source=Source(SourceType.CODE, "ci"),
            metadata={},
            span_id="",
            create_time=None,
            state=IngestionState.STORED,
            valid=False,
            supersedes_assessment_id="a-0",
            superseded_by_assessment_id="a-3",
            retracted=True,
        ),
    )


def test_summarize_sends_the_window_and_parses_the_summary(
    client: FeedbackClient, server: Server
) -> None:
    end = datetime(2026, 5, 2, tzinfo=UTC)
    start = end - timedelta(days=7)
    start_stamp, end_stamp = timestamp_pb2.Timestamp(), timestamp_pb2.Timestamp()
    start_stamp.FromDatetime(start)
    end_stamp.FromDatetime(end)
    future, request = server.unary(
        lambda: client.summarize(start, end, feedback_name="thumbs"),
        "SummarizeFeedback",
        feedback_service_pb2.SummarizeFeedbackResponse(
            total_traces=10,
            traces_with_feedback=4,
            feedback_rate=0.4,
            positive_count=3,
            negative_count=1,
            positive_rate=0.75,
            average_ratings={"helpfulness": 0.8},
            start_time=start_stamp,
            end_time=end_stamp,
            truncated=True,
        ),
    )

    assert request.start_time == start_stamp
    assert request.end_time == end_stamp
    assert request.feedback_name == "thumbs"
    assert future.result(timeout=5) == FeedbackSummary(
        total_traces=10,
        traces_with_feedback=4,
        feedback_rate=0.4,
        positive_count=3,
        negative_count=1,
        positive_rate=0.75,
        average_ratings={"helpfulness": 0.8},
        start_time=start,
        end_time=end,
        truncated=True,
    )


def test_summarize_defaults_leave_the_window_to_the_service(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        client.summarize, "SummarizeFeedback", feedback_service_pb2.SummarizeFeedbackResponse()
    )
    assert not request.HasField("start_time")
    assert not request.HasField("end_time")
    assert request.feedback_name == "user_feedback"
    summary = future.result(timeout=5)
    assert summary.total_traces == 0
    assert summary.start_time is None


def test_summarize_sends_the_filters_and_parses_buckets(
    client: FeedbackClient, server: Server
) -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(start)
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(start + timedelta(hours=1))
    bucket = feedback_service_pb2.SummaryBucket(
        start_time=stamp, end_time=later, total_traces=2, positive_count=1, positive_rate=1.0
    )
    future, request = server.unary(
        lambda: client.summarize(
            user_id="u-1",
            session_id="s-1",
            trace_metadata={"app": "web"},
            interval=timedelta(hours=1),
        ),
        "SummarizeFeedback",
        feedback_service_pb2.SummarizeFeedbackResponse(total_traces=2, buckets=[bucket]),
    )
    assert (request.user_id, request.session_id) == ("u-1", "s-1")
    assert dict(request.trace_metadata) == {"app": "web"}
    assert request.interval == duration_pb2.Duration(seconds=3600)
    [got] = future.result(timeout=5).buckets
    assert got == SummaryBucket(
        start_time=start,
        end_time=start + timedelta(hours=1),
        total_traces=2,
        traces_with_feedback=0,
        feedback_rate=0.0,
        positive_count=1,
        negative_count=0,
        positive_rate=1.0,
        average_ratings={},
    )
