"""Expert review methods of `FeedbackClient` and `AsyncFeedbackClient` (`ReviewService`).

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

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import grpc
from feedback.v1 import review_service_pb2 as pb
from feedback.v1 import review_service_pb2_grpc

from ._errors import from_rpc_error
from ._review_convert import (
    _SAFE_SESSION,
    ProgressCallback,
    _missing_result,
    add_items_request,
    add_matching_request,
    added_items,
    create_schema_request,
    create_session_request,
    evaluate_request,
    evaluation_event,
    label_schema,
    labels_result,
    next_item,
    next_item_request,
    review_session,
    session_item,
    session_progress,
    submit_request,
)
from ._review_types import (
    REVIEW_SESSION_METADATA_KEY,
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
from ._types import (
    USER_FEEDBACK,
    FeedbackInput,
    Target,
)

# --- the methods ----------------------------------------------------------------------------


class _ReviewBase:
    _channel: Any
    _timeout: float | None
    _metadata: tuple[tuple[str, str], ...]

    @property
    def _review(self) -> review_service_pb2_grpc.ReviewServiceStub:
        stub = self.__dict__.get("_review_stub")
        if stub is None:
            stub = review_service_pb2_grpc.ReviewServiceStub(self._channel)
            self.__dict__["_review_stub"] = stub
        return stub

    def _review_metadata(self, session: str) -> tuple[tuple[str, str], ...]:
        if session and _SAFE_SESSION.fullmatch(session):
            return (*self._metadata, (REVIEW_SESSION_METADATA_KEY, session))
        return self._metadata


class ReviewMethods(_ReviewBase):
    """The `ReviewService` methods of the synchronous `FeedbackClient`."""

    def _call(self, method: Any, request: Any, session: str = "") -> Any:
        try:
            return method(request, timeout=self._timeout, metadata=self._review_metadata(session))
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

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
        return label_schema(self._call(self._review.CreateLabelSchema, request).label_schema)

    def get_label_schema(self, name: str) -> LabelSchema:
        request = pb.GetLabelSchemaRequest(name=name)
        return label_schema(self._call(self._review.GetLabelSchema, request).label_schema)

    def list_label_schemas(self) -> tuple[LabelSchema, ...]:
        """Every label schema of the experiment (MLflow's built-in `Feedback` included)."""
        schemas: list[LabelSchema] = []
        token = ""
        while True:
            request = pb.ListLabelSchemasRequest(page_size=500, page_token=token)
            reply = self._call(self._review.ListLabelSchemas, request)
            schemas += [label_schema(s) for s in reply.label_schemas]
            token = reply.next_page_token
            if not token:
                return tuple(schemas)

    def delete_label_schema(self, name: str, *, force: bool = False) -> str:
        """Deletes a label schema; returns its MLflow ID."""
        request = pb.DeleteLabelSchemaRequest(name=name, force=force)
        return str(self._call(self._review.DeleteLabelSchema, request).schema_id)

    # --- sessions ----------------------------------------------------------------------

    def create_review_session(
        self, name: str, label_schemas: Sequence[str], reviewers: Sequence[str]
    ) -> ReviewSession:
        """Creates (or returns the identical existing) review session."""
        request = create_session_request(name, label_schemas, reviewers)
        return review_session(self._call(self._review.CreateReviewSession, request, name).session)

    def get_review_session(self, name: str) -> ReviewSession:
        request = pb.GetReviewSessionRequest(name=name)
        return review_session(self._call(self._review.GetReviewSession, request, name).session)

    def list_review_sessions(self, reviewer: str = "") -> tuple[ReviewSession, ...]:
        """Every review session, newest first (only `reviewer`'s when given)."""
        sessions: list[ReviewSession] = []
        token = ""
        while True:
            request = pb.ListReviewSessionsRequest(
                reviewer=reviewer, page_size=500, page_token=token
            )
            reply = self._call(self._review.ListReviewSessions, request)
            sessions += [review_session(s) for s in reply.sessions]
            token = reply.next_page_token
            if not token:
                return tuple(sessions)

    def add_session_items(self, session: str, traces: Sequence[Target]) -> AddedItems:
        """Adds traces (trace IDs or `TraceRef`s) to a session."""
        request = add_items_request(session, traces)
        return added_items(self._call(self._review.AddSessionItems, request, session))

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
        return added_items(self._call(self._review.AddSessionItems, request, session))

    # --- the reviewers' loop ---------------------------------------------------------------

    def next_item(
        self, session: str, reviewer: str, *, lease: timedelta | float | None = None
    ) -> NextItem:
        """The next pending item, leased to `reviewer` for `lease` (default 10 minutes);
        `.item` is None when no pending item is free."""
        request = next_item_request(session, reviewer, lease)
        return next_item(self._call(self._review.GetNextItem, request, session))

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
        return labels_result(self._call(self._review.SubmitLabels, request, session))

    def decline_item(self, session: str, reviewer: str, trace_id: str) -> SessionItem:
        request = pb.DeclineItemRequest(session=session, reviewer=reviewer, trace_id=trace_id)
        return session_item(self._call(self._review.DeclineItem, request, session).item)

    def session_progress(self, session: str) -> SessionProgress:
        request = pb.GetSessionProgressRequest(session=session)
        return session_progress(self._call(self._review.GetSessionProgress, request, session))

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
        try:
            stream: Iterator[pb.EvaluateSessionResponse] = self._review.EvaluateSession(
                request, timeout=self._timeout, metadata=self._review_metadata(session)
            )
            for message in stream:
                event = evaluation_event(message)
                if isinstance(event, EvaluationResult):
                    return event
                if on_progress is not None:
                    on_progress(event)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        raise _missing_result()
