"""Chat-turn traces: started in memory, ended and exported in the export pool."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import mlflow
from mlflow.entities import SpanStatusCode, SpanType, TraceState
from mlflow.tracing.trace_manager import InMemoryTraceManager

from ..backends.base import ChatTurn
from ..domain.ports import TurnTrace
from .core import GatewayCore

log = logging.getLogger(__name__)


class ChatTrace:
    """The MLflow trace of one chat turn, held in memory until `finish()` exports it
    (the domain's `TurnTrace`)."""

    def __init__(self, root: Any, child: Any) -> None:
        self._root = root
        self._child = child
        self.trace_id: str = root.trace_id
        self.span_id: str = root.span_id

    def finish(self, *, response: str, error: str | None = None) -> None:
        """Ends the turn and exports its trace (blocking: call from the export pool)."""
        status = SpanStatusCode.ERROR if error else SpanStatusCode.OK
        outputs = {"response": response}
        if error:
            outputs["error"] = error
            with InMemoryTraceManager.get_instance().get_trace(self.trace_id) as trace:
                if trace is not None:
                    trace.info.state = TraceState.ERROR
                    trace.info.trace_metadata["feedback.error"] = error
        self._child.end(outputs=outputs, status=status)
        self._root.end(outputs=outputs, status=status)


class ChatTraceMethods(GatewayCore):
    def start_chat_trace(
        self, *, rpc: str, turn: ChatTurn, backend: str, experiment_id: str
    ) -> ChatTrace:
        """Starts the in-memory trace of a turn (no network)."""
        metadata = dict(turn.metadata)
        if turn.session_id:
            metadata["mlflow.trace.session"] = turn.session_id
        if turn.user_id:
            metadata["mlflow.trace.user"] = turn.user_id
        metadata["feedback.rpc"] = rpc
        metadata["feedback.backend"] = backend
        root = mlflow.start_span_no_context(
            name=rpc,
            span_type=SpanType.AGENT,
            inputs={"message": turn.message},
            metadata=metadata,
            experiment_id=experiment_id,
        )
        with InMemoryTraceManager.get_instance().get_trace(root.trace_id) as trace:
            if trace is not None:
                trace.info.client_request_id = turn.client_request_id
                trace.info.request_preview = turn.message[:1000]
        child = mlflow.start_span_no_context(
            name=backend,
            span_type=SpanType.CHAT_MODEL,
            parent_span=root,
            inputs={"messages": [{"role": "user", "content": turn.message}]},
        )
        return ChatTrace(root, child)

    def export_chat_trace(
        self, trace: TurnTrace, *, response: str, error: str | None
    ) -> asyncio.Future[bool]:
        """Ends the turn and exports its trace in the export pool (call on the event loop).
        The future is True once MLflow has the trace, False when the export failed (logged)."""

        def run() -> bool:
            try:
                trace.finish(response=response, error=error)
                return True
            except Exception:
                log.exception("trace %s could not be exported", trace.trace_id)
                return False

        return asyncio.wrap_future(self._export_pool.submit(run))
