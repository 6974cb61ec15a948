"""FeedbackService: validate -> convert -> domain -> convert."""

from __future__ import annotations

import grpc
from feedback.v1 import feedback_service_pb2 as pb
from feedback.v1 import feedback_service_pb2_grpc

from ..domain.feedback import (
    DEFAULT_FEEDBACK_NAME,
    FeedbackIn,
    FeedbackService,
    check_ratings,
    check_rationale,
)
from ..domain.model import JudgmentKind
from ..domain.summaries import check_summary_query
from ..domain.validation import Violations
from ..edge.tokens import FeedbackTokens
from ..errors import InvalidArgument, ServiceError
from . import convert
from . import feedback_convert as out
from .feedback_pages import list_page_out, page_in
from .feedback_tokens import FeedbackTokenMethods

DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024

MAX_BATCH = 500


class FeedbackServicer(FeedbackTokenMethods, feedback_service_pb2_grpc.FeedbackServiceServicer):
    def __init__(
        self,
        service: FeedbackService,
        *,
        tokens: FeedbackTokens | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._service = service
        self._tokens = tokens
        self._max_response_bytes = max_response_bytes

    async def LogFeedback(
        self, request: pb.LogFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogFeedbackResponse:
        v = Violations()
        item = _feedback_in(v, request)
        v.raise_if_any()
        accepted = await self._service.log_judgment(item)
        return out.accepted_out(pb.LogFeedbackResponse, accepted)

    async def LogRatings(
        self, request: pb.LogRatingsRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogRatingsResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        scale = check_ratings(v, request.ratings, request.scale_max)
        check_rationale(v, request.rationale)
        source_type, source_id = convert.source_in(v, request.source)
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
        return out.log_ratings_out(accepted, parts)

    async def LogExpectation(
        self, request: pb.LogExpectationRequest, context: grpc.aio.ServicerContext
    ) -> pb.LogExpectationResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        v.name("name", request.name)
        value = convert.structured_in(v, "value", request.value)
        source_type, source_id = convert.source_in(v, request.source)
        v.metadata("metadata", request.metadata)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        accepted = await self._service.log_judgment(
            FeedbackIn(
                kind=JudgmentKind.EXPECTATION,
                target=target,
                name=request.name,
                value=value,
                source_type=source_type,
                source_id=source_id,
                metadata=request.metadata,
                request_id=request.request_id,
            )
        )
        return out.accepted_out(pb.LogExpectationResponse, accepted)

    async def ListFeedback(
        self, request: pb.ListFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFeedbackResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        page = page_in(v, request)
        v.raise_if_any()
        trace_id, items = await self._service.list_feedback(target)
        return list_page_out(trace_id, target, items, page, self._max_response_bytes)

    async def SummarizeFeedback(
        self, request: pb.SummarizeFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.SummarizeFeedbackResponse:
        v = Violations()
        start_ms, end_ms = convert.time_window_in(v, request)
        query = check_summary_query(
            v,
            start_ms=start_ms,
            end_ms=end_ms,
            feedback_name=request.feedback_name or DEFAULT_FEEDBACK_NAME,
            user_id=request.user_id,
            session_id=request.session_id,
            trace_metadata=dict(request.trace_metadata),
            interval_s=convert.duration_in(v, "interval", request),
        )
        v.raise_if_any()
        return out.summary_out(await self._service.summarize(query))

    # --- votes taken back, and batches ---------------------------------------------------

    async def RetractFeedback(
        self, request: pb.RetractFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.RetractFeedbackResponse:
        v = Violations()
        target = convert.target_in(v, request.target, request.HasField("target"))
        name = request.name or DEFAULT_FEEDBACK_NAME
        v.name("name", name)
        if not request.source.id:
            v.add("source.id", "is required: anonymous judgments cannot be retracted")
        source_type, source_id = convert.source_in(v, request.source)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        accepted = await self._service.retract(
            target=target,
            name=name,
            source_type=source_type,
            source_id=source_id,
            request_id=request.request_id,
        )
        return out.retract_out(accepted)

    async def BatchLogFeedback(
        self, request: pb.BatchLogFeedbackRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchLogFeedbackResponse:
        count = len(request.requests)
        if not 1 <= count <= MAX_BATCH:
            raise InvalidArgument.of("requests", f"must hold 1 to {MAX_BATCH} items (got {count})")
        items: list[FeedbackIn | ServiceError] = []
        for item in request.requests:
            v = Violations()  # field paths relative to the item
            checked = _feedback_in(v, item)
            items.append(InvalidArgument(v.items) if v.items else checked)
        return out.batch_out(await self._service.log_batch(items))


def _feedback_in(v: Violations, request: pb.LogFeedbackRequest) -> FeedbackIn:
    """A LogFeedbackRequest (alone or as a batch item), checked into `v`."""
    target = convert.target_in(v, request.target, request.HasField("target"))
    name = request.name or DEFAULT_FEEDBACK_NAME
    v.name("name", name)
    value = convert.feedback_value_in(v, request.value, request.HasField("value"))
    check_rationale(v, request.rationale)
    source_type, source_id = convert.source_in(v, request.source)
    v.metadata("metadata", request.metadata)
    v.request_id("request_id", request.request_id)
    return FeedbackIn(
        kind=JudgmentKind.FEEDBACK,
        target=target,
        name=name,
        value=value,
        rationale=request.rationale,
        source_type=source_type,
        source_id=source_id,
        metadata=request.metadata,
        request_id=request.request_id,
        value_kind=request.value.WhichOneof("kind") if request.HasField("value") else None,
    )
