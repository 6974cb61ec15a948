"""The typed client's ChatService calls: `chat` and `stream_chat`, driven through
`grpc_testing.channel`.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2
from feedback_client import (
    ChatCompletion,
    ChatResult,
    FeedbackClient,
    FeedbackError,
    UnavailableError,
)
from google.rpc import code_pb2

from tests.unit.python_client.support import (
    AUTH,
    CHAT,
    OK,
    TRACE_ID,
    Server,
    retry_info,
    rich_status,
    trailing_status,
)

pytestmark = pytest.mark.timeout(30)


def test_chat_sends_every_field_and_returns_a_chat_result(
    client: FeedbackClient, server: Server
) -> None:
    future, request = server.unary(
        lambda: client.chat(
            "What is MLflow?",
            client_request_id="req-42",
            user_id="u-1",
            session_id="s-1",
            metadata={"app": "docs-bot"},
        ),
        "Chat",
        chat_service_pb2.ChatResponse(
            response="An ML platform.", trace_id=TRACE_ID, client_request_id="req-42"
        ),
    )

    assert isinstance(request, chat_service_pb2.ChatRequest)
    assert request.message == "What is MLflow?"
    assert request.client_request_id == "req-42"
    assert request.user_id == "u-1"
    assert request.session_id == "s-1"
    assert dict(request.metadata) == {"app": "docs-bot"}
    assert AUTH in server.invocation_metadata
    assert future.result(timeout=5) == ChatResult(
        response="An ML platform.", trace_id=TRACE_ID, client_request_id="req-42"
    )


def test_chat_leaves_optional_fields_empty(client: FeedbackClient, server: Server) -> None:
    future, request = server.unary(
        lambda: client.chat("hi"),
        "Chat",
        chat_service_pb2.ChatResponse(
            response="hello", trace_id=TRACE_ID, client_request_id="req-0123456789abcdef"
        ),
    )

    assert request == chat_service_pb2.ChatRequest(message="hi")
    assert future.result(timeout=5).client_request_id == "req-0123456789abcdef"


def test_stream_chat_yields_deltas_then_exposes_completion_and_header(
    client: FeedbackClient, channel: Any
) -> None:
    stream = client.stream_chat(
        "Tell me", client_request_id="req-7", user_id="u-1", session_id="s-1", metadata={"k": "v"}
    )
    metadata, request, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
    assert request == chat_service_pb2.StreamChatRequest(
        message="Tell me",
        client_request_id="req-7",
        user_id="u-1",
        session_id="s-1",
        metadata={"k": "v"},
    )
    assert AUTH in metadata

    rpc.send_initial_metadata((("x-mlflow-trace-id", TRACE_ID),))
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="Hel"))
    )
    assert next(stream) == "Hel"
    assert stream.trace_id_header == TRACE_ID
    assert stream.completion is None

    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="lo"))
    )
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(
            completion=chat_service_pb2.ChatCompletion(
                trace_id=TRACE_ID, client_request_id="req-7", response="Hello"
            )
        )
    )
    rpc.terminate((), OK, "")

    assert list(stream) == ["lo"]
    assert stream.completion == ChatCompletion(
        trace_id=TRACE_ID, client_request_id="req-7", response="Hello"
    )
    assert stream.text == "Hello"
    assert stream.trace_id == TRACE_ID
    assert stream.result() == stream.completion
    assert list(stream) == []


def test_stream_chat_without_completion_is_an_error(client: FeedbackClient, channel: Any) -> None:
    stream = client.stream_chat("hi")
    _, _, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="x"))
    )
    rpc.terminate((), OK, "")

    assert next(stream) == "x"
    with pytest.raises(FeedbackError) as raised:
        next(stream)
    assert raised.value.code is grpc.StatusCode.INTERNAL
    assert stream.completion is None


def test_stream_chat_failure_carries_retry_info_and_trace_id(
    client: FeedbackClient, channel: Any
) -> None:
    stream = client.stream_chat("hi")
    _, _, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
    rpc.send_response(
        chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="par"))
    )
    assert next(stream) == "par"
    status = rich_status(
        code_pb2.UNAVAILABLE, "chat backend unavailable", retry_info(2, 500_000_000)
    )
    rpc.terminate(
        (*trailing_status(status), ("x-mlflow-trace-id", TRACE_ID)),
        grpc.StatusCode.UNAVAILABLE,
        "chat backend unavailable",
    )

    with pytest.raises(UnavailableError) as raised:
        next(stream)
    error = raised.value
    assert error.code is grpc.StatusCode.UNAVAILABLE
    assert error.retry_after == 2.5
    assert error.retryable
    assert error.trace_id == TRACE_ID
    assert stream.text == "par"
    assert stream.completion is None


def test_stream_chat_context_manager_cancels_an_unfinished_stream(
    client: FeedbackClient, channel: Any
) -> None:
    with client.stream_chat("hi") as stream:
        _, _, rpc = channel.take_unary_stream(CHAT.methods_by_name["StreamChat"])
        rpc.send_response(
            chat_service_pb2.StreamChatResponse(delta=chat_service_pb2.ChatDelta(content="a"))
        )
        assert next(stream) == "a"
    rpc.cancelled()  # returns only once the client cancelled the RPC
    assert list(stream) == []
