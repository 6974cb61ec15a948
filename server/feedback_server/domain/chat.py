"""Chat turns: each one is answered by the chat backend and recorded as one MLflow trace."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from ..backends.base import ChatBackend, ChatTurn
from ..errors import ResourceExhausted
from .current_trace import working_on
from .ports import ChatTracing, TurnTrace
from .traces import TraceRegistry
from .validation import (
    MAX_ID_CHARS,
    MAX_MESSAGE_CHARS,
    Violations,
)


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


class ActiveTurn:
    """One running turn. `pieces()` streams the answer; the trace is ended and handed
    to the export pool exactly once, OK on success, ERROR on failure or cancellation."""

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
                async for piece in stream:
                    if piece:
                        parts.append(piece)
                        yield piece
        except asyncio.CancelledError:
            self.response = "".join(parts)
            self.end(error="cancelled by the client")
            raise
        except BaseException as exc:
            self.response = "".join(parts)
            self.end(error=f"chat backend failed: {type(exc).__name__}")
            raise
        self.response = "".join(parts)
        self.end()

    def end(self, error: str | None = None) -> None:
        if not self._ended:
            self._ended = True
            self._service.export(self, error)

    async def run(self) -> TurnResult:
        async for _ in self.pieces():
            pass
        return TurnResult(self.response, self.trace_id, self.client_request_id)


class ChatService:
    """Admits, answers and traces chat turns.

    Two bounds, both waited on at admission (backpressure), then `RESOURCE_EXHAUSTED`:
    at most `max_open_turns` turns being answered, and no new turn while
    `export_max_pending` ended turns wait for their traces to be exported. An open turn
    does not count against the export bound, so long streams do not hold back export
    capacity; traces held in memory stay below the sum of the two.
    """

    def __init__(
        self,
        backend: ChatBackend,
        gateway: ChatTracing,
        registry: TraceRegistry,
        *,
        export_max_pending: int = 256,
        max_open_turns: int = 1024,
    ) -> None:
        self.backend = backend
        self._gateway = gateway
        self._registry = registry
        self._open_turns = asyncio.Semaphore(max_open_turns)
        self._export_max_pending = export_max_pending
        self._export_room = asyncio.Event()
        self._export_room.set()
        self._exports: set[asyncio.Future[bool]] = set()

    async def begin(self, turn: ChatTurn, *, rpc: str, admission_timeout_s: float) -> ActiveTurn:
        """Admits a turn (waiting for capacity) and starts its trace."""
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
                rpc=rpc, turn=turn, backend=self.backend.name, experiment_id=experiment_id
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

    def export(self, active: ActiveTurn, error: str | None) -> None:
        """Hands the ended trace over for export; feedback for it waits on the future."""
        self._open_turns.release()
        future = self._gateway.export_chat_trace(
            active._trace, response=active.response, error=error
        )
        self._exports.add(future)
        self._registry.register(active.trace_id, active.client_request_id, future)

        def done(f: asyncio.Future[bool]) -> None:
            self._exports.discard(f)
            if len(self._exports) < self._export_max_pending:
                self._export_room.set()

        future.add_done_callback(done)

    async def drain_exports(self, timeout_s: float) -> int:
        """Waits for trace exports in flight (graceful shutdown); returns how many remain."""
        pending = [f for f in self._exports if not f.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout_s)
        return sum(1 for f in pending if not f.done())


__all__ = ["ActiveTurn", "ChatService", "TurnResult", "check_turn"]
