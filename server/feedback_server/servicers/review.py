"""ReviewService: validate -> convert -> domain -> convert."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
from feedback.v1 import review_service_pb2 as pb
from feedback.v1 import review_service_pb2_grpc

from ..domain.review import ReviewService, check_page, check_reviewer, check_session_name
from ..domain.validation import Violations
from . import review_convert as out


class ReviewServicer(review_service_pb2_grpc.ReviewServiceServicer):
    def __init__(self, service: ReviewService) -> None:
        self._service = service

    # --- label schemas -------------------------------------------------------------------

    async def CreateLabelSchema(
        self, request: pb.CreateLabelSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateLabelSchemaResponse:
        v = Violations()
        spec = out.schema_in(v, request.label_schema, request.HasField("label_schema"))
        v.raise_if_any()
        created = await self._service.create_schema(spec)
        return pb.CreateLabelSchemaResponse(label_schema=out.schema_out(created))

    async def GetLabelSchema(
        self, request: pb.GetLabelSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLabelSchemaResponse:
        v = Violations()
        out.schema_ref(v, "name", request.name)
        v.raise_if_any()
        schema = await self._service.get_schema(request.name)
        return pb.GetLabelSchemaResponse(label_schema=out.schema_out(schema))

    async def ListLabelSchemas(
        self, request: pb.ListLabelSchemasRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLabelSchemasResponse:
        v = Violations()
        size = check_page(v, request.page_size, request.page_token)
        v.raise_if_any()
        schemas, token = await self._service.list_schemas(size, request.page_token)
        return pb.ListLabelSchemasResponse(
            label_schemas=[out.schema_out(s) for s in schemas], next_page_token=token
        )

    async def DeleteLabelSchema(
        self, request: pb.DeleteLabelSchemaRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteLabelSchemaResponse:
        v = Violations()
        out.schema_ref(v, "name", request.name)
        v.raise_if_any()
        schema_id = await self._service.delete_schema(request.name, force=request.force)
        return pb.DeleteLabelSchemaResponse(schema_id=schema_id)

    # --- sessions ------------------------------------------------------------------------

    async def CreateReviewSession(
        self, request: pb.CreateReviewSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateReviewSessionResponse:
        v = Violations()
        names, reviewers = out.session_in(v, request)
        v.raise_if_any()
        session = await self._service.create_session(request.session.name, names, reviewers)
        return pb.CreateReviewSessionResponse(session=out.session_out(session))

    async def GetReviewSession(
        self, request: pb.GetReviewSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReviewSessionResponse:
        v = Violations()
        check_session_name(v, "name", request.name)
        v.raise_if_any()
        session = await self._service.get_session(request.name)
        return pb.GetReviewSessionResponse(session=out.session_out(session))

    async def ListReviewSessions(
        self, request: pb.ListReviewSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReviewSessionsResponse:
        v = Violations()
        reviewer = check_reviewer(v, "reviewer", request.reviewer) if request.reviewer else ""
        size = check_page(v, request.page_size, request.page_token)
        v.raise_if_any()
        sessions, token = await self._service.list_sessions(reviewer, size, request.page_token)
        return pb.ListReviewSessionsResponse(
            sessions=[out.session_out(s) for s in sessions], next_page_token=token
        )

    async def AddSessionItems(
        self, request: pb.AddSessionItemsRequest, context: grpc.aio.ServicerContext
    ) -> pb.AddSessionItemsResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        targets, query = out.items_in(v, request)
        v.raise_if_any()
        added = await self._service.add_items(request.session, targets, query)
        return pb.AddSessionItemsResponse(
            items=[out.item_out(i) for i in added.items],
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
        lease_s = out.lease_in(v, request)
        v.raise_if_any()
        session, item = await self._service.next_item(request.session, reviewer, lease_s)
        return out.next_item_out(session, item)

    async def SubmitLabels(
        self, request: pb.SubmitLabelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitLabelsResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        reviewer = check_reviewer(v, "reviewer", request.reviewer)
        v.trace_id("trace_id", request.trace_id)
        labels = out.labels_in(v, request.labels)
        v.request_id("request_id", request.request_id)
        v.raise_if_any()
        done = await self._service.submit_labels(
            request.session, reviewer, request.trace_id, labels, request.request_id
        )
        return out.submitted_out(done)

    async def DeclineItem(
        self, request: pb.DeclineItemRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeclineItemResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        reviewer = check_reviewer(v, "reviewer", request.reviewer)
        v.trace_id("trace_id", request.trace_id)
        v.raise_if_any()
        item = await self._service.decline(request.session, reviewer, request.trace_id)
        return pb.DeclineItemResponse(item=out.item_out(item))

    async def GetSessionProgress(
        self, request: pb.GetSessionProgressRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSessionProgressResponse:
        v = Violations()
        check_session_name(v, "session", request.session)
        v.raise_if_any()
        p = await self._service.progress(request.session)
        return out.progress_out(p)

    # --- evaluation ------------------------------------------------------------------------

    async def EvaluateSession(
        self, request: pb.EvaluateSessionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.EvaluateSessionResponse]:
        v = Violations()
        check_session_name(v, "session", request.session)
        options = out.eval_options_in(v, request)
        v.raise_if_any()
        events = self._service.evaluate(request.session, options)
        async with contextlib.aclosing(events):
            async for event in events:
                yield out.eval_event_out(event)
