"""Shared by the client tests: the services, IDs and metadata they use, the thread that
answers one unary RPC on a `grpc_testing` channel, rich statuses, and a fake channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc
from feedback.v1 import chat_service_pb2, common_pb2, feedback_service_pb2
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2

CHAT = chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"]
FEEDBACK = feedback_service_pb2.DESCRIPTOR.services_by_name["FeedbackService"]
TRACE_ID = "tr-" + "0123456789abcdef" * 2
SPAN_ID = "00f067aa0ba902b7"
AUTH = ("authorization", "Bearer test-token")
DETAILS_KEY = "grpc-status-details-bin"

OK = grpc.StatusCode.OK


class Server:
    """Answers the one unary RPC a client call makes, on the test's thread."""

    def __init__(self, channel: Any, pool: ThreadPoolExecutor) -> None:
        self.channel = channel
        self.pool = pool
        self.invocation_metadata: Sequence[tuple[str, str]] = ()

    def unary(
        self,
        call: Callable[[], Any],
        method: str,
        response: Any = None,
        *,
        code: grpc.StatusCode = OK,
        details: str = "",
        trailing: Sequence[tuple[str, Any]] = (),
    ) -> tuple[Future[Any], Any]:
        """Runs `call` in a thread, answers its RPC, returns (future of its result, request)."""
        service = CHAT if method in CHAT.methods_by_name else FEEDBACK
        future = self.pool.submit(call)
        metadata, request, rpc = self.channel.take_unary_unary(service.methods_by_name[method])
        self.invocation_metadata = metadata
        rpc.terminate(response, tuple(trailing), code, details)
        return future, request


def rich_status(code: int, message: str, *details: Any) -> status_pb2.Status:
    packed = []
    for detail in details:
        item = any_pb2.Any()
        item.Pack(detail)
        packed.append(item)
    return status_pb2.Status(code=code, message=message, details=packed)


def trailing_status(status: status_pb2.Status) -> tuple[tuple[str, bytes], ...]:
    return ((DETAILS_KEY, status.SerializeToString()),)


def retry_info(seconds: int, nanos: int = 0) -> error_details_pb2.RetryInfo:
    return error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=seconds, nanos=nanos)
    )


def log_response(
    state: common_pb2.IngestionState.ValueType = common_pb2.INGESTION_STATE_STORED,
) -> Any:
    return feedback_service_pb2.LogFeedbackResponse(
        assessment_id="a-1", trace_id=TRACE_ID, state=state, request_id="r-1"
    )


class FakeChannel:
    def __init__(self) -> None:
        self.closed = 0

    def unary_unary(self, *args: Any, **kwargs: Any) -> None:
        return None

    def unary_stream(self, *args: Any, **kwargs: Any) -> None:
        return None

    def close(self) -> None:
        self.closed += 1
