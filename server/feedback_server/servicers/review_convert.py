"""Converters between review_service.proto messages and the review domain's types."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from feedback.v1 import common_pb2, feedback_service_pb2
from feedback.v1 import review_service_pb2 as pb

from ..domain.feedback import DEFAULT_FEEDBACK_NAME
from ..domain.model import JudgmentKind, TraceTarget
from ..domain.review import (
    DEFAULT_NEGATIVE_LABEL,
    DEFAULT_POSITIVE_LABEL,
    DEFAULT_QUERY_TRACES,
    MAX_QUERY_TRACES,
    EvalItem,
    EvalStatus,
    FeedbackMatchSpec,
    InputKind,
    ItemStatus,
    ItemView,
    LabelInputSpec,
    LabelSchemaSpec,
    ReviewItemRecord,
    ScorerKind,
    Session,
    TraceQuerySpec,
    check_schema_spec,
    label_input,
)
from ..domain.validation import Violations
from . import convert

DAY_MS = 24 * 3600 * 1000
MAX_WINDOW_MS = 366 * DAY_MS

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
SCORERS_IN = {
    pb.SCORER_UNSPECIFIED: ScorerKind.TOKEN_F1,
    pb.SCORER_TOKEN_F1: ScorerKind.TOKEN_F1,
    pb.SCORER_LLM_JUDGE: ScorerKind.LLM_JUDGE,
}
SCORERS_OUT = {ScorerKind.TOKEN_F1: pb.SCORER_TOKEN_F1, ScorerKind.LLM_JUDGE: pb.SCORER_LLM_JUDGE}
_EVAL_STATUS_OUT = {
    EvalStatus.SCORED: pb.EVALUATION_ITEM_STATUS_SCORED,
    EvalStatus.SKIPPED: pb.EVALUATION_ITEM_STATUS_SKIPPED,
    EvalStatus.FAILED: pb.EVALUATION_ITEM_STATUS_FAILED,
}
ASSESSMENT_KINDS_OUT = {
    JudgmentKind.FEEDBACK: feedback_service_pb2.ASSESSMENT_KIND_FEEDBACK,
    JudgmentKind.EXPECTATION: feedback_service_pb2.ASSESSMENT_KIND_EXPECTATION,
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


def ref_in(v: Violations, path: str, ref: common_pb2.TraceRef) -> TraceTarget:
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


def query_in(v: Violations, q: pb.TraceQuery) -> TraceQuerySpec:
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
        value = convert.feedback_value_in(v, q.feedback.value, q.feedback.HasField("value"), path)
        match = FeedbackMatchSpec(name, value)
    max_traces = q.max_traces or DEFAULT_QUERY_TRACES
    if not 1 <= max_traces <= MAX_QUERY_TRACES:
        v.add(
            "query.max_traces",
            f"must be from 1 to {MAX_QUERY_TRACES} (0 means {DEFAULT_QUERY_TRACES})",
        )
    return TraceQuerySpec(start_ms, end_ms, match, max_traces)
