"""ChatService's own converters: requests -> chat turns, turn results -> responses."""

from __future__ import annotations

from feedback.v1 import chat_service_pb2 as pb

from ..backends.base import ChatTurn
from ..domain.chat import ActiveTurn, TurnResult, check_turn
from ..domain.validation import Violations


def turn_in(v: Violations, request: pb.ChatRequest | pb.StreamChatRequest) -> ChatTurn:
    return check_turn(
        v,
        request.message,
        request.client_request_id,
        request.user_id,
        request.session_id,
        request.metadata,
    )


def chat_out(result: TurnResult, feedback_token: str) -> pb.ChatResponse:
    return pb.ChatResponse(
        response=result.response,
        trace_id=result.trace_id,
        client_request_id=result.client_request_id,
        feedback_token=feedback_token,
    )


def delta_out(piece: str) -> pb.StreamChatResponse:
    return pb.StreamChatResponse(delta=pb.ChatDelta(content=piece))


def completion_out(active: ActiveTurn, feedback_token: str) -> pb.StreamChatResponse:
    return pb.StreamChatResponse(
        completion=pb.ChatCompletion(
            trace_id=active.trace_id,
            client_request_id=active.client_request_id,
            response=active.response,
            feedback_token=feedback_token,
        )
    )
