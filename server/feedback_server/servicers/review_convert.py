"""ReviewService's own converters: requests -> checked domain values (each `*_in` adds
its field violations to `v`), domain results -> response messages."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from feedback.v1 import common_pb2
from feedback.v1 import review_service_pb2 as pb

from ..domain.feedback import DEFAULT_FEEDBACK_NAME
from ..domain.model import JudgmentKind, TraceTarget
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
    EvalResult,
    EvalStatus,
    FeedbackMatchSpec,
    InputKind,
    ItemStatus,
    ItemView,
    LabelIn,
    LabelInputSpec,
    LabelSchemaSpec,
    Progress,
    ReviewItemRecord,
    ScorerKind,
    Session,
    Submitted,
    TraceQuerySpec,
    check_lease,
    check_reviewer,
    check_schema_spec,
    check_session_name,
    label_input,
)
from ..domain.scorers import DEFAULT_THRESHOLD
from ..domain.validation import MAX_TEXT_CHARS, Violations
from . import convert

_KINDS_IN = {
    pb.LABEL_SCHEMA_TYPE_FEEDBACK: JudgmentKind.FEEDBACK,
    pb.LABEL_SCHEMA_TYPE_EXPECTATION: JudgmentKind.EXPECTATION,
}
_KINDS_OUT = {v: k for k, v in _KINDS_IN.items()}
_INPUTS_OUT: dict[InputKind, Callable[..., Any]] = {
    InputKind.PASS_FAIL: pb.PassFailInput,
    InputKind.CATEGORICAL: pb.CategoricalInput,
    InputKind.NUMERIC: pb.NumericInput,
    InputKind.TEXT: pb.TextInput,
}
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


def schema_ref(v: Violations, path: str, name: str) -> None:
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
    i, n = msg.input, msg.input.numeric
    inp = label_input(
        i.WhichOneof("kind") if msg.HasField("input") else None,
        positive_label=i.pass_fail.positive_label or DEFAULT_POSITIVE_LABEL,
        negative_label=i.pass_fail.negative_label or DEFAULT_NEGATIVE_LABEL,
        options=i.categorical.options,
        multi_select=i.categorical.multi_select,
        min_value=n.min_value if n.HasField("min_value") else None,
        max_value=n.max_value if n.HasField("max_value") else None,
        max_length=i.text.max_length or None,
    )
    if inp is None:
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
    input_msg = pb.LabelInput(**{inp.kind.value: _INPUTS_OUT[inp.kind](**inp.fields())})
    out = pb.LabelSchema(
        name=s.name,
        type=_KINDS_OUT[s.kind],
        input=input_msg,
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
    start_ms, end_ms = convert.time_window_in(v, q, "query")
    match: FeedbackMatchSpec | None = None
    if q.HasField("feedback"):
        name = q.feedback.name or DEFAULT_FEEDBACK_NAME
        v.name("query.feedback.name", name)
        path = "query.feedback.value"
        kind = q.feedback.value.WhichOneof("kind") if q.feedback.HasField("value") else None
        if kind == "structured":
            v.add(path, "must be a boolean, number, category or text")
        value = convert.feedback_value_in(v, q.feedback.value, q.feedback.HasField("value"), path)
        if isinstance(value, str):  # compared by MLflow's trace search, quoted
            v.filter_value(f"{path}.{kind}", value, max_chars=MAX_TEXT_CHARS)
        match = FeedbackMatchSpec(name, value)
    max_traces = q.max_traces or DEFAULT_QUERY_TRACES
    if not 1 <= max_traces <= MAX_QUERY_TRACES:
        v.add(
            "query.max_traces",
            f"must be from 1 to {MAX_QUERY_TRACES} (0 means {DEFAULT_QUERY_TRACES})",
        )
    return TraceQuerySpec(start_ms, end_ms, match, max_traces)


# --- requests -----------------------------------------------------------------------------


def session_in(
    v: Violations, request: pb.CreateReviewSessionRequest
) -> tuple[list[str], list[str]]:
    """The session's label schema names and its reviewers (normalized)."""
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
    return names, reviewers


def items_in(
    v: Violations, request: pb.AddSessionItemsRequest
) -> tuple[list[TraceTarget], TraceQuerySpec | None]:
    """The traces to add: by reference, or the query that finds them (exactly one)."""
    has_query = request.HasField("query")
    if bool(request.traces) == has_query:
        v.add("traces", "set exactly one of traces and query")
    elif has_query:
        return [], _query_in(v, request.query)
    elif len(request.traces) > MAX_ADD_TRACES:
        v.add("traces", f"must have at most {MAX_ADD_TRACES} entries")
    else:
        return [_ref_in(v, f"traces[{i}]", ref) for i, ref in enumerate(request.traces)], None
    return [], None


def lease_in(v: Violations, request: pb.GetNextItemRequest) -> float:
    seconds = (
        request.lease_duration.ToTimedelta().total_seconds()
        if request.HasField("lease_duration")
        else None
    )
    return check_lease(v, seconds)


def labels_in(v: Violations, labels: Mapping[str, pb.Label]) -> dict[str, LabelIn]:
    if not 1 <= len(labels) <= MAX_LABELS:
        v.add("labels", f"must have 1 to {MAX_LABELS} entries")
        return {}
    out: dict[str, LabelIn] = {}
    for name, label in labels.items():
        path = f"labels[{name[:64]!r}]"
        v.name(path, name)
        value = convert.feedback_value_in(v, label.value, label.HasField("value"), f"{path}.value")
        v.text(f"{path}.comment", label.comment, max_chars=MAX_COMMENT_CHARS)
        out[name] = LabelIn(value, label.comment)
    return out


def eval_options_in(v: Violations, request: pb.EvaluateSessionRequest) -> EvalOptions:
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
    return EvalOptions(scorer, threshold, expectation_name, feedback_name, max_items)


# --- responses ----------------------------------------------------------------------------


def next_item_out(session: Session, item: ItemView | None) -> pb.GetNextItemResponse:
    out = pb.GetNextItemResponse(label_schemas=[schema_out(s) for s in session.schemas])
    if item is not None:
        out.item.CopyFrom(review_item_out(item))
    return out


def submitted_out(done: Submitted) -> pb.SubmitLabelsResponse:
    return pb.SubmitLabelsResponse(
        trace_id=done.trace_id,
        results=[
            pb.LabelResult(name=n, kind=convert.ASSESSMENT_KINDS_OUT[k], assessment_id=a)
            for n, k, a in done.results
        ],
        state=convert.STATES_OUT[done.state],
        status=pb.REVIEW_ITEM_STATUS_COMPLETE,
        request_id=done.request_id,
    )


def progress_out(p: Progress) -> pb.GetSessionProgressResponse:
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


def eval_event_out(event: EvalProgress | EvalResult) -> pb.EvaluateSessionResponse:
    if isinstance(event, EvalProgress):
        return pb.EvaluateSessionResponse(
            progress=pb.EvaluationProgress(
                done_count=event.done, total_count=event.total, item=eval_item_out(event.item)
            )
        )
    return pb.EvaluateSessionResponse(
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
