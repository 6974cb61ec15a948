"""Chat turns (domain/chat.py): a turn is answered only once its trace is durably recorded;
open turns and recorded traces waiting for their export are bounded separately, so that long
streams do not use up export capacity, and no turn is admitted while the export backlog is
full. Fakes for MLflow, the spool and the backend (pure domain logic)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import pytest
from feedback_server.backends.base import ChatTurn
from feedback_server.domain.chat import ActiveTurn, ChatService
from feedback_server.domain.traces import TraceRecord, TraceRegistry
from feedback_server.errors import ResourceExhausted, Unavailable

_ids = itertools.count()


class _Trace:
    def __init__(self, turn: ChatTurn) -> None:
        self.trace_id = f"tr-{next(_ids):032x}"
        self.span_id = "0" * 16
        self.turn = turn
        self.error: str | None = None

    def active(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def finish(self, *, response: str, error: str | None = None) -> TraceRecord:
        self.error = error
        return TraceRecord(self.trace_id, self.turn.client_request_id, f"trace of {response}")


class _Gateway:
    def __init__(self) -> None:
        self.traces: list[_Trace] = []

    async def experiment_id(self) -> str:
        return "1"

    def start_chat_trace(self, *, turn: ChatTurn, **_: Any) -> _Trace:
        self.traces.append(_Trace(turn))
        return self.traces[-1]


class _Recorder:
    """The spool: records are durable once `record_trace` returns (held by `gate`)."""

    def __init__(self) -> None:
        self.records: list[TraceRecord] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def record_trace(self, record: TraceRecord) -> bool:
        await self.gate.wait()
        if self.fail:
            raise Unavailable("the spool cannot record this right now")
        self.records.append(record)
        return True


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


@dataclass
class Parts:
    gateway: _Gateway
    backend: _Backend
    recorder: _Recorder
    registry: TraceRegistry


@pytest.fixture
def parts() -> Parts:
    return Parts(_Gateway(), _Backend(), _Recorder(), TraceRegistry())


def _service(parts: Parts, **bounds: int) -> ChatService:
    return ChatService(
        parts.backend,
        parts.gateway,  # type: ignore[arg-type]
        parts.registry,
        parts.recorder,
        **bounds,
    )


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


async def test_open_turns_do_not_use_export_capacity(parts: Parts) -> None:
    chat = _service(parts, export_max_pending=1, max_open_turns=50)
    tasks = [await _open(await _begin(chat)) for _ in range(20)]  # 20 open streams, 1 slot
    parts.backend.release.set()
    await asyncio.gather(*tasks)


async def test_open_turns_are_bounded(parts: Parts) -> None:
    chat = _service(parts, export_max_pending=10, max_open_turns=2)
    first = await _open(await _begin(chat))
    second = await _open(await _begin(chat))
    with pytest.raises(ResourceExhausted):
        await _begin(chat)
    parts.backend.release.set()
    await asyncio.gather(first, second)  # both ended: their exports wait, under the bound
    third = await _begin(chat)
    await asyncio.wait_for(third.run(), 5)


async def test_no_turn_is_admitted_while_the_export_backlog_is_full(
    parts: Parts,
) -> None:
    chat = _service(parts, export_max_pending=2, max_open_turns=50)
    parts.backend.release.set()
    for _ in range(2):
        await (await _begin(chat)).run()  # recorded; not exported yet
    with pytest.raises(ResourceExhausted):
        await _begin(chat)
    waiting = asyncio.create_task(_begin(chat, timeout_s=5))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    parts.registry.settle(parts.recorder.records[0].trace_id, exported=True)  # MLflow has it
    await asyncio.wait_for((await waiting).run(), 5)


async def test_traces_recorded_before_a_restart_count_against_the_export_bound(
    parts: Parts,
) -> None:
    chat = _service(parts, export_max_pending=2, max_open_turns=50)
    chat.restore([(f"tr-{'a' * 32}", "crid-a"), (f"tr-{'b' * 32}", "crid-b")])
    assert parts.registry.knows(f"tr-{'a' * 32}")
    assert parts.registry.trace_for("crid-b") == f"tr-{'b' * 32}"
    with pytest.raises(ResourceExhausted):
        await _begin(chat)
    parts.registry.settle(f"tr-{'a' * 32}", exported=True)
    parts.backend.release.set()
    await asyncio.wait_for((await _begin(chat)).run(), 5)


async def test_a_turn_is_answered_only_once_its_trace_is_durable(parts: Parts) -> None:
    chat = _service(parts)
    parts.backend.release.set()
    parts.recorder.gate.clear()  # the spool's fsync has not returned yet
    turn = asyncio.create_task((await _begin(chat)).run())
    await asyncio.sleep(0.1)
    assert not turn.done() and not parts.recorder.records
    parts.recorder.gate.set()
    result = await asyncio.wait_for(turn, 5)
    assert [r.trace_id for r in parts.recorder.records] == [result.trace_id]
    assert parts.registry.knows(result.trace_id)  # feedback on it waits for its export
    assert parts.gateway.traces[0].error is None


async def test_a_turn_whose_trace_cannot_be_recorded_is_not_answered(parts: Parts) -> None:
    chat = _service(parts)
    parts.backend.release.set()
    parts.recorder.fail = True
    active = await _begin(chat)
    with pytest.raises(Unavailable):
        await active.run()
    assert not parts.registry.knows(active.trace_id)
    parts.recorder.fail = False
    await asyncio.wait_for((await _begin(chat)).run(), 5)  # its slot was given back


async def test_a_cancelled_turn_is_recorded_in_the_background_with_its_error(
    parts: Parts,
) -> None:
    chat = _service(parts)
    task = await _open(await _begin(chat))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await chat.flush(5) == 0
    (record,) = parts.recorder.records
    assert parts.gateway.traces[0].error == "cancelled by the client"
    assert parts.registry.knows(record.trace_id)
