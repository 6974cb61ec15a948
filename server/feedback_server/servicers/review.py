"""ReviewService: validate -> convert -> domain -> convert."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator

import grpc
from feedback.v1 import common_pb2, feedback_service_pb2, review_service_pb2_grpc
from feedback.v1 import review_service_pb2 as pb

from ..domain.feedback import DEFAULT_FEEDBACK_NAME
from ..domain.model import JsonValue, JudgmentKind, TraceTarget
from ..domain.review import (
    DEFAULT_EVAL_ITEMS,
    DEFAULT_EXPECTATION_NAME,
    DEFAULT_NEGATIVE_LABEL,
    DEFAULT_POSITIVE_LABEL,
    DEFAULT_QUERY_TRACES,
    DEFAULT_SCORE_NAME,
    MAX_ADD_TRACES,
    MAX_COMMENT_CHARS,
    MAX_EVAL_ITEMS,
    MAX_LABELS,
    MAX_QUERY_TRACES,
    MAX_REVIEWERS,
    MAX_SESSION_SCHEMAS,
    EvalItem,
    EvalOptions,
    EvalProgress,
    EvalStatus,
    FeedbackMatchSpec,
    InputKind,
    ItemStatus,
    ItemView,
    LabelIn,
    LabelInputSpec,
    LabelSchemaSpec,
    ReviewItemRecord,
    ReviewService,
    ScorerKind,
    Session,
    TraceQuerySpec,
    check_lease,
    check_page,
    check_reviewer,
    check_schema_spec,
    check_session_name,
)
from ..domain.scorers import DEFAULT_THRESHOLD
from ..domain.validation import MAX_CATEGORY_CHARS, MAX_TEXT_CHARS, Violations
from . import convert

DAY_MS = 24 * 3600 * 1000
MAX_WINDOW_MS = 366 * DAY_MS

_KINDS_IN = {
    pb.LABEL_SCHEMA_TYPE_FEEDBACK: JudgmentKind.FEEDBACK,
    pb.LABEL_SCHEMA_TYPE_EXPECTATION: JudgmentKind.EXPECTATION,
}
_KINDS_OUT = {v: k for k, v in _KINDS_IN.items()}
_STATUS_OUT = {
    ItemStatus.PENDING: pb.REVIEW_ITEM_STATUS_PENDING,
    ItemStatus.COMPLETE: pb.REVIEW_ITEM_STATUS_COMPLETE,
    ItemStatus.DECLINED: pb.REVIEW_ITEM_STATUS_DECLINED,
}
_SCORERS_IN = {
    pb.SCORER_UNSPECIFIED: ScorerKind.TOKEN_F1,
    pb.SCORER_TOKEN_F1: ScorerKind.TOKEN_F1,
    pb.SCORER_LLM_JUDGE: ScorerKind.LLM_JUDGE,
}
_SCORERS_OUT = {ScorerKind.TOKEN_F1: pb.SCORER_TOKEN_F1, ScorerKind.LLM_JUDGE: pb.SCORER_LLM_JUDGE}
_EVAL_STATUS_OUT = {
    EvalStatus.SCORED: pb.EVALUATION_ITEM_STATUS_SCORED,
    EvalStatus.SKIPPED: pb.EVALUATION_ITEM_STATUS_SKIPPED,
    EvalStatus.FAILED: pb.EVALUATION_ITEM_STATUS_FAILED,
}
_ASSESSMENT_KINDS_OUT = {
    JudgmentKind.FEEDBACK: feedback_service_pb2.ASSESSMENT_KIND_FEEDBACK,
    JudgmentKind.EXPECTATION: feedback_service_pb2.ASSESSMENT_KIND_EXPECTATION,
}


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
        _schema_ref(v, "name", request.name)
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
        _schema_ref(v, "name", request.name)
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
            _schema_ref(v, f"session.label_schemas[{i}]", name)
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
            query = _query_in(v, request.query)
        elif len(request.traces) > MAX_ADD_TRACES:
            v.add("traces", f"must have at most {MAX_ADD_TRACES} entries")
        else:
            targets = [_ref_in(v, f"traces[{i}]", ref) for i, ref in enumerate(request.traces)]
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
                value = feedback_value_at(v, f"{path}.value", label.value, label.HasField("value"))
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
                pb.LabelResult(name=n, kind=_ASSESSMENT_KINDS_OUT[k], assessment_id=a)
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
        scorer = _SCORERS_IN.get(request.scorer)
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
                            scorer=_SCORERS_OUT[event.scorer],
                            threshold=event.threshold,
                            feedback_name=event.feedback_name,
                        )
                    )


# --- converters ----------------------------------------------------------------------------


def _schema_ref(v: Violations, path: str, name: str) -> None:
    """A reference to an existing schema (MLflow's built-in `Feedback` included)."""
    if not name:
        v.add(path, "is required")
    else:
        v.name(path, name)


def schema_in(v: Violations, msg: pb.LabelSchema, present: bool) -> LabelSchemaSpec:
    if not present:
        v.add("label_schema", "is required")
    kind = _KINDS_IN.get(msg.type)
    if kind is None:
        v.add("label_schema.type", "is required: FEEDBACK or EXPECTATION")
        kind = JudgmentKind.FEEDBACK
    which = msg.input.WhichOneof("kind") if msg.HasField("input") else None
    if which == "pass_fail":
        inp = LabelInputSpec(
            InputKind.PASS_FAIL,
            positive_label=msg.input.pass_fail.positive_label or DEFAULT_POSITIVE_LABEL,
            negative_label=msg.input.pass_fail.negative_label or DEFAULT_NEGATIVE_LABEL,
        )
    elif which == "categorical":
        c = msg.input.categorical
        inp = LabelInputSpec(
            InputKind.CATEGORICAL, options=tuple(c.options), multi_select=c.multi_select
        )
    elif which == "numeric":
        n = msg.input.numeric
        inp = LabelInputSpec(
            InputKind.NUMERIC,
            min_value=n.min_value if n.HasField("min_value") else None,
            max_value=n.max_value if n.HasField("max_value") else None,
        )
    elif which == "text":
        inp = LabelInputSpec(InputKind.TEXT, max_length=msg.input.text.max_length or None)
    else:
        v.add("label_schema.input", "is required: set one of pass_fail, categorical, numeric, text")
        inp = LabelInputSpec(InputKind.TEXT)
    spec = LabelSchemaSpec(
        name=msg.name,
        kind=kind,
        input=inp,
        instructions=msg.instructions,
        enable_comment=msg.enable_comment,
    )
    check_schema_spec(v, spec)
    return spec


def schema_out(s: LabelSchemaSpec) -> pb.LabelSchema:
    inp = s.input
    if inp.kind is InputKind.PASS_FAIL:
        label_input = pb.LabelInput(
            pass_fail=pb.PassFailInput(
                positive_label=inp.positive_label, negative_label=inp.negative_label
            )
        )
    elif inp.kind is InputKind.CATEGORICAL:
        label_input = pb.LabelInput(
            categorical=pb.CategoricalInput(options=inp.options, multi_select=inp.multi_select)
        )
    elif inp.kind is InputKind.NUMERIC:
        label_input = pb.LabelInput(
            numeric=pb.NumericInput(min_value=inp.min_value, max_value=inp.max_value)
        )
    else:
        label_input = pb.LabelInput(text=pb.TextInput(max_length=inp.max_length or 0))
    out = pb.LabelSchema(
        name=s.name,
        type=_KINDS_OUT[s.kind],
        input=label_input,
        instructions=s.instructions,
        enable_comment=s.enable_comment,
        schema_id=s.schema_id,
        builtin=s.builtin,
    )
    if s.create_time_ms:
        out.create_time.FromMilliseconds(s.create_time_ms)
    if s.update_time_ms:
        out.update_time.FromMilliseconds(s.update_time_ms)
    return out


def session_out(s: Session) -> pb.ReviewSession:
    out = pb.ReviewSession(
        name=s.queue.name,
        label_schemas=[schema.name for schema in s.schemas],
        reviewers=list(s.queue.users),
        session_id=s.queue.queue_id,
    )
    if s.queue.create_time_ms:
        out.create_time.FromMilliseconds(s.queue.create_time_ms)
    if s.queue.update_time_ms:
        out.update_time.FromMilliseconds(s.queue.update_time_ms)
    return out


def item_out(item: ReviewItemRecord) -> pb.SessionItem:
    return pb.SessionItem(
        trace_id=item.trace_id, status=_STATUS_OUT[item.status], completed_by=item.completed_by
    )


def review_item_out(item: ItemView) -> pb.ReviewItem:
    out = pb.ReviewItem(
        trace_id=item.trace_id,
        request=item.request,
        response=item.response,
        assessments=[convert.assessment_out(a) for a in item.assessments],
        client_request_id=item.client_request_id,
    )
    if item.timestamp_ms:
        out.trace_time.FromMilliseconds(item.timestamp_ms)
    out.lease_expire_time.FromMilliseconds(item.lease_expire_time_ms)
    return out


def eval_item_out(item: EvalItem) -> pb.EvaluationItemResult:
    return pb.EvaluationItemResult(
        source_trace_id=item.source_trace_id,
        trace_id=item.trace_id,
        status=_EVAL_STATUS_OUT[item.status],
        request=item.request,
        response=item.response,
        expected_response=item.expected,
        score=convert.finite(item.score),
        passed=item.passed,
        rationale=item.rationale,
        assessment_id=item.assessment_id,
        error=item.error,
    )


def feedback_value_at(
    v: Violations, path: str, msg: common_pb2.FeedbackValue, present: bool
) -> JsonValue:
    """`convert.feedback_value_in` with the value's own field path."""
    kind = msg.WhichOneof("kind") if present else None
    if kind is None:
        v.add(path, "is required: set one of boolean, number, category, text, structured")
        return None
    if kind == "boolean":
        return msg.boolean
    if kind == "number":
        v.number(f"{path}.number", msg.number)
        return msg.number
    if kind == "category":
        v.text(f"{path}.category", msg.category, max_chars=MAX_CATEGORY_CHARS, required=True)
        return msg.category
    if kind == "text":
        v.text(f"{path}.text", msg.text, max_chars=MAX_TEXT_CHARS, required=True)
        return msg.text
    return convert.structured_in(v, f"{path}.structured", msg.structured)


def _ref_in(v: Violations, path: str, ref: common_pb2.TraceRef) -> TraceTarget:
    which = ref.WhichOneof("ref")
    if ref.span_id:
        v.add(f"{path}.span_id", "review items are whole traces: leave span_id empty")
    if which == "trace_id":
        v.trace_id(f"{path}.trace_id", ref.trace_id)
        return TraceTarget(trace_id=ref.trace_id)
    if which == "client_request_id":
        v.client_request_id(f"{path}.client_request_id", ref.client_request_id)
        return TraceTarget(client_request_id=ref.client_request_id)
    v.add(path, "set trace_id or client_request_id")
    return TraceTarget()


def _query_in(v: Violations, q: pb.TraceQuery) -> TraceQuerySpec:
    now_ms = int(time.time() * 1000)
    errors_before = len(v.items)
    end = convert.timestamp_in(v, "query.end_time", q.end_time, q.HasField("end_time"))
    end_ms = now_ms if end is None else end
    start = convert.timestamp_in(v, "query.start_time", q.start_time, q.HasField("start_time"))
    start_ms = end_ms - DAY_MS if start is None else start
    if len(v.items) > errors_before:
        pass  # the window is not checked when a bound is already invalid
    elif end_ms <= start_ms:
        v.add("query.end_time", "must be after start_time")
    elif end_ms - start_ms > MAX_WINDOW_MS:
        v.add("query.start_time", "the window spans at most 366 days")
    match: FeedbackMatchSpec | None = None
    if q.HasField("feedback"):
        name = q.feedback.name or DEFAULT_FEEDBACK_NAME
        v.name("query.feedback.name", name)
        path = "query.feedback.value"
        kind = q.feedback.value.WhichOneof("kind") if q.feedback.HasField("value") else None
        if kind == "structured":
            v.add(path, "must be a boolean, number, category or text")
        value = feedback_value_at(v, path, q.feedback.value, q.feedback.HasField("value"))
        match = FeedbackMatchSpec(name, value)
    max_traces = q.max_traces or DEFAULT_QUERY_TRACES
    if not 1 <= max_traces <= MAX_QUERY_TRACES:
        v.add(
            "query.max_traces",
            f"must be from 1 to {MAX_QUERY_TRACES} (0 means {DEFAULT_QUERY_TRACES})",
        )
    return TraceQuerySpec(start_ms, end_ms, match, max_traces)
