"""Requests and responses of `ReviewService`: converters between the client's review types
and the `feedback.v1` messages, shared by the sync and the async client."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

import grpc
from feedback.v1 import review_service_pb2 as pb

from . import _convert
from ._errors import FeedbackError
from ._review_types import (
    REVIEW_SESSION_METADATA_KEY,
    AddedItems,
    Categorical,
    EvaluationItem,
    EvaluationItemStatus,
    EvaluationProgress,
    EvaluationResult,
    FreeText,
    Label,
    LabelInput,
    LabelResult,
    LabelSchema,
    LabelSchemaType,
    LabelsResult,
    NextItem,
    Numeric,
    PassFail,
    ReviewerProgress,
    ReviewItem,
    ReviewItemStatus,
    ReviewSession,
    Scorer,
    SessionItem,
    SessionProgress,
)
from ._types import (
    AssessmentKind,
    FeedbackInput,
    IngestionState,
    Target,
)

#: Called by `evaluate_session()` for every evaluated item.
ProgressCallback = Callable[[EvaluationProgress], None]

#: The page size of the list calls that the client pages through for its caller.
PAGE_SIZE = 500

_SAFE_SESSION = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def review_metadata(
    metadata: tuple[tuple[str, str], ...], session: str
) -> tuple[tuple[str, str], ...]:
    """`metadata` plus the session (`x-review-session`), so that a mesh can route every call
    of a session to one replica; a name that is not safe in a header is left out."""
    if session and _SAFE_SESSION.fullmatch(session):
        return (*metadata, (REVIEW_SESSION_METADATA_KEY, session))
    return metadata


# --- requests -------------------------------------------------------------------------------


def _label_input(value: LabelInput) -> pb.LabelInput:
    if isinstance(value, PassFail):
        return pb.LabelInput(
            pass_fail=pb.PassFailInput(
                positive_label=value.positive_label, negative_label=value.negative_label
            )
        )
    if isinstance(value, Categorical):
        if isinstance(value.options, str):
            raise TypeError("Categorical options must be a list of strings, not one string")
        return pb.LabelInput(
            categorical=pb.CategoricalInput(
                options=list(value.options), multi_select=value.multi_select
            )
        )
    if isinstance(value, Numeric):
        return pb.LabelInput(
            numeric=pb.NumericInput(min_value=value.min_value, max_value=value.max_value)
        )
    if isinstance(value, FreeText):
        return pb.LabelInput(text=pb.TextInput(max_length=value.max_length))
    raise TypeError(
        f"input must be PassFail, Categorical, Numeric or FreeText, not {type(value).__name__}"
    )


def _schema_type(value: LabelSchemaType | str) -> int:
    if isinstance(value, str):
        try:
            value = LabelSchemaType[value.upper()]
        except KeyError:
            raise ValueError("type must be 'feedback' or 'expectation'") from None
    return value.value


def create_schema_request(
    name: str,
    input: LabelInput,
    type: LabelSchemaType | str,
    instructions: str,
    enable_comment: bool,
) -> pb.CreateLabelSchemaRequest:
    return pb.CreateLabelSchemaRequest(
        label_schema=pb.LabelSchema(
            name=name,
            type=pb.LabelSchemaType.ValueType(_schema_type(type)),
            input=_label_input(input),
            instructions=instructions,
            enable_comment=enable_comment,
        )
    )


def create_session_request(
    name: str, label_schemas: Sequence[str], reviewers: Sequence[str]
) -> pb.CreateReviewSessionRequest:
    for what, items in (("label_schemas", label_schemas), ("reviewers", reviewers)):
        if isinstance(items, str):
            raise TypeError(f"{what} must be a list of strings, not one string")
    return pb.CreateReviewSessionRequest(
        session=pb.ReviewSession(
            name=name, label_schemas=list(label_schemas), reviewers=list(reviewers)
        )
    )


def add_items_request(session: str, traces: Sequence[Target]) -> pb.AddSessionItemsRequest:
    if isinstance(traces, str):
        raise TypeError("traces must be a list of targets, not one string")
    return pb.AddSessionItemsRequest(
        session=session, traces=[_convert.trace_ref(t) for t in traces]
    )


def add_matching_request(
    session: str,
    feedback_name: str,
    feedback_value: FeedbackInput | None,
    start: datetime | None,
    end: datetime | None,
    max_traces: int,
) -> pb.AddSessionItemsRequest:
    query = pb.TraceQuery(max_traces=max_traces)
    if start is not None:
        query.start_time.CopyFrom(_convert.timestamp(start, "start"))
    if end is not None:
        query.end_time.CopyFrom(_convert.timestamp(end, "end"))
    if feedback_value is not None:
        query.feedback.CopyFrom(
            pb.FeedbackMatch(name=feedback_name, value=_convert.feedback_value(feedback_value))
        )
    return pb.AddSessionItemsRequest(session=session, query=query)


def next_item_request(
    session: str, reviewer: str, lease: timedelta | float | None
) -> pb.GetNextItemRequest:
    request = pb.GetNextItemRequest(session=session, reviewer=reviewer)
    if lease is not None:
        seconds = lease.total_seconds() if isinstance(lease, timedelta) else float(lease)
        if not math.isfinite(seconds):
            raise ValueError("lease must be finite")
        request.lease_duration.FromTimedelta(timedelta(seconds=seconds))
    return request


def submit_request(
    session: str,
    reviewer: str,
    trace_id: str,
    labels: Mapping[str, FeedbackInput | Label],
    request_id: str,
) -> pb.SubmitLabelsRequest:
    request = pb.SubmitLabelsRequest(
        session=session,
        reviewer=reviewer,
        trace_id=trace_id,
        request_id=_convert.request_id_or_new(request_id),
    )
    for name, label in labels.items():
        if isinstance(label, Label):
            request.labels[name].CopyFrom(
                pb.Label(value=_convert.feedback_value(label.value), comment=label.comment)
            )
        else:
            request.labels[name].CopyFrom(pb.Label(value=_convert.feedback_value(label)))
    return request


def evaluate_request(
    session: str,
    scorer: Scorer,
    threshold: float,
    expectation_name: str,
    feedback_name: str,
    max_items: int,
) -> pb.EvaluateSessionRequest:
    return pb.EvaluateSessionRequest(
        session=session,
        scorer=pb.Scorer.ValueType(scorer.value),
        threshold=threshold,
        expectation_name=expectation_name,
        feedback_name=feedback_name,
        max_items=max_items,
    )


# --- responses ------------------------------------------------------------------------------


def label_schema(m: pb.LabelSchema) -> LabelSchema:
    which = m.input.WhichOneof("kind")
    value: LabelInput
    if which == "pass_fail":
        value = PassFail(m.input.pass_fail.positive_label, m.input.pass_fail.negative_label)
    elif which == "categorical":
        value = Categorical(tuple(m.input.categorical.options), m.input.categorical.multi_select)
    elif which == "numeric":
        n = m.input.numeric
        value = Numeric(
            n.min_value if n.HasField("min_value") else None,
            n.max_value if n.HasField("max_value") else None,
        )
    else:
        value = FreeText(m.input.text.max_length)
    return LabelSchema(
        name=m.name,
        type=LabelSchemaType(m.type),
        input=value,
        instructions=m.instructions,
        enable_comment=m.enable_comment,
        schema_id=m.schema_id,
        builtin=m.builtin,
        create_time=_convert.optional_datetime(m, "create_time"),
        update_time=_convert.optional_datetime(m, "update_time"),
    )


def review_session(m: pb.ReviewSession) -> ReviewSession:
    return ReviewSession(
        name=m.name,
        label_schemas=tuple(m.label_schemas),
        reviewers=tuple(m.reviewers),
        session_id=m.session_id,
        create_time=_convert.optional_datetime(m, "create_time"),
        update_time=_convert.optional_datetime(m, "update_time"),
    )


def session_item(m: pb.SessionItem) -> SessionItem:
    return SessionItem(m.trace_id, ReviewItemStatus(m.status), m.completed_by)


def added_items(m: pb.AddSessionItemsResponse) -> AddedItems:
    return AddedItems(tuple(session_item(i) for i in m.items), m.matched_count, m.truncated)


def next_item(m: pb.GetNextItemResponse) -> NextItem:
    schemas = tuple(label_schema(s) for s in m.label_schemas)
    if not m.HasField("item"):
        return NextItem(None, schemas)
    i = m.item
    return NextItem(
        ReviewItem(
            trace_id=i.trace_id,
            request=i.request,
            response=i.response,
            assessments=tuple(_convert.assessment(a) for a in i.assessments),
            trace_time=_convert.optional_datetime(i, "trace_time"),
            client_request_id=i.client_request_id,
            lease_expire_time=_convert.optional_datetime(i, "lease_expire_time"),
        ),
        schemas,
    )


def labels_result(m: pb.SubmitLabelsResponse) -> LabelsResult:
    return LabelsResult(
        trace_id=m.trace_id,
        results=tuple(
            LabelResult(r.name, AssessmentKind(r.kind), r.assessment_id) for r in m.results
        ),
        state=IngestionState(m.state),
        status=ReviewItemStatus(m.status),
        request_id=m.request_id,
    )


def session_progress(m: pb.GetSessionProgressResponse) -> SessionProgress:
    return SessionProgress(
        total_count=m.total_count,
        pending_count=m.pending_count,
        complete_count=m.complete_count,
        declined_count=m.declined_count,
        leased_count=m.leased_count,
        reviewers=tuple(
            ReviewerProgress(r.reviewer, r.complete_count, r.declined_count, r.leased_count)
            for r in m.reviewers
        ),
    )


def evaluation_item(m: pb.EvaluationItemResult) -> EvaluationItem:
    return EvaluationItem(
        source_trace_id=m.source_trace_id,
        trace_id=m.trace_id,
        status=EvaluationItemStatus(m.status),
        request=m.request,
        response=m.response,
        expected_response=m.expected_response,
        score=m.score,
        passed=m.passed,
        rationale=m.rationale,
        assessment_id=m.assessment_id,
        error=m.error,
    )


def evaluation_event(m: pb.EvaluateSessionResponse) -> EvaluationProgress | EvaluationResult:
    if m.WhichOneof("event") == "progress":
        p = m.progress
        return EvaluationProgress(p.done_count, p.total_count, evaluation_item(p.item))
    r = m.result
    return EvaluationResult(
        items=tuple(evaluation_item(i) for i in r.items),
        scored_count=r.scored_count,
        passed_count=r.passed_count,
        skipped_count=r.skipped_count,
        failed_count=r.failed_count,
        pass_rate=r.pass_rate,
        scorer=Scorer(r.scorer),
        threshold=r.threshold,
        feedback_name=r.feedback_name,
    )


def missing_result() -> FeedbackError:
    """The error raised when an evaluation stream ends OK but without its `result`."""
    return FeedbackError(
        grpc.StatusCode.INTERNAL, "the evaluation stream ended without its result message"
    )
