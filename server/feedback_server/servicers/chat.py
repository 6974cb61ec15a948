"""ChatService: validate -> convert -> domain -> convert."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
from feedback.v1 import chat_service_pb2 as pb
from feedback.v1 import chat_service_pb2_grpc

from ..domain.chat import ActiveTurn, ChatService
from ..domain.validation import Violations
from ..edge.status import add_trailing_metadata
from ..edge.tokens import FeedbackTokens
from ..edge.tracing import trace_parent
from . import chat_convert as out
from .feedback_tokens import turn_token

TRACE_ID_HEADER = "x-mlflow-trace-id"
CLIENT_REQUEST_ID_HEADER = "x-client-request-id"
DEFAULT_ADMISSION_S = 30.0


def _admission_timeout(context: grpc.aio.ServicerContext) -> float:
    remaining = context.time_remaining()
    return (
        DEFAULT_ADMISSION_S if remaining is None else max(0.0, min(remaining, DEFAULT_ADMISSION_S))
    )


class ChatServicer(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self, service: ChatService, tokens: FeedbackTokens | None = None) -> None:
        self._service = service
        self._tokens = tokens  # every answer carries a feedback token for its turn

    async def _begin(
        self,
        request: pb.ChatRequest | pb.StreamChatRequest,
        context: grpc.aio.ServicerContext,
        rpc: str,
    ) -> ActiveTurn:
        v = Violations()
        turn = out.turn_in(v, request)
        v.raise_if_any()
        return await self._service.begin(
            turn,
            rpc=rpc,
            admission_timeout_s=_admission_timeout(context),
            parent=trace_parent(),
        )

    async def Chat(
        self, request: pb.ChatRequest, context: grpc.aio.ServicerContext
    ) -> pb.ChatResponse:
        active = await self._begin(request, context, "Chat")
        try:
            result = await active.run()
        except BaseException as exc:
            add_trailing_metadata(exc, ((TRACE_ID_HEADER, active.trace_id),))
            raise
        token = turn_token(self._tokens, result.trace_id, active.turn.user_id)
        return out.chat_out(result, token)

    async def StreamChat(
        self, request: pb.StreamChatRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamChatResponse]:
        active = await self._begin(request, context, "StreamChat")
        try:
            await context.send_initial_metadata(
                (
                    (TRACE_ID_HEADER, active.trace_id),
                    (CLIENT_REQUEST_ID_HEADER, active.client_request_id),
                )
            )
            async for piece in active.pieces():
                yield out.delta_out(piece)
        except BaseException as exc:
            active.abandon(f"stream failed: {type(exc).__name__}")
            add_trailing_metadata(exc, ((TRACE_ID_HEADER, active.trace_id),))
            raise
        yield out.completion_out(
            active, turn_token(self._tokens, active.trace_id, active.turn.user_id)
        )
