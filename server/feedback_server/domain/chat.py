"""Chat turns: each one is answered by the chat backend and recorded as one MLflow trace.

A finished turn's trace is recorded durably in the spool before the turn is answered
(`ActiveTurn.pieces` ends only once it is), then exported to MLflow from there by the trace
exporter (domain/trace_export.py). A turn that is never answered (failed, cancelled) is
recorded as well, with state ERROR, but nobody waits for it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..backends.base import ChatBackend, ChatTurn
from ..errors import ResourceExhausted
from .current_trace import working_on
from .ports import ChatTracing, TurnTrace
from .trace_parent import TraceParent
from .traces import TraceRecord, TraceRegistry
from .validation import (
    MAX_ID_CHARS,
    MAX_MESSAGE_CHARS,
    Violations,
)

log = logging.getLogger(__name__)


def check_turn(
    v: Violations,
    message: str,
    client_request_id: str,
    user_id: str,
    session_id: str,
    metadata: Mapping[str, str],
) -> ChatTurn:
    """Checks a chat request into `v`; generates the client request ID when it is empty."""
    if not message.strip():
        v.add("message", "is required")
    elif len(message) > MAX_MESSAGE_CHARS:
        v.add("message", f"must be at most {MAX_MESSAGE_CHARS} characters (got {len(message)})")
    if client_request_id:
        v.client_request_id("client_request_id", client_request_id)
    v.text("user_id", user_id, max_chars=MAX_ID_CHARS)
    v.text("session_id", session_id, max_chars=MAX_ID_CHARS)
    v.metadata("metadata", metadata)
    crid = client_request_id or f"req-{secrets.token_hex(8)}"
    return ChatTurn(message, crid, user_id, session_id, dict(metadata))


@dataclass
class TurnResult:
    response: str
    trace_id: str
    client_request_id: str


class TraceRecorder(Protocol):
    """Where finished turns' traces are made durable (the spool)."""

    async def record_trace(self, record: TraceRecord) -> bool: ...


class ActiveTurn:
    """One running turn. `pieces()` streams the answer; the trace is ended and recorded
    exactly once, OK on success, ERROR on failure or cancellation. On success it is durable
    (in the spool) before `pieces()` ends, so before the caller sends the answer."""

    def __init__(self, service: ChatService, turn: ChatTurn, trace: TurnTrace) -> None:
        self._service = service
        self.turn = turn
        self._trace = trace
        self.trace_id = trace.trace_id
        self.client_request_id = turn.client_request_id
        self.response = ""
        self._ended = False

    async def pieces(self) -> AsyncIterator[str]:
        parts: list[str] = []
        try:
            async with contextlib.aclosing(self._service.backend.stream(self.turn)) as stream:
                while True:
                    with self._trace.active():  # the backend's steps, not the caller's
                        try:
                            piece = await anext(stream)
                        except StopAsyncIteration:
                            break
                    if piece:
                        parts.append(piece)
                        yield piece
        except (asyncio.CancelledError, GeneratorExit):
            self.response = "".join(parts)
            self.abandon("cancelled by the client")
            raise
        except BaseException as exc:
            self.response = "".join(parts)
            with contextlib.suppress(Exception):  # the caller gets the backend's error
                await self.end(error=f"chat backend failed: {type(exc).__name__}")
            raise
        self.response = "".join(parts)
        await self.end()

    async def end(self, error: str | None = None) -> None:
        """Ends the trace and records it durably (raises `Unavailable` when the spool cannot
        write: the turn must not be answered)."""
        if not self._ended:
            self._ended = True
            await self._service.record(self, error)

    def abandon(self, error: str) -> None:
        """Ends a turn that is not answered: its trace is recorded in the background."""
        if not self._ended:
            self._service.in_background(self.end(error=error))

    async def run(self) -> TurnResult:
        async for _ in self.pieces():
            pass
        return TurnResult(self.response, self.trace_id, self.client_request_id)


class ChatService:
    """Admits, answers and traces chat turns.

    Two bounds, both waited on at admission (backpressure), then `RESOURCE_EXHAUSTED`:
    at most `max_open_turns` turns being answered, and no new turn while
    `export_max_pending` recorded traces wait for their export to MLflow (those recorded
    before a restart included). An open turn does not count against the export bound, so
    long streams do not hold back export capacity.
    """

    def __init__(
        self,
        backend: ChatBackend,
        gateway: ChatTracing,
        registry: TraceRegistry,
        recorder: TraceRecorder,
        *,
        on_recorded: Callable[[], None] = lambda: None,
        export_max_pending: int = 256,
        max_open_turns: int = 1024,
    ) -> None:
        self.backend = backend
        self._gateway = gateway
        self._registry = registry
        self._recorder = recorder
        self._on_recorded = on_recorded
        self._open_turns = asyncio.Semaphore(max_open_turns)
        self._export_max_pending = export_max_pending
        self._export_room = asyncio.Event()
        self._export_room.set()
        self._exports: set[asyncio.Future[bool]] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def begin(
        self,
        turn: ChatTurn,
        *,
        rpc: str,
        admission_timeout_s: float,
        parent: TraceParent | None = None,
    ) -> ActiveTurn:
        """Admits a turn (waiting for capacity) and starts its trace, continuing the
        caller's trace `parent` when it has one (see `ChatTracing.start_chat_trace`)."""
        experiment_id = await self._gateway.experiment_id()
        try:
            await asyncio.wait_for(self._admit(), admission_timeout_s)
        except TimeoutError:
            raise ResourceExhausted(
                "too many chat turns open or waiting for their traces to be stored; retry later",
                retry_after_s=1.0,
            ) from None
        try:
            trace = self._gateway.start_chat_trace(
                rpc=rpc,
                turn=turn,
                backend=self.backend.name,
                experiment_id=experiment_id,
                parent=parent,
                taken=self._registry.knows,
            )
        except BaseException:
            self._open_turns.release()
            raise
        working_on(trace.trace_id)
        return ActiveTurn(self, turn, trace)

    async def _admit(self) -> None:
        while len(self._exports) >= self._export_max_pending:
            self._export_room.clear()
            await self._export_room.wait()
        await self._open_turns.acquire()

    async def record(self, active: ActiveTurn, error: str | None) -> None:
        """Ends the turn's trace and records it in the spool (group commit); feedback for it
        then waits on its export."""
        try:
            record = active._trace.finish(response=active.response, error=error)
        finally:
            self._open_turns.release()
        await self._recorder.record_trace(record)
        self.restore([(record.trace_id, record.client_request_id)])
        self._on_recorded()

    def restore(self, pending: list[tuple[str, str]]) -> None:
        """Registers recorded traces whose export is pending (at start: those recorded
        before the restart), so that feedback on them waits for their export."""
        for trace_id, client_request_id in pending:
            future = self._registry.register(trace_id, client_request_id)
            if future in self._exports:
                continue
            self._exports.add(future)
            future.add_done_callback(self._exported)

    def _exported(self, future: asyncio.Future[bool]) -> None:
        self._exports.discard(future)
        if len(self._exports) < self._export_max_pending:
            self._export_room.set()

    def in_background(self, work: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.warning("recording an unanswered turn's trace failed", exc_info=True)

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def flush(self, timeout_s: float) -> int:
        """Waits for traces of unanswered turns still being recorded (graceful shutdown);
        returns how many remain."""
        pending = [t for t in self._background if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
        return sum(1 for t in pending if not t.done())


__all__ = ["ActiveTurn", "ChatService", "TraceRecorder", "TurnResult", "check_turn"]
