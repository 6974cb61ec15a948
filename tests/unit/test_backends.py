"""Chat backends: the embedded echo backend and the OpenAI-compatible one.

The OpenAI-compatible backend runs against `testbed.fake_openai`, a real
HTTP server on loopback, so the whole HTTP/SSE path is exercised.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from email.utils import formatdate
from typing import cast

import pytest
from feedback_server.backends import (
    ChatBackend,
    ChatTurn,
    EchoBackend,
    OpenAICompatibleBackend,
    create_backend,
)
from feedback_server.backends.echo import ANSWER_SUFFIX, FAIL_MARKER, MAX_DELTAS
from feedback_server.backends.openai_compat import (
    DEFAULT_RETRY_AFTER_S,
    MAX_RETRY_AFTER_S,
    parse_retry_after,
)
from feedback_server.errors import Unavailable

from testbed.fake_openai import FakeOpenAI


def turn(message: str = "What is MLflow?") -> ChatTurn:
    return ChatTurn(message=message, client_request_id="req-1", user_id="u1", session_id="s1")


async def collect(backend: ChatBackend, message: str = "What is MLflow?") -> list[str]:
    return [piece async for piece in backend.stream(turn(message))]


async def collect_until_error(
    backend: ChatBackend, message: str = "hi"
) -> tuple[list[str], Unavailable]:
    received: list[str] = []
    with pytest.raises(Unavailable) as caught:
        async for piece in backend.stream(turn(message)):
            received.append(piece)
    return received, caught.value


# -- echo ----------------------------------------------------------------------


async def test_echo_answer_is_deterministic_and_streamed_in_pieces() -> None:
    backend = EchoBackend()
    first = await collect(backend, "What is MLflow tracing?")
    second = await collect(EchoBackend(), "What is MLflow tracing?")

    assert first == second
    assert len(first) >= 3
    assert all(first)
    assert "".join(first) == f"You said: What is MLflow tracing? {ANSWER_SUFFIX}"
    assert "".join(first) == EchoBackend.answer("What is MLflow tracing?")
    assert backend.name == "echo"


@pytest.mark.parametrize("message", ["", "x", "  two  words ", "line\nbreaks\tand tabs"])
async def test_echo_short_messages_still_give_three_pieces_that_add_up(message: str) -> None:
    pieces = await collect(EchoBackend(), message)

    assert len(pieces) >= 3
    assert "".join(pieces) == EchoBackend.answer(message)
    assert "".join(pieces).strip()


async def test_echo_long_message_is_grouped_into_a_bounded_number_of_pieces() -> None:
    message = " ".join(f"w{i}" for i in range(5000))
    pieces = await collect(EchoBackend(), message)

    assert 3 <= len(pieces) <= MAX_DELTAS
    assert "".join(pieces) == EchoBackend.answer(message)


async def test_echo_answers_differ_by_message() -> None:
    assert await collect(EchoBackend(), "a") != await collect(EchoBackend(), "b")


async def test_echo_fail_marker_raises_unavailable_after_one_piece() -> None:
    received, error = await collect_until_error(EchoBackend(), f"please {FAIL_MARKER} now")

    assert received == EchoBackend.pieces(f"please {FAIL_MARKER} now")[:1]
    assert isinstance(error, Unavailable)
    assert error.retry_after_s > 0


async def test_echo_with_delay_can_be_cancelled_mid_stream() -> None:
    backend = EchoBackend(delay_s=5.0)
    first = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        async for piece in backend.stream(turn()):
            received.append(piece)
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), timeout=2)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0
    assert len(received) == 1


def test_echo_rejects_negative_delay() -> None:
    with pytest.raises(ValueError):
        EchoBackend(delay_s=-1)


# -- factory -------------------------------------------------------------------


async def test_create_backend_echo_and_openai() -> None:
    echo = create_backend(" Echo ", echo_delay_s=0.01)
    assert isinstance(echo, EchoBackend)
    assert echo.name == "echo"

    openai = create_backend(
        "openai", base_url="http://127.0.0.1:1/v1", model="llama3.2", api_key="sk-secret"
    )
    try:
        assert isinstance(openai, OpenAICompatibleBackend)
        assert openai.name == "openai:llama3.2"
        assert "sk-secret" not in repr(openai)
    finally:
        await openai.aclose()


@pytest.mark.parametrize(
    ("kind", "kwargs"),
    [
        ("bogus", {}),
        ("", {}),
        ("openai", {"model": "m"}),
        ("openai", {"base_url": "http://127.0.0.1:1/v1"}),
        ("openai", {"base_url": "127.0.0.1:1/v1", "model": "m"}),
        ("openai", {"base_url": "http://127.0.0.1:1/v1", "model": "m", "timeout_s": 0}),
    ],
)
def test_create_backend_rejects_bad_configuration(kind: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        create_backend(kind, **kwargs)  # type: ignore[arg-type]


# -- OpenAI-compatible: the happy path ------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


MakeBackend = Callable[..., OpenAICompatibleBackend]


@pytest.fixture
async def make_backend(fake: FakeOpenAI) -> AsyncIterator[MakeBackend]:
    created: list[OpenAICompatibleBackend] = []

    def make(**kwargs: object) -> OpenAICompatibleBackend:
        options: dict[str, object] = {"model": "fake-model", "timeout_s": 5.0}
        options.update(kwargs)
        backend = OpenAICompatibleBackend(fake.base_url, **options)  # type: ignore[arg-type]
        created.append(backend)
        return backend

    yield make
    for backend in created:
        await backend.aclose()


async def test_openai_streams_the_deltas_in_order(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.chunks = ["MLflow ", "traces ", "are ", "great", "."]
    backend = make_backend(model="llama3.2")

    pieces = await collect(backend, "Tell me about traces")

    assert pieces == ["MLflow ", "traces ", "are ", "great", "."]
    assert backend.name == "openai:llama3.2"
    assert len(fake.requests) == 1
    sent = fake.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.body == {
        "model": "llama3.2",
        "messages": [{"role": "user", "content": "Tell me about traces"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert "authorization" not in sent.headers


async def test_openai_sends_the_bearer_key_and_system_prompt_when_set(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    backend = make_backend(api_key="sk-test-123", system_prompt="Be brief.")

    assert "".join(await collect(backend, "hi")) == "Hello, world!"

    sent = fake.requests[0]
    assert sent.headers["authorization"] == "Bearer sk-test-123"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert "sk-test-123" not in repr(backend)


async def test_openai_reuses_one_pooled_connection(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    backend = make_backend()

    for _ in range(3):
        assert "".join(await collect(backend)) == "Hello, world!"

    assert len(fake.requests) == 3
    # With keep-alive the three requests come over the same connection.
    assert len({r.client_port for r in fake.requests}) == 1


async def test_openai_accepts_a_json_answer_to_a_streaming_request(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.mode = "json_anyway"

    assert await collect(make_backend()) == ["Hello, world!"]


async def test_openai_accepts_a_stream_that_finishes_without_done(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.mode = "finish_without_done"

    assert "".join(await collect(make_backend())) == "Hello, world!"


# -- OpenAI-compatible: failures -------------------------------------------------


@pytest.mark.parametrize(
    "mode",
    ["http_500", "http_401", "error_event", "malformed", "bad_shape", "truncated", "no_done"],
)
async def test_openai_failures_become_unavailable(
    fake: FakeOpenAI, make_backend: MakeBackend, mode: str
) -> None:
    fake.mode = mode

    received, error = await collect_until_error(make_backend())

    assert type(error) is Unavailable
    assert error.retry_after_s == DEFAULT_RETRY_AFTER_S
    assert "secret upstream detail" not in error.message
    if mode.startswith("http_"):
        assert received == []
        assert mode.removeprefix("http_") in error.message  # the status code, not the body
    elif mode != "no_done":
        assert received == ["Hello"]


@pytest.mark.parametrize("mode", ["http_500", "http_429", "error_event", "truncated"])
async def test_openai_failures_do_not_leak_pooled_connections(
    fake: FakeOpenAI, make_backend: MakeBackend, mode: str
) -> None:
    # One connection only: a response left open would block the next request.
    backend = make_backend(max_connections=1, timeout_s=1.0)
    for _ in range(3):
        fake.mode = mode
        await collect_until_error(backend)
        fake.mode = "ok"
        assert "".join(await collect(backend)) == "Hello, world!"


async def test_openai_429_passes_on_retry_after(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.mode = "http_429"
    fake.retry_after = "7"

    received, error = await collect_until_error(make_backend())

    assert received == []
    assert type(error) is Unavailable
    assert error.retry_after_s == 7.0


async def test_openai_429_without_retry_after_uses_the_default(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.mode = "http_429"
    fake.retry_after = None

    _, error = await collect_until_error(make_backend())

    assert type(error) is Unavailable
    assert error.retry_after_s == DEFAULT_RETRY_AFTER_S


@pytest.mark.parametrize("mode", ["hang_before_headers", "hang_mid_stream"])
async def test_openai_timeout_becomes_unavailable(
    fake: FakeOpenAI, make_backend: MakeBackend, mode: str
) -> None:
    fake.mode = mode
    backend = make_backend(timeout_s=0.3)

    started = time.monotonic()
    received, error = await collect_until_error(backend)

    assert type(error) is Unavailable
    assert error.retry_after_s == DEFAULT_RETRY_AFTER_S
    assert time.monotonic() - started < 3.0
    assert received == ([] if mode == "hang_before_headers" else ["Hello"])


async def test_openai_connection_refused_becomes_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on `port` any more.
    backend = OpenAICompatibleBackend(f"http://127.0.0.1:{port}/v1", "m", timeout_s=2.0)
    try:
        received, error = await collect_until_error(backend)
    finally:
        await backend.aclose()

    assert received == []
    assert type(error) is Unavailable
    assert error.retry_after_s == DEFAULT_RETRY_AFTER_S


# -- OpenAI-compatible: cancellation ---------------------------------------------


async def test_openai_cancellation_mid_stream_closes_the_connection(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.mode = "slow"
    fake.chunk_delay_s = 0.02
    backend = make_backend()
    first = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        async for piece in backend.stream(turn()):
            received.append(piece)
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), timeout=5)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0

    # The server notices that the client went away (its writes fail).
    assert await asyncio.to_thread(fake.client_disconnected.wait, 5)
    assert 1 <= len(received) < fake.slow_chunks

    # The backend stays usable after a cancelled stream.
    fake.mode = "ok"
    assert "".join(await collect(backend)) == "Hello, world!"


async def test_openai_closing_the_stream_early_closes_the_connection(
    fake: FakeOpenAI, make_backend: MakeBackend
) -> None:
    fake.mode = "slow"
    fake.chunk_delay_s = 0.02
    backend = make_backend()

    stream = cast(AsyncGenerator[str, None], backend.stream(turn()))
    assert await anext(stream) == "Hello"
    await stream.aclose()

    assert await asyncio.to_thread(fake.client_disconnected.wait, 5)


# -- Retry-After parsing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, DEFAULT_RETRY_AFTER_S),
        ("", DEFAULT_RETRY_AFTER_S),
        ("3", 3.0),
        (" 2.5 ", 2.5),
        ("0", 0.1),
        ("-5", 0.1),
        ("100000", MAX_RETRY_AFTER_S),
        ("nan", DEFAULT_RETRY_AFTER_S),
        ("soon", DEFAULT_RETRY_AFTER_S),
    ],
)
def test_parse_retry_after_seconds(header: str | None, expected: float) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    seconds = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
    assert 25 <= seconds <= 31
