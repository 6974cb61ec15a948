"""Both clients against a real in-process `grpc.aio` server, so the wire path (rich status
in trailing metadata, initial metadata of streams) is exercised too; then both clients
run into the same failures (a call that cannot start, a channel closed under a running
call or stream) and must raise the same `FeedbackError`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
import pytest
from feedback.v1 import chat_service_pb2, chat_service_pb2_grpc, feedback_service_pb2_grpc
from feedback_client import (
    AsyncFeedbackClient,
    ChatCompletion,
    ChatResult,
    FeedbackClient,
    FeedbackError,
    FieldViolation,
    InvalidArgumentError,
    UnavailableError,
)
from google.rpc import code_pb2, error_details_pb2

from tests.unit.python_client.support import (
    TRACE_ID,
    FakeChannel,
    log_response,
    rich_status,
    trailing_status,
)

pytestmark = pytest.mark.timeout(30)


# --- both clients against a real in-process server ------------------------------------------


#: A message that the live server does not answer: it holds the call open until the client
#: goes away (a stream sends its initial metadata and first delta first).
HOLD = "hold"


class _Chat(chat_service_pb2_grpc.ChatServiceServicer):
    def __init__(self) -> None:
        self.holding = asyncio.Event()

    async def _hold(self) -> None:
        self.holding.set()
        await asyncio.Event().wait()

    async def Chat(self, request: Any, context: Any) -> Any:
        if request.message == HOLD:
            await self._hold()
        return chat_service_pb2.ChatResponse(
            response=f"echo: {request.message}", trace_id=TRACE_ID, client_request_id="req-1"
        )

    async def StreamChat(self, request: Any, context: Any) -> AsyncIterator[Any]:
        await context.send_initial_metadata((("x-mlflow-trace-id", TRACE_ID),))
        for word in ("echo", ": ", request.message):
            yield chat_service_pb2.StreamChatResponse(
                delta=chat_service_pb2.ChatDelta(content=word)
            )
            if request.message == HOLD:
                await self._hold()
        yield chat_service_pb2.StreamChatResponse(
            completion=chat_service_pb2.ChatCompletion(
                trace_id=TRACE_ID, client_request_id="req-1", response=f"echo: {request.message}"
            )
        )


class _Feedback(feedback_service_pb2_grpc.FeedbackServiceServicer):
    async def LogFeedback(self, request: Any, context: Any) -> Any:
        if request.target.trace_id != TRACE_ID:
            status = rich_status(
                code_pb2.INVALID_ARGUMENT,
                "invalid request: target.trace_id",
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field="target.trace_id", description="unknown"
                        )
                    ]
                ),
                error_details_pb2.RequestInfo(request_id="srv-9"),
            )
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                status.message,
                trailing_metadata=trailing_status(status),
            )
        return log_response()

    async def _unimplemented(self, request: Any, context: Any) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in this test")

    LogRatings = LogExpectation = ListFeedback = SummarizeFeedback = _unimplemented


@pytest.fixture
async def live_server() -> AsyncIterator[tuple[str, _Chat]]:
    """A real in-process server: (its address, its chat servicer)."""
    server = grpc.aio.server()
    chat = _Chat()
    chat_service_pb2_grpc.add_ChatServiceServicer_to_server(chat, server)
    feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(_Feedback(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}", chat
    await server.stop(None)


@pytest.fixture
def live_address(live_server: tuple[str, _Chat]) -> str:
    return live_server[0]


async def test_async_client_over_the_wire(live_address: str) -> None:
    async with AsyncFeedbackClient(live_address) as client:
        answer = await client.chat("hi")
        assert answer == ChatResult("echo: hi", TRACE_ID, "req-1")

        stream = client.stream_chat("there")
        assert await stream.wait_trace_id_header() == TRACE_ID
        assert [delta async for delta in stream] == ["echo", ": ", "there"]
        assert stream.trace_id_header == TRACE_ID
        assert stream.completion == ChatCompletion(TRACE_ID, "req-1", "echo: there")

        result = await client.thumbs_up(TRACE_ID, user_id="u-1")
        assert result.assessment_id == "a-1"

        with pytest.raises(InvalidArgumentError) as raised:
            await client.thumbs_up("tr-" + "f" * 32)
        assert raised.value.field_violations == [("target.trace_id", "unknown")]
        assert raised.value.request_id == "srv-9"


async def test_sync_client_over_the_wire(live_address: str) -> None:
    def use_sync_client() -> tuple[list[str], str | None, FeedbackError]:
        with FeedbackClient(live_address) as client:
            stream = client.stream_chat("sync")
            deltas = list(stream)
            try:
                client.thumbs_down("tr-" + "e" * 32)
            except FeedbackError as error:
                return deltas, stream.trace_id_header, error
        raise AssertionError("thumbs_down should have failed")

    deltas, header, error = await asyncio.to_thread(use_sync_client)
    assert deltas == ["echo", ": ", "sync"]
    assert header == TRACE_ID
    assert isinstance(error, InvalidArgumentError)
    assert error.field_violations == [FieldViolation("target.trace_id", "unknown")]


# --- both clients fail the same way ---------------------------------------------------------


class _StartError(grpc.RpcError):
    """What a channel raises when it cannot even start a call."""

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "cannot start the call"

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()


class FailingStreamsChannel(FakeChannel):
    """A channel whose server-streaming calls raise as they are started."""

    def unary_stream(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        def start(*args: Any, **kwargs: Any) -> Any:
            raise _StartError()

        return start


@pytest.mark.parametrize("client_class", [FeedbackClient, AsyncFeedbackClient])
def test_both_clients_wrap_a_stream_that_fails_as_it_starts(client_class: Any) -> None:
    client = client_class(channel=FailingStreamsChannel())
    with pytest.raises(UnavailableError) as raised:
        client.stream_chat("hi")
    assert raised.value.code is grpc.StatusCode.UNAVAILABLE
    assert raised.value.retryable
    assert isinstance(raised.value.__cause__, _StartError)


async def test_both_clients_fail_a_stream_whose_channel_closes_with_cancelled(
    live_address: str,
) -> None:
    def use_sync_client() -> tuple[FeedbackError, list[str], str | None]:
        client = FeedbackClient(live_address)
        stream = client.stream_chat(HOLD)
        assert next(stream) == "echo"
        client.close()
        with pytest.raises(FeedbackError) as raised:
            next(stream)
        return raised.value, list(stream), stream.trace_id

    sync_error, sync_rest, sync_trace_id = await asyncio.to_thread(use_sync_client)

    client = AsyncFeedbackClient(live_address)
    stream = client.stream_chat(HOLD)
    assert await anext(stream) == "echo"
    await client.close()
    with pytest.raises(FeedbackError) as raised:
        await anext(stream)
    async_error = raised.value

    for error in (sync_error, async_error):
        assert error.code is grpc.StatusCode.CANCELLED
        assert error.trace_id == TRACE_ID
        assert not error.retryable
    assert sync_rest == [] == [delta async for delta in stream]
    assert sync_trace_id == TRACE_ID == stream.trace_id
    assert stream.completion is None


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_both_clients_fail_a_call_whose_channel_closes_with_cancelled(
    live_server: tuple[str, _Chat], flavour: str
) -> None:
    address, chat = live_server
    call: asyncio.Future[ChatResult]
    if flavour == "sync":
        sync_client = FeedbackClient(address)
        call = asyncio.ensure_future(asyncio.to_thread(sync_client.chat, HOLD))
        await chat.holding.wait()
        await asyncio.to_thread(sync_client.close)
    else:
        async_client = AsyncFeedbackClient(address)
        call = asyncio.ensure_future(async_client.chat(HOLD))
        await chat.holding.wait()
        await async_client.close()
    with pytest.raises(FeedbackError) as raised:
        await call
    assert raised.value.code is grpc.StatusCode.CANCELLED


async def test_async_client_lets_a_cancelled_task_unwind(live_address: str) -> None:
    # Only a call cancelled under the caller becomes a FeedbackError: cancelling the task
    # that awaits it raises CancelledError, as asyncio code expects.
    async with AsyncFeedbackClient(live_address) as client:
        stream = client.stream_chat(HOLD)
        assert await anext(stream) == "echo"
        reader = asyncio.ensure_future(anext(stream))
        done, _ = await asyncio.wait({reader}, timeout=0.1)
        assert not done
        assert inspect.getcoroutinestate(reader.get_coro()) == inspect.CORO_SUSPENDED
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader
