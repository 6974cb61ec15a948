"""The only module that imports mlflow (DESIGN §2).

Everything the service does on MLflow goes through `MlflowGateway`: chat-turn
traces, assessment writes, reads and summary scans. Its public methods are
async and run MLflow's blocking client in bounded thread pools, so the gRPC
event loop never waits on MLflow.

Measured MLflow behaviour this module accounts for (DESIGN §2):
- Trace export is done here, synchronously, in a bounded export pool (MLflow's
  own async queue drops traces when full). The export client retries transient
  failures, so a burst or a short outage loses no trace.
- MLflow's HTTP client retries 5xx answers for minutes; it is set to fail fast
  and this module classifies errors itself.
- A client-chosen assessment ID is kept by MLflow and a duplicate insert
  answers a generic 500: a write that fails is checked with a read before it
  is reported as failed, so replays are exactly-once.
- IDs are validated before they reach a REST path or a filter string.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from .backends.base import ChatTurn
from .domain.model import (
    Judgment,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceAssessments,
    WriteOutcome,
    WriteResult,
)
from .domain.validation import CLIENT_REQUEST_ID_RE, TRACE_ID_RE
from .errors import Unavailable

# MLflow reads these when it makes a request; they must be set before the first one.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")

import mlflow
from mlflow.entities import (
    AssessmentSource,
    Expectation,
    Feedback,
    SpanStatusCode,
    SpanType,
    TraceState,
)
from mlflow.exceptions import MlflowException, RestException
from mlflow.tracing.client import TracingClient
from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.trace_manager import InMemoryTraceManager

log = logging.getLogger(__name__)
T = TypeVar("T")

_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"}


def _is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, RestException) and exc.error_code in _NOT_FOUND_CODES


def _is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: connection failures, timeouts, 5xx, 429."""
    if isinstance(exc, RestException):
        try:
            status = exc.get_http_status_code()
        except Exception:  # pragma: no cover - defensive
            return True
        return status >= 500 or status == 429
    # Connection refused / reset / timeout surface as a plain MlflowException or OSError.
    return isinstance(exc, MlflowException | OSError | TimeoutError | ConnectionError)


class _RetryingExportClient:
    """Wraps the exporter's TracingClient: transient failures of the calls that
    store a trace are retried with exponential backoff and jitter for up to
    `retry_s` seconds, instead of the trace being dropped with a warning."""

    _RETRIED = ("start_trace", "log_spans", "_upload_trace_data")

    def __init__(self, inner: TracingClient, retry_s: float, stop: threading.Event) -> None:
        self._inner = inner
        self._retry_s = retry_s
        self._stop = stop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._RETRIED:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self._retry_s
            delay = 0.2
            while True:
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:
                    if not _is_transient(exc) or time.monotonic() + delay > deadline:
                        GATEWAY_STATS.export_failures += 1
                        raise
                    GATEWAY_STATS.export_retries += 1
                    log.warning("trace export %s failed (%s); retrying", name, type(exc).__name__)
                    if self._stop.wait(delay * (0.5 + random.random())):
                        raise
                    delay = min(delay * 2, 10.0)

        return call


@dataclass
class GatewayStats:
    export_retries: int = 0
    export_failures: int = 0


GATEWAY_STATS = GatewayStats()
_STOP_EXPORT_RETRIES = threading.Event()
_export_retry_s = 300.0
_original_exporter_init = MlflowV3SpanExporter.__init__


def _exporter_init(self: MlflowV3SpanExporter, *args: Any, **kwargs: Any) -> None:
    _original_exporter_init(self, *args, **kwargs)
    self._client = _RetryingExportClient(  # type: ignore[assignment]
        self._client, _export_retry_s, _STOP_EXPORT_RETRIES
    )


MlflowV3SpanExporter.__init__ = _exporter_init  # type: ignore[method-assign]


class ChatTrace:
    """The MLflow trace of one chat turn, held in memory until `finish()` exports it."""

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


class MlflowGateway:
    def __init__(
        self,
        *,
        tracking_uri: str,
        experiment_name: str,
        timeout_s: float = 10.0,
        io_workers: int = 16,
        export_workers: int = 4,
        export_retry_s: float = 300.0,
    ) -> None:
        global _export_retry_s
        _export_retry_s = export_retry_s
        _STOP_EXPORT_RETRIES.clear()
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(max(1, timeout_s)))
        mlflow.set_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._experiment_id: str | None = None
        self._experiment_lock = threading.Lock()
        self._client = TracingClient(tracking_uri)
        self._io = ThreadPoolExecutor(io_workers, thread_name_prefix="mlflow-io")
        self.export_pool = ThreadPoolExecutor(export_workers, thread_name_prefix="mlflow-export")

    # --- lifecycle ---------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._io, fn)

    def close(self, *, abandon_exports: bool = False) -> None:
        """Waits for queued trace exports (unless `abandon_exports`), then releases threads."""
        if abandon_exports:
            _STOP_EXPORT_RETRIES.set()
        self.export_pool.shutdown(wait=True)
        self._io.shutdown(wait=False, cancel_futures=True)

    # --- experiment --------------------------------------------------------------------

    def experiment_id_sync(self) -> str:
        """Resolves (creating if needed) the experiment; cached once known."""
        if self._experiment_id is not None:
            return self._experiment_id
        with self._experiment_lock:
            if self._experiment_id is None:
                try:
                    experiment = mlflow.set_experiment(experiment_name=self.experiment_name)
                except Exception as exc:
                    raise Unavailable("MLflow tracking server is unreachable") from exc
                self._experiment_id = str(experiment.experiment_id)
                log.info(
                    "using MLflow experiment %r (id %s) at %s",
                    self.experiment_name,
                    self._experiment_id,
                    self.tracking_uri,
                )
            return self._experiment_id

    async def experiment_id(self) -> str:
        if self._experiment_id is not None:
            return self._experiment_id
        return await self._run(self.experiment_id_sync)

    async def ping(self) -> bool:
        """True when MLflow answers (used for readiness details, never for liveness)."""
        try:
            await self.experiment_id()
            return True
        except Unavailable:
            return False

    # --- chat traces -------------------------------------------------------------------

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

    # --- reads -------------------------------------------------------------------------

    async def trace_exists(self, trace_id: str) -> bool:
        """Whether MLflow has the trace. Raises `Unavailable` when MLflow cannot answer."""
        if not TRACE_ID_RE.fullmatch(trace_id):
            return False

        def call() -> bool:
            try:
                self._client.get_trace_info(trace_id)
                return True
            except Exception as exc:
                if _is_not_found(exc):
                    return False
                raise Unavailable("MLflow tracking server is unreachable") from exc

        return await self._run(call)

    async def find_trace_by_client_request_id(self, client_request_id: str) -> str | None:
        """The newest trace of the experiment with this client request ID, if any.

        The ID is validated to a quote-free alphabet before it is placed, quoted, in
        the filter string: it can never change the filter's meaning."""
        if not CLIENT_REQUEST_ID_RE.fullmatch(client_request_id):
            return None
        experiment_id = await self.experiment_id()
        literal = client_request_id.replace("\\", "\\\\").replace("'", "\\'")

        def call() -> str | None:
            try:
                traces = self._client.search_traces(
                    experiment_ids=[experiment_id],
                    filter_string=f"attributes.client_request_id = '{literal}'",
                    max_results=1,
                    order_by=["timestamp_ms DESC"],
                    include_spans=False,
                )
            except Exception as exc:
                raise Unavailable("MLflow tracking server is unreachable") from exc
            return str(traces[0].info.trace_id) if traces else None

        return await self._run(call)

    async def list_assessments(self, trace_id: str) -> list[StoredAssessment] | None:
        """The trace's assessments, or None when MLflow has no such trace."""

        def call() -> list[StoredAssessment] | None:
            try:
                info = self._client.get_trace_info(trace_id)
            except Exception as exc:
                if _is_not_found(exc):
                    return None
                raise Unavailable("MLflow tracking server is unreachable") from exc
            return [_to_stored(a) for a in info.assessments or []]

        return await self._run(call)

    async def scan_traces(
        self, start_ms: int, end_ms: int, max_traces: int
    ) -> tuple[list[TraceAssessments], bool]:
        """Traces created in [start_ms, end_ms) with their assessments, newest first,
        in pages of search calls (never one call per trace). Returns (rows, truncated)."""
        experiment_id = await self.experiment_id()

        def call() -> tuple[list[TraceAssessments], bool]:
            rows: list[TraceAssessments] = []
            token: str | None = None
            filter_string = (
                f"trace.timestamp_ms >= {int(start_ms)} AND trace.timestamp_ms < {int(end_ms)}"
            )
            while True:
                try:
                    page = self._client.search_traces(
                        experiment_ids=[experiment_id],
                        filter_string=filter_string,
                        max_results=min(500, max_traces - len(rows) + 1),
                        order_by=["timestamp_ms DESC"],
                        page_token=token,
                        include_spans=False,
                    )
                except Exception as exc:
                    raise Unavailable("MLflow tracking server is unreachable") from exc
                for trace in page:
                    info = trace.info
                    rows.append(
                        TraceAssessments(
                            trace_id=info.trace_id,
                            timestamp_ms=int(info.request_time),
                            assessments=[_to_stored(a) for a in info.assessments or []],
                        )
                    )
                if len(rows) > max_traces:
                    return rows[:max_traces], True
                token = page.token
                if not token:
                    return rows, False

        return await self._run(call)

    # --- writes ------------------------------------------------------------------------

    async def write_assessment(self, judgment: Judgment, trace_id: str) -> WriteOutcome:
        """Stores one judgment as an assessment with its deterministic ID. Idempotent:
        an assessment that is already there counts as stored."""
        return await self._run(lambda: self._write_sync(judgment, trace_id))

    def _write_sync(self, judgment: Judgment, trace_id: str) -> WriteOutcome:
        source = AssessmentSource(
            source_type=judgment.source_type.value, source_id=judgment.source_id
        )
        assessment: Feedback | Expectation
        if judgment.kind is JudgmentKind.FEEDBACK:
            assessment = Feedback(
                name=judgment.name,
                value=judgment.value,
                source=source,
                rationale=judgment.rationale,
                metadata=judgment.metadata or None,
                span_id=judgment.target.span_id,
            )
        else:
            assessment = Expectation(
                name=judgment.name,
                value=judgment.value,
                source=source,
                metadata=judgment.metadata or None,
                span_id=judgment.target.span_id,
            )
        assessment.assessment_id = judgment.assessment_id
        try:
            self._client.log_assessment(trace_id, assessment)
            return WriteOutcome(WriteResult.STORED, trace_id)
        except Exception as exc:
            if _is_not_found(exc):
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, trace_id, "trace not found")
            # A duplicate insert answers a generic error: look before reporting failure.
            try:
                self._client.get_assessment(trace_id, judgment.assessment_id)
                return WriteOutcome(WriteResult.STORED, trace_id, "already stored")
            except Exception as read_exc:
                if _is_not_found(read_exc) and not _is_transient(exc):
                    return WriteOutcome(WriteResult.REJECTED, trace_id, _describe(exc))
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id, _describe(exc))


def _describe(exc: BaseException) -> str:
    code = getattr(exc, "error_code", "")
    return f"{type(exc).__name__} {code}".strip()


def _source_type(value: Any) -> SourceType:
    try:
        return SourceType(str(value))
    except ValueError:
        return SourceType.HUMAN


def _to_stored(a: Any) -> StoredAssessment:
    is_feedback = isinstance(a, Feedback)
    source = a.source
    error = getattr(a, "error", None)
    return StoredAssessment(
        assessment_id=str(a.assessment_id),
        name=str(a.name),
        kind=JudgmentKind.FEEDBACK if is_feedback else JudgmentKind.EXPECTATION,
        value=a.value,
        source_type=_source_type(getattr(source, "source_type", "HUMAN")),
        source_id=str(getattr(source, "source_id", "") or ""),
        rationale=getattr(a, "rationale", None),
        metadata={str(k): str(v) for k, v in (a.metadata or {}).items()},
        span_id=a.span_id,
        create_time_ms=int(a.create_time_ms or 0),
        valid=getattr(a, "valid", True) is not False,
        error=getattr(error, "error_message", None) if error else None,
    )
