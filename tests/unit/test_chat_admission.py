"""Chat admission (domain/chat.py): open turns and ended turns waiting for their trace
export are bounded separately, so that long streams do not use up export capacity, and
no turn is admitted while the export backlog is full. Fakes for MLflow and the backend
(pure admission logic)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from feedback_server.backends.base import ChatTurn
from feedback_server.domain.chat import ActiveTurn, ChatService
from feedback_server.domain.traces import TraceRegistry
from feedback_server.errors import ResourceExhausted

_ids = itertools.count()


class _Trace:
    def __init__(self, exported: threading.Event) -> None:
        self.trace_id = f"tr-{next(_ids):032x}"
        self.span_id = "0" * 16
        self._exported = exported

    def finish(self, *, response: str, error: str | None = None) -> None:
        self._exported.wait(10)  # export blocks until the test lets it through


class _Gateway:
    def __init__(self) -> None:
        self.exports_go = threading.Event()
        self.export_pool = ThreadPoolExecutor(8)

    async def experiment_id(self) -> str:
        return "1"

    def start_chat_trace(self, **_: Any) -> _Trace:
        return _Trace(self.exports_go)

    def export_chat_trace(self, trace: _Trace, **outcome: Any) -> asyncio.Future[None]:
        return asyncio.wrap_future(self.export_pool.submit(trace.finish, **outcome))


class _Backend:
    """Each turn streams one piece, then waits until the test ends it."""

    name = "fake"

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def stream(self, turn: ChatTurn) -> AsyncGenerator[str, None]:
        yield "piece"
        await self.release.wait()

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def parts() -> AsyncIterator[tuple[_Gateway, _Backend]]:
    gateway = _Gateway()
    yield gateway, _Backend()
    gateway.exports_go.set()
    gateway.export_pool.shutdown(wait=True)


def _service(parts: tuple[_Gateway, _Backend], **bounds: int) -> ChatService:
    gateway, backend = parts
    return ChatService(backend, gateway, TraceRegistry(), **bounds)  # type: ignore[arg-type]


async def _begin(chat: ChatService, timeout_s: float = 0.3) -> ActiveTurn:
    return await chat.begin(ChatTurn("hi", "crid"), rpc="StreamChat", admission_timeout_s=timeout_s)


async def _open(active: ActiveTurn) -> asyncio.Task[None]:
    """Starts the turn's stream and returns once its first piece is out."""
    first = asyncio.Event()

    async def run() -> None:
        async for _ in active.pieces():
            first.set()

    task = asyncio.create_task(run())
    await first.wait()
    return task


async def test_open_turns_do_not_use_export_capacity(parts: tuple[_Gateway, _Backend]) -> None:
    chat = _service(parts, export_max_pending=1, max_open_turns=50)
    tasks = [await _open(await _begin(chat)) for _ in range(20)]  # 20 open streams, 1 slot
    parts[1].release.set()
    await asyncio.gather(*tasks)


async def test_open_turns_are_bounded(parts: tuple[_Gateway, _Backend]) -> None:
    chat = _service(parts, export_max_pending=10, max_open_turns=2)
    first = await _open(await _begin(chat))
    second = await _open(await _begin(chat))
    with pytest.raises(ResourceExhausted):
        await _begin(chat)
    parts[1].release.set()
    await asyncio.gather(first, second)  # both ended: their exports wait, under the bound
    third = await _begin(chat)
    await asyncio.wait_for(third.run(), 5)


async def test_no_turn_is_admitted_while_the_export_backlog_is_full(
    parts: tuple[_Gateway, _Backend],
) -> None:
    gateway, backend = parts
    chat = _service(parts, export_max_pending=2, max_open_turns=50)
    backend.release.set()
    for _ in range(2):
        await (await _begin(chat)).run()  # ended; exports held back by the fake MLflow
    with pytest.raises(ResourceExhausted):
        await _begin(chat)
    waiting = asyncio.create_task(_begin(chat, timeout_s=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    gateway.exports_go.set()  # MLflow catches up: the waiting turn is admitted
    await asyncio.wait_for((await waiting).run(), 5)
    assert await chat.drain_exports(5) == 0
