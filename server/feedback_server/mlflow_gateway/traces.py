"""Chat-turn traces: started in memory, ended into a durable record, exported from it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import mlflow
from mlflow.entities import SpanStatusCode, SpanType, TraceState
from mlflow.tracing.provider import detach_span_from_context, set_span_in_context
from mlflow.tracing.trace_manager import InMemoryTraceManager

from ..backends.base import ChatTurn
from ..domain.trace_parent import TraceParent
from ..domain.traces import ExportOutcome, ExportResult, TraceRecord
from .calls import describe, is_transient
from .core import GatewayCore
from .export import CAPTURE, export_recorded
from .parents import adopt, caller_trace_id, link_to, mlflow_trace_id

log = logging.getLogger(__name__)


class ChatTrace:
    """The MLflow trace of one chat turn, held in memory until `finish()` ends it into a
    `TraceRecord` (the domain's `TurnTrace`)."""

    def __init__(
        self, root: Any, child: Any, client_request_id: str, parent: TraceParent | None
    ) -> None:
        self._root = root
        self._child = child
        self._client_request_id = client_request_id
        self._parent = parent  # the caller's span, parent of the root span
        self.trace_id: str = root.trace_id
        self.span_id: str = root.span_id

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The turn's backend span is the current span inside (MLflow's OpenAI
        autologging starts its LLM span under the current span)."""
        token = set_span_in_context(self._child)
        try:
            yield
        finally:
            detach_span_from_context(token)

    def finish(self, *, response: str, error: str | None = None) -> TraceRecord:
        """Ends the turn's spans; the trace MLflow's exporter would send becomes the record
        (no network: export.py keeps it from the exporter)."""
        status = SpanStatusCode.ERROR if error else SpanStatusCode.OK
        outputs = {"response": response}
        if error:
            outputs["error"] = error
            with InMemoryTraceManager.get_instance().get_trace(self.trace_id) as trace:
                if trace is not None:
                    trace.info.state = TraceState.ERROR
                    trace.info.trace_metadata["feedback.error"] = error
        try:
            self._end_left_open()
            self._child.end(outputs=outputs, status=status)
            self._root.end(outputs=outputs, status=status)
        finally:
            ended = CAPTURE.collect(self.trace_id)
        if ended is None:
            raise RuntimeError(f"MLflow did not hand over trace {self.trace_id}")
        if self._parent is not None:
            adopt(ended, self.span_id, self._parent)
        return TraceRecord(self.trace_id, self._client_request_id, ended.to_json())

    def _end_left_open(self) -> None:
        """Ends the spans a backend's instrumentation left open (an LLM call cancelled or
        broken off mid-stream), as errors, so that the trace is whole."""
        with InMemoryTraceManager.get_instance().get_trace(self.trace_id) as trace:
            spans = [] if trace is None else list(trace.span_dict.values())
        for span in spans:
            if span.span_id not in (self.span_id, self._child.span_id) and span.end_time_ns is None:
                span.end(status=SpanStatusCode.ERROR)


class ChatTraceMethods(GatewayCore):
    def start_chat_trace(
        self,
        *,
        rpc: str,
        turn: ChatTurn,
        backend: str,
        experiment_id: str,
        parent: TraceParent | None = None,
        taken: Callable[[str], bool] = lambda trace_id: False,
    ) -> ChatTrace:
        """Starts the in-memory trace of a turn (no network), continuing the caller's
        trace `parent` when its trace ID is free here (parents.py), else linked to it."""
        links = []
        if parent is not None and _in_use(mlflow_trace_id(parent), taken):
            log.debug("trace %s is in use here: the turn is linked to it", parent.trace_id)
            links, parent = [link_to(parent)], None
        metadata = dict(turn.metadata)
        if turn.session_id:
            metadata["mlflow.trace.session"] = turn.session_id
        if turn.user_id:
            metadata["mlflow.trace.user"] = turn.user_id
        metadata["feedback.rpc"] = rpc
        metadata["feedback.backend"] = backend
        with caller_trace_id(parent) if parent is not None else contextlib.nullcontext():
            root = mlflow.start_span_no_context(
                name=rpc,
                span_type=SpanType.AGENT,
                inputs={"message": turn.message},
                metadata=metadata,
                experiment_id=experiment_id,
                links=links,
            )
        CAPTURE.expect(root.trace_id)
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
        return ChatTrace(root, child, turn.client_request_id, parent)

    async def export_trace(self, record: TraceRecord) -> ExportOutcome:
        """Stores a recorded trace in MLflow, in the export pool (bounded: MLflow ingests
        a few dozen traces per second)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                self._export_pool, export_recorded, self._client, record.payload
            )
        except Exception as exc:
            if is_transient(exc):
                return ExportOutcome(ExportResult.UNAVAILABLE, describe(exc))
            log.warning("MLflow refused trace %s: %s", record.trace_id, describe(exc))
            return ExportOutcome(ExportResult.REJECTED, describe(exc))
        return ExportOutcome(ExportResult.EXPORTED)


def _in_use(trace_id: str, taken: Callable[[str], bool]) -> bool:
    """Whether a turn under way holds the trace, or it is `taken` (recorded here)."""
    with InMemoryTraceManager.get_instance().get_trace(trace_id) as trace:
        open_here = trace is not None
    return open_here or taken(trace_id)
