"""The `ReviewService` methods of `AsyncFeedbackClient`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import grpc
from feedback.v1 import review_service_pb2 as pb

from .._errors import from_rpc_error
from .._review import _ReviewBase
from .._review_convert import (
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
from .._types import (
    USER_FEEDBACK,
    FeedbackInput,
    Target,
)


class AsyncReviewMethods(_ReviewBase):
    """The `ReviewService` methods of `AsyncFeedbackClient`: the same, awaited."""

    async def _call(self, method: Any, request: Any, session: str = "") -> Any:
        try:
            return await method(
                request, timeout=self._timeout, metadata=self._review_metadata(session)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

    async def create_label_schema(
        self,
        name: str,
        input: LabelInput,
        *,
        type: LabelSchemaType | str = LabelSchemaType.FEEDBACK,
        instructions: str = "",
        enable_comment: bool = False,
    ) -> LabelSchema:
        request = create_schema_request(name, input, type, instructions, enable_comment)
        reply = await self._call(self._review.CreateLabelSchema, request)
        return label_schema(reply.label_schema)

    async def get_label_schema(self, name: str) -> LabelSchema:
        request = pb.GetLabelSchemaRequest(name=name)
        return label_schema((await self._call(self._review.GetLabelSchema, request)).label_schema)

    async def list_label_schemas(self) -> tuple[LabelSchema, ...]:
        schemas: list[LabelSchema] = []
        token = ""
        while True:
            request = pb.ListLabelSchemasRequest(page_size=500, page_token=token)
            reply = await self._call(self._review.ListLabelSchemas, request)
            schemas += [label_schema(s) for s in reply.label_schemas]
            token = reply.next_page_token
            if not token:
                return tuple(schemas)

    async def delete_label_schema(self, name: str, *, force: bool = False) -> str:
        request = pb.DeleteLabelSchemaRequest(name=name, force=force)
        return str((await self._call(self._review.DeleteLabelSchema, request)).schema_id)

    async def create_review_session(
        self, name: str, label_schemas: Sequence[str], reviewers: Sequence[str]
    ) -> ReviewSession:
        request = create_session_request(name, label_schemas, reviewers)
        reply = await self._call(self._review.CreateReviewSession, request, name)
        return review_session(reply.session)

    async def get_review_session(self, name: str) -> ReviewSession:
        request = pb.GetReviewSessionRequest(name=name)
        reply = await self._call(self._review.GetReviewSession, request, name)
        return review_session(reply.session)

    async def list_review_sessions(self, reviewer: str = "") -> tuple[ReviewSession, ...]:
        sessions: list[ReviewSession] = []
        token = ""
        while True:
            request = pb.ListReviewSessionsRequest(
                reviewer=reviewer, page_size=500, page_token=token
            )
            reply = await self._call(self._review.ListReviewSessions, request)
            sessions += [review_session(s) for s in reply.sessions]
            token = reply.next_page_token
            if not token:
                return tuple(sessions)

    async def add_session_items(self, session: str, traces: Sequence[Target]) -> AddedItems:
        request = add_items_request(session, traces)
        return added_items(await self._call(self._review.AddSessionItems, request, session))

    async def add_session_items_matching(
        self,
        session: str,
        *,
        feedback_value: FeedbackInput | None = None,
        feedback_name: str = USER_FEEDBACK,
        start: datetime | None = None,
        end: datetime | None = None,
        max_traces: int = 0,
    ) -> AddedItems:
        request = add_matching_request(
            session, feedback_name, feedback_value, start, end, max_traces
        )
        return added_items(await self._call(self._review.AddSessionItems, request, session))

    async def next_item(
        self, session: str, reviewer: str, *, lease: timedelta | float | None = None
    ) -> NextItem:
        request = next_item_request(session, reviewer, lease)
        return next_item(await self._call(self._review.GetNextItem, request, session))

    async def submit_labels(
        self,
        session: str,
        reviewer: str,
        trace_id: str,
        labels: Mapping[str, FeedbackInput | Label],
        *,
        request_id: str = "",
    ) -> LabelsResult:
        request = submit_request(session, reviewer, trace_id, labels, request_id)
        return labels_result(await self._call(self._review.SubmitLabels, request, session))

    async def decline_item(self, session: str, reviewer: str, trace_id: str) -> SessionItem:
        request = pb.DeclineItemRequest(session=session, reviewer=reviewer, trace_id=trace_id)
        return session_item((await self._call(self._review.DeclineItem, request, session)).item)

    async def session_progress(self, session: str) -> SessionProgress:
        request = pb.GetSessionProgressRequest(session=session)
        reply = await self._call(self._review.GetSessionProgress, request, session)
        return session_progress(reply)

    async def evaluate_session(
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
        request = evaluate_request(
            session, scorer, threshold, expectation_name, feedback_name, max_items
        )
        try:
            stream: AsyncIterator[pb.EvaluateSessionResponse] = self._review.EvaluateSession(
                request, timeout=self._timeout, metadata=self._review_metadata(session)
            )
            async for message in stream:
                event = evaluation_event(message)
                if isinstance(event, EvaluationResult):
                    return event
                if on_progress is not None:
                    on_progress(event)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error
        raise _missing_result()
