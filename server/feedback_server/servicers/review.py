"""ReviewService: validate -> convert -> domain -> convert."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator

import grpc
from feedback.v1 import review_service_pb2 as pb
from feedback.v1 import review_service_pb2_grpc

from ..domain.model import TraceTarget
from ..domain.review import (
    DEFAULT_EVAL_ITEMS,
    DEFAULT_EXPECTATION_NAME,
    DEFAULT_SCORE_NAME,
    MAX_ADD_TRACES,
    MAX_COMMENT_CHARS,
    MAX_EVAL_ITEMS,
    MAX_LABELS,
    MAX_REVIEWERS,
    MAX_SESSION_SCHEMAS,
    EvalOptions,
    EvalProgress,
    LabelIn,
    ReviewService,
    ScorerKind,
    TraceQuerySpec,
    check_lease,
    check_page,
    check_reviewer,
    check_session_name,
)
from ..domain.scorers import DEFAULT_THRESHOLD
from ..domain.validation import Violations
from . import convert
from .review_convert import (
    ASSESSMENT_KINDS_OUT,
    SCORERS_IN,
    SCORERS_OUT,
    eval_item_out,
    item_out,
    query_in,
    ref_in,
    review_item_out,
    schema_in,
    schema_out,
    schema_ref,
    session_out,
)


class ReviewServicer(review_service_pb2_grpc.ReviewServiceServicer):
    def __init__(self, service: ReviewService) -> None:
        self._service = service

    # --- label schemas -------------------------------------------------------------------

    async def CreateLabelSchema(
        self, request: pb.CreateLabelSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateLabelSchemaResponse:
        v = Violations()
        spec = schema_in(v, request.label_schema, request.HasField("label_schema"))
        v.raise_if_any()
        created = await self._service.create_schema(spec)
        return pb.CreateLabelSchemaResponse(label_schema=schema_out(created))

    async def GetLabelSchema(
        self, request: pb.GetLabelSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLabelSchemaResponse:
        v = Violations()
        schema_ref(v, "name", request.name)
        v.raise_if_any()
        schema = await self._service.get_schema(request.name)
        return pb.GetLabelSchemaResponse(label_schema=schema_out(schema))

    async def ListLabelSchemas(
        self, request: pb.ListLabelSchemasRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLabelSchemasResponse:
        v = Violations()
        size = check_page(v, request.page_size, request.page_token)
        v.raise_if_any()
        schemas, token = await self._service.list_schemas(size, request.page_token)
        return pb.ListLabelSchemasResponse(
            label_schemas=[schema_out(s) for s in schemas], next_page_token=token
        )

    async def DeleteLabelSchema(
        self, request: pb.DeleteLabelSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteLabelSchemaResponse:
        v = Violations()
        schema_ref(v, "name", request.name)
        v.raise_if_any()
        schema_id = await self._service.delete_schema(request.name, force=request.force)
        return pb.DeleteLabelSchemaResponse(schema_id=schema_id)

    # --- sessions ------------------------------------------------------------------------

    async def CreateReviewSession(
        self, request: pb.CreateReviewSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateReviewSessionResponse:
        v = Violations()
        msg = request.session
        if not request.HasField("session"):
            v.add("session", "is required")
        check_session_name(v, "session.name", msg.name)
        names = list(msg.label_schemas)
        if not 1 <= len(names) <= MAX_SESSION_SCHEMAS:
            v.add("session.label_schemas", f"must name 1 to {MAX_SESSION_SCHEMAS} label schemas")
        for i, name in enumerate(names):
            schema_ref(v, f"session.label_schemas[{i}]", name)
        if len(set(names)) != len(names):
            v.add("session.label_schemas", "must be distinct")
        reviewers = [
            check_reviewer(v, f"session.reviewers[{i}]", r) for i, r in enumerate(msg.reviewers)
        ]
        if not 1 <= len(reviewers) <= MAX_REVIEWERS:
            v.add("session.reviewers", f"must name 1 to {MAX_REVIEWERS} reviewers")
        if len(set(reviewers)) != len(reviewers):
            v.add("session.reviewers", "must be distinct (compared case-insensitively)")
        v.raise_if_any()
        session = await self._service.create_session(msg.name, names, reviewers)
        return pb.CreateReviewSessionResponse(session=session_out(session))

    async def GetReviewSession(
        self, request: pb.GetReviewSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReviewSessionResponse:
        v = Violations()
        check_session_name(v, "name", request.name)
        v.raise_if_any()
        session = await self._service.get_session(request.name)
        return pb.GetReviewSessionResponse(session=session_out(session))

    async def ListReviewSessions(
        self, request: pb.ListReviewSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReviewSessionsResponse:
        v = Violations()
        reviewer = check_reviewer(v, "reviewer", request.reviewer) if request.reviewer else ""
        size = check_page(v, request.page_size, request.page_token)
        v.raise_if_any()
        sessions, token = await self._service.list_sessions(reviewer, size, request.page_token)
        return pb.ListReviewSessionsResponse(
            sessions=[session_out(s) for s in sessions], next_page_token=token
        )

    async def AddSessionItems(
        self, request: pb.AddSessionItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddSessionItemsResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        has_query = request.HasField("query")
        targets: list[TraceTarget] = []
        query: TraceQuerySpec | None = None
        if bool(request.traces) == has_query:
            v.add("traces", "set exactly one of traces and query")
        elif has_query:
            query = query_in(v, request.query)
        elif len(request.traces) > MAX_ADD_TRACES:
            v.add("traces", f"must have at most {MAX_ADD_TRACES} entries")
        else:
            targets = [ref_in(v, f"traces[{i}]", ref) for i, ref in enumerate(request.traces)]
        v.raise_if_any()
        added = await self._service.add_items(request.session, targets, query)
        return pb.AddSessionItemsResponse(
            items=[item_out(i) for i in added.items],
            matched_count=added.matched,
            truncated=added.truncated,
        )

    # --- the reviewers' loop ---------------------------------------------------------------

    async def GetNextItem(
        self, request: pb.GetNextItemRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetNextItemResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        reviewer = check_reviewer(v, "reviewer", request.reviewer)
        seconds = (
            request.lease_duration.ToTimedelta().total_seconds()
            if request.HasField("lease_duration")
            else None
        )
        lease_s = check_lease(v, seconds)
        v.raise_if_any()
        session, item = await self._service.next_item(request.session, reviewer, lease_s)
        out = pb.GetNextItemResponse(label_schemas=[schema_out(s) for s in session.schemas])
        if item is not None:
            out.item.CopyFrom(review_item_out(item))
        return out

    async def SubmitLabels(
        self, request: pb.SubmitLabelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitLabelsResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        reviewer = check_reviewer(v, "reviewer", request.reviewer)
        v.trace_id("trace_id", request.trace_id)
        labels: dict[str, LabelIn] = {}
        if not 1 <= len(request.labels) <= MAX_LABELS:
            v.add("labels", f"must have 1 to {MAX_LABELS} entries")
        else:
            for name, label in request.labels.items():
                path = f"labels[{name[:64]!r}]"
                v.name(path, name)
                value = convert.feedback_value_in(
                    v, label.value, label.HasField("value"), f"{path}.value"
                )
                v.text(f"{path}.comment", label.comment, max_chars=MAX_COMMENT_CHARS)
                labels[name] = LabelIn(value, label.comment)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        done = await self._service.submit_labels(
            request.session, reviewer, request.trace_id, labels, request.request_id
        )
        return pb.SubmitLabelsResponse(
            trace_id=done.trace_id,
            results=[
                pb.LabelResult(name=n, kind=ASSESSMENT_KINDS_OUT[k], assessment_id=a)
                for n, k, a in done.results
            ],
            state=convert.STATES_OUT[done.state],
            status=pb.REVIEW_ITEM_STATUS_COMPLETE,
            request_id=done.request_id,
        )

    async def DeclineItem(
        self, request: pb.DeclineItemRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeclineItemResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        reviewer = check_reviewer(v, "reviewer", request.reviewer)
        v.trace_id("trace_id", request.trace_id)
        v.raise_if_any()
        item = await self._service.decline(request.session, reviewer, request.trace_id)
        return pb.DeclineItemResponse(item=item_out(item))

    async def GetSessionProgress(
        self, request: pb.GetSessionProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSessionProgressResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        v.raise_if_any()
        p = await self._service.progress(request.session)
        return pb.GetSessionProgressResponse(
            total_count=p.total,
            pending_count=p.pending,
            complete_count=p.complete,
            declined_count=p.declined,
            leased_count=p.leased,
            reviewers=[
                pb.ReviewerProgress(
                    reviewer=r.reviewer,
                    complete_count=r.complete,
                    declined_count=r.declined,
                    leased_count=r.leased,
                )
                for r in p.reviewers
            ],
        )

    # --- evaluation ------------------------------------------------------------------------

    async def EvaluateSession(
        self, request: pb.EvaluateSessionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.EvaluateSessionResponse]:
        v = Violations()
        check_session_name(v, "session", request.session)
        scorer = SCORERS_IN.get(request.scorer)
        if scorer is None:
            v.add("scorer", "is not a known Scorer")
            scorer = ScorerKind.TOKEN_F1
        threshold = request.threshold or DEFAULT_THRESHOLD
        if not (math.isfinite(threshold) and 0 < threshold <= 1):
            v.add("threshold", "must be from 0 (exclusive) to 1 (inclusive)")
        expectation_name = request.expectation_name or DEFAULT_EXPECTATION_NAME
        v.name("expectation_name", expectation_name)
        feedback_name = request.feedback_name or DEFAULT_SCORE_NAME
        v.name("feedback_name", feedback_name)
        max_items = request.max_items or DEFAULT_EVAL_ITEMS
        if not 1 <= max_items <= MAX_EVAL_ITEMS:
            v.add("max_items", f"must be from 1 to {MAX_EVAL_ITEMS} (0 means {DEFAULT_EVAL_ITEMS})")
        v.raise_if_any()
        options = EvalOptions(scorer, threshold, expectation_name, feedback_name, max_items)
        events = self._service.evaluate(request.session, options)
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, EvalProgress):
                    yield pb.EvaluateSessionResponse(
                        progress=pb.EvaluationProgress(
                            done_count=event.done,
                            total_count=event.total,
                            item=eval_item_out(event.item),
                        )
                    )
                else:
                    yield pb.EvaluateSessionResponse(
                        result=pb.EvaluationResult(
                            items=[eval_item_out(i) for i in event.items],
                            scored_count=event.scored,
                            passed_count=event.passed,
                            skipped_count=event.skipped,
                            failed_count=event.failed,
                            pass_rate=event.pass_rate,
                            scorer=SCORERS_OUT[event.scorer],
                            threshold=event.threshold,
                            feedback_name=event.feedback_name,
                        )
                    )
