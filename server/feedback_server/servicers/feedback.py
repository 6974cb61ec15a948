"""FeedbackService: validate -> convert -> domain -> convert."""

from __future__ import annotations

import time

import grpc
from feedback.v1 import feedback_service_pb2 as pb
from feedback.v1 import feedback_service_pb2_grpc

from ..domain.feedback import (
    DEFAULT_FEEDBACK_NAME,
    FeedbackService,
    check_ratings,
    check_rationale,
    check_source,
)
from ..domain.model import JudgmentKind
from ..domain.validation import Violations
from . import convert

DAY_MS = 24 * 3600 * 1000
MAX_WINDOW_MS = 366 * DAY_MS


class FeedbackServicer(feedback_service_pb2_grpc.FeedbackServiceServicer):
    def __init__(self, service: FeedbackService) -> None:
        self._service = service

    async def LogFeedback(
        self, request: pb.LogFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogFeedbackResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        name = request.name or DEFAULT_FEEDBACK_NAME
        v.name("name", name)
        value = convert.feedback_value_in(v, request.value, request.HasField("value"))
        check_rationale(v, request.rationale)
        source_type = convert.source_type_in(v, request.source)
        source_id = check_source(v, source_type, request.source.id)
        v.metadata("metadata", request.metadata)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        accepted = await self._service.log_judgment(
            kind=JudgmentKind.FEEDBACK,
            target=target,
            name=name,
            value=value,
            rationale=request.rationale,
            source_type=source_type,
            source_id=source_id,
            metadata=request.metadata,
            request_id=request.request_id,
        )
        return pb.LogFeedbackResponse(
            assessment_id=accepted.assessment_ids[0],
            trace_id=accepted.trace_id or "",
            state=convert.STATES_OUT[accepted.state],
            request_id=accepted.request_id,
        )

    async def LogRatings(
        self, request: pb.LogRatingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogRatingsResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        scale = check_ratings(v, request.ratings, request.scale_max)
        check_rationale(v, request.rationale)
        source_type = convert.source_type_in(v, request.source)
        source_id = check_source(v, source_type, request.source.id)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        accepted, parts = await self._service.log_ratings(
            target=target,
            ratings=dict(request.ratings),
            scale_max=scale,
            rationale=request.rationale,
            source_type=source_type,
            source_id=source_id,
            request_id=request.request_id,
        )
        return pb.LogRatingsResponse(
            trace_id=accepted.trace_id or "",
            results=[
                pb.RatingResult(dimension=d, name=n, value=val, assessment_id=aid)
                for (d, n, val), aid in zip(parts, accepted.assessment_ids, strict=True)
            ],
            state=convert.STATES_OUT[accepted.state],
            request_id=accepted.request_id,
        )

    async def LogExpectation(
        self, request: pb.LogExpectationRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogExpectationResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        v.name("name", request.name)
        value = convert.structured_in(v, "value", request.value)
        source_type = convert.source_type_in(v, request.source)
        source_id = check_source(v, source_type, request.source.id)
        v.metadata("metadata", request.metadata)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        accepted = await self._service.log_judgment(
            kind=JudgmentKind.EXPECTATION,
            target=target,
            name=request.name,
            value=value,
            source_type=source_type,
            source_id=source_id,
            metadata=request.metadata,
            request_id=request.request_id,
        )
        return pb.LogExpectationResponse(
            assessment_id=accepted.assessment_ids[0],
            trace_id=accepted.trace_id or "",
            state=convert.STATES_OUT[accepted.state],
            request_id=accepted.request_id,
        )

    async def ListFeedback(
        self, request: pb.ListFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFeedbackResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        v.raise_if_any()
        trace_id, items = await self._service.list_feedback(target)
        return pb.ListFeedbackResponse(
            trace_id=trace_id, assessments=[convert.assessment_out(a) for a in items]
        )

    async def SummarizeFeedback(
        self, request: pb.SummarizeFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.SummarizeFeedbackResponse:
        v = Violations()
        now_ms = int(time.time() * 1000)
        end = convert.timestamp_in(v, "end_time", request.end_time, request.HasField("end_time"))
        end_ms = now_ms if end is None else end
        start = convert.timestamp_in(
            v, "start_time", request.start_time, request.HasField("start_time")
        )
        start_ms = end_ms - DAY_MS if start is None else start
        if v.items:
            pass  # the window is not checked when a bound is already invalid
        elif end_ms <= start_ms:
            v.add("end_time", "must be after start_time")
        elif end_ms - start_ms > MAX_WINDOW_MS:
            v.add("start_time", "the window spans at most 366 days")
        name = request.feedback_name or DEFAULT_FEEDBACK_NAME
        v.name("feedback_name", name)
        v.raise_if_any()
        s = await self._service.summarize(start_ms, end_ms, name)
        out = pb.SummarizeFeedbackResponse(
            total_traces=s.total_traces,
            traces_with_feedback=s.traces_with_feedback,
            feedback_rate=s.feedback_rate,
            positive_count=s.positive_count,
            negative_count=s.negative_count,
            positive_rate=s.positive_rate,
            average_ratings={k: convert.finite(x) for k, x in s.average_ratings.items()},
            truncated=s.truncated,
        )
        out.start_time.FromMilliseconds(s.start_ms)
        out.end_time.FromMilliseconds(s.end_ms)
        return out
