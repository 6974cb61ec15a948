"""How the typed client turns a failed call (rich status or not) into a `FeedbackError`."""

from __future__ import annotations

import grpc
import pytest
from feedback_client import (
    FeedbackClient,
    FeedbackError,
    FieldViolation,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from google.rpc import code_pb2, error_details_pb2

from tests.unit.python_client.support import (
    DETAILS_KEY,
    TRACE_ID,
    Server,
    retry_info,
    rich_status,
    trailing_status,
)

pytestmark = pytest.mark.timeout(30)


def test_bad_request_becomes_invalid_argument_error_with_field_violations(
    client: FeedbackClient, server: Server
) -> None:
    message = "invalid request: target.trace_id, name"
    status = rich_status(
        code_pb2.INVALID_ARGUMENT,
        message,
        error_details_pb2.ErrorInfo(
            reason="INVALID_ARGUMENT", domain="feedback.v1", metadata={"request_id": "srv-1"}
        ),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field="target.trace_id", description="must match ^tr-[0-9a-f]{32}$"
                ),
                error_details_pb2.BadRequest.FieldViolation(
                    field="name", description="must start with a letter"
                ),
            ]
        ),
        error_details_pb2.RequestInfo(request_id="srv-1"),
    )
    future, _ = server.unary(
        lambda: client.feedback(TRACE_ID, "9bad", True),
        "LogFeedback",
        code=grpc.StatusCode.INVALID_ARGUMENT,
        details=message,
        trailing=trailing_status(status),
    )

    with pytest.raises(InvalidArgumentError) as raised:
        future.result(timeout=5)
    error = raised.value
    assert isinstance(error, FeedbackError)
    assert error.code is grpc.StatusCode.INVALID_ARGUMENT
    assert error.message == message
    assert error.field_violations == [
        FieldViolation("target.trace_id", "must match ^tr-[0-9a-f]{32}$"),
        ("name", "must start with a letter"),
    ]
    assert error.retry_after is None
    assert not error.retryable
    assert error.request_id == "srv-1"
    assert error.reason == "INVALID_ARGUMENT"
    assert "target.trace_id" in str(error)


def test_retry_info_becomes_retry_after(client: FeedbackClient, server: Server) -> None:
    status = rich_status(
        code_pb2.RESOURCE_EXHAUSTED,
        "spool full",
        error_details_pb2.ErrorInfo(reason="RESOURCE_EXHAUSTED", domain="feedback.v1"),
        retry_info(1, 500_000_000),
    )
    future, _ = server.unary(
        lambda: client.thumbs_down(TRACE_ID),
        "LogFeedback",
        code=grpc.StatusCode.RESOURCE_EXHAUSTED,
        details="spool full",
        trailing=trailing_status(status),
    )

    with pytest.raises(ResourceExhaustedError) as raised:
        future.result(timeout=5)
    assert raised.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.retry_after == 1.5
    assert raised.value.retryable
    assert raised.value.field_violations == []
    assert raised.value.request_id is None


def test_error_without_rich_status_keeps_code_and_message(
    client: FeedbackClient, server: Server
) -> None:
    future, _ = server.unary(
        lambda: client.list_feedback(TRACE_ID),
        "ListFeedback",
        code=grpc.StatusCode.NOT_FOUND,
        details="trace not found",
    )
    with pytest.raises(NotFoundError) as raised:
        future.result(timeout=5)
    assert raised.value.code is grpc.StatusCode.NOT_FOUND
    assert raised.value.message == "trace not found"
    assert raised.value.field_violations == []
    assert raised.value.retry_after is None
    assert raised.value.reason is None


def test_malformed_rich_status_does_not_hide_the_error(
    client: FeedbackClient, server: Server
) -> None:
    future, _ = server.unary(
        lambda: client.chat("hi"),
        "Chat",
        code=grpc.StatusCode.INTERNAL,
        details="internal error",
        trailing=((DETAILS_KEY, b"\xff\xff not a status"),),
    )
    with pytest.raises(FeedbackError) as raised:
        future.result(timeout=5)
    assert type(raised.value) is FeedbackError
    assert raised.value.code is grpc.StatusCode.INTERNAL
    assert raised.value.message == "internal error"
