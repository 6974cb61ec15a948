# Generated from _async/review.py by scripts/gen_sync_client.py (make proto): do not edit.
"""The `ReviewService` methods of `FeedbackClient` and `AsyncFeedbackClient`.

    with FeedbackClient("127.0.0.1:50051") as client:
        client.create_label_schema(
            "response_accuracy", Categorical(["Accurate", "Partially Accurate", "Inaccurate"])
        )
        client.create_label_schema(
            "expected_response", FreeText(), type=LabelSchemaType.EXPECTATION
        )
        client.create_review_session(
            "quickstart_review", ["response_accuracy", "expected_response"], ["expert_1"]
        )
        client.add_session_items_matching("quickstart_review", feedback_value=False)
        task = client.next_item("quickstart_review", "expert_1")
        client.submit_labels("quickstart_review", "expert_1", task.item.trace_id, {...})
        result = client.evaluate_session("quickstart_review")

Every review call sends the session in the `x-review-session` metadata, so that a mesh
can route a session to one replica (where its leases live).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from feedback.v1 import review_service_pb2 as pb

from .._flavour import SyncGrpc
from .._review_convert import (
    PAGE_SIZE,
    ProgressCallback,
    add_items_request,
    add_matching_request,
    added_items,
    create_schema_request,
    create_session_request,
    evaluate_request,
    evaluation_event,
    label_schema,
    labels_result,
    missing_result,
    next_item,
    next_item_request,
    review_metadata,
    review_session,
    session_item,
    session_progress,
    submit_request,
)
from .._review_types import (
    AddedItems,
    EvaluationResult,
    Label,
    LabelInput,
    LabelSchema,
    LabelSchemaType,
    LabelsResult,
    NextItem,
    ReviewSession,
    Scorer,
    SessionItem,
    SessionProgress,
)
from .._types import USER_FEEDBACK, FeedbackInput, Target
from .base import SyncClientBase

T = TypeVar("T")


class SyncReviewMethods(SyncClientBase):
    """The `ReviewService` methods of the client."""

    def _review_call(self, method: Any, request: Any, session: str = "") -> Any:
        return self._unary(method, request, review_metadata(self._metadata, session))

    def _all_pages(
        self, method: Any, request: Any, items: Callable[[Any], Iterable[T]]
    ) -> tuple[T, ...]:
        """Every item of a paged list call: `items` picks them out of one response."""
        found: list[T] = []
        request.page_size = PAGE_SIZE
        while True:
            reply = self._review_call(method, request)
            found += items(reply)
            if not reply.next_page_token:
                return tuple(found)
            request.page_token = reply.next_page_token

    # --- label schemas ---------------------------------------------------------------

    def create_label_schema(
        self,
        name: str,
        input: LabelInput,
        *,
        type: LabelSchemaType | str = LabelSchemaType.FEEDBACK,
        instructions: str = "",
        enable_comment: bool = False,
    ) -> LabelSchema:
        """Creates (or returns the identical existing) label schema."""
        request = create_schema_request(name, input, type, instructions, enable_comment)
        reply = self._review_call(self._review.CreateLabelSchema, request)
        return label_schema(reply.label_schema)

    def get_label_schema(self, name: str) -> LabelSchema:
        request = pb.GetLabelSchemaRequest(name=name)
        reply = self._review_call(self._review.GetLabelSchema, request)
        return label_schema(reply.label_schema)

    def list_label_schemas(self) -> tuple[LabelSchema, ...]:
        """Every label schema of the experiment (MLflow's built-in `Feedback` included)."""
        return self._all_pages(
            self._review.ListLabelSchemas,
            pb.ListLabelSchemasRequest(),
            lambda reply: map(label_schema, reply.label_schemas),
        )

    def delete_label_schema(self, name: str, *, force: bool = False) -> str:
        """Deletes a label schema; returns its MLflow ID."""
        request = pb.DeleteLabelSchemaRequest(name=name, force=force)
        reply = self._review_call(self._review.DeleteLabelSchema, request)
        return str(reply.schema_id)

    # --- sessions ----------------------------------------------------------------------

    def create_review_session(
        self, name: str, label_schemas: Sequence[str], reviewers: Sequence[str]
    ) -> ReviewSession:
        """Creates (or returns the identical existing) review session."""
        request = create_session_request(name, label_schemas, reviewers)
        reply = self._review_call(self._review.CreateReviewSession, request, name)
        return review_session(reply.session)

    def get_review_session(self, name: str) -> ReviewSession:
        request = pb.GetReviewSessionRequest(name=name)
        reply = self._review_call(self._review.GetReviewSession, request, name)
        return review_session(reply.session)

    def list_review_sessions(self, reviewer: str = "") -> tuple[ReviewSession, ...]:
        """Every review session, newest first (only `reviewer`'s when given)."""
        return self._all_pages(
            self._review.ListReviewSessions,
            pb.ListReviewSessionsRequest(reviewer=reviewer),
            lambda reply: map(review_session, reply.sessions),
        )

    def add_session_items(self, session: str, traces: Sequence[Target]) -> AddedItems:
        """Adds traces (trace IDs or `TraceRef`s) to a session."""
        request = add_items_request(session, traces)
        return added_items(self._review_call(self._review.AddSessionItems, request, session))

    def add_session_items_matching(
        self,
        session: str,
        *,
        feedback_value: FeedbackInput | None = None,
        feedback_name: str = USER_FEEDBACK,
        start: datetime | None = None,
        end: datetime | None = None,
        max_traces: int = 0,
    ) -> AddedItems:
        """Adds the traces created in [start, end) (default: the last 24 hours) that have a
        `feedback_name` judgment equal to `feedback_value` (None: every trace), newest
        first, at most `max_traces` (0: 100). ``feedback_value=False`` selects thumbs-downs."""
        request = add_matching_request(
            session, feedback_name, feedback_value, start, end, max_traces
        )
        return added_items(self._review_call(self._review.AddSessionItems, request, session))

    # --- the reviewers' loop ---------------------------------------------------------------

    def next_item(
        self, session: str, reviewer: str, *, lease: timedelta | float | None = None
    ) -> NextItem:
        """The next pending item, leased to `reviewer` for `lease` (default 10 minutes);
        `.item` is None when no pending item is free."""
        request = next_item_request(session, reviewer, lease)
        return next_item(self._review_call(self._review.GetNextItem, request, session))

    def submit_labels(
        self,
        session: str,
        reviewer: str,
        trace_id: str,
        labels: Mapping[str, FeedbackInput | Label],
        *,
        request_id: str = "",
    ) -> LabelsResult:
        """Records labels (schema name -> value, or `Label(value, comment)`) and completes
        the item. Values: bool, number, str (an option, or text), `Text`, list (options)."""
        request = submit_request(session, reviewer, trace_id, labels, request_id)
        return labels_result(self._review_call(self._review.SubmitLabels, request, session))

    def decline_item(self, session: str, reviewer: str, trace_id: str) -> SessionItem:
        request = pb.DeclineItemRequest(session=session, reviewer=reviewer, trace_id=trace_id)
        reply = self._review_call(self._review.DeclineItem, request, session)
        return session_item(reply.item)

    def session_progress(self, session: str) -> SessionProgress:
        request = pb.GetSessionProgressRequest(session=session)
        reply = self._review_call(self._review.GetSessionProgress, request, session)
        return session_progress(reply)

    # --- evaluation ------------------------------------------------------------------------

    def evaluate_session(
        self,
        session: str,
        *,
        scorer: Scorer = Scorer.TOKEN_F1,
        threshold: float = 0.0,
        expectation_name: str = "",
        feedback_name: str = "",
        max_items: int = 0,
        on_progress: ProgressCallback | None = None,
    ) -> EvaluationResult:
        """Re-runs every labeled item with an expected response and scores the new answer
        (defaults: token F1, threshold 0.5, `expected_response`, feedback `correctness`).
        `on_progress` is called per item; the call's timeout bounds the whole evaluation."""
        request = evaluate_request(
            session, scorer, threshold, expectation_name, feedback_name, max_items
        )
        stream: Iterator[pb.EvaluateSessionResponse] = self._start_stream(
            self._review.EvaluateSession, request, review_metadata(self._metadata, session)
        )
        try:
            for message in stream:
                event = evaluation_event(message)
                if isinstance(event, EvaluationResult):
                    return event
                if on_progress is not None:
                    on_progress(event)
        except SyncGrpc.ERRORS as error:
            raise SyncGrpc.error(error) from error
        raise missing_result()
