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
import base64
import http.client
import json
import logging
import os
import random
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from prometheus_client import Counter

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
from .domain.review import (
    InputKind,
    LabelInputSpec,
    LabelSchemaSpec,
    ReviewItemRecord,
    ReviewQueueRecord,
    TraceContent,
)
from .domain.review import ItemStatus as ReviewItemStatus
from .domain.validation import CLIENT_REQUEST_ID_RE, TRACE_ID_RE
from .errors import AlreadyExists, InvalidArgument, NotFound, Unavailable

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
from mlflow.protos.service_pb2 import CreateAssessment
from mlflow.tracing.client import TracingClient
from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.utils.proto_json_utils import message_to_json

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
                        TRACE_EXPORT_FAILURES.inc()
                        raise
                    TRACE_EXPORT_RETRIES.inc()
                    log.warning("trace export %s failed (%s); retrying", name, type(exc).__name__)
                    if self._stop.wait(delay * (0.5 + random.random())):
                        raise
                    delay = min(delay * 2, 10.0)

        return call


TRACE_EXPORT_RETRIES = Counter(
    "feedback_trace_export_retries_total", "Trace export calls retried after a transient failure"
)
TRACE_EXPORT_FAILURES = Counter(
    "feedback_trace_export_failures_total", "Trace export calls that failed for good"
)
_STOP_EXPORT_RETRIES = threading.Event()
_export_retry_s = 300.0
_original_exporter_init = MlflowV3SpanExporter.__init__


def _exporter_init(self: MlflowV3SpanExporter, *args: Any, **kwargs: Any) -> None:
    _original_exporter_init(self, *args, **kwargs)
    self._client = _RetryingExportClient(  # type: ignore[assignment]
        self._client, _export_retry_s, _STOP_EXPORT_RETRIES
    )


MlflowV3SpanExporter.__init__ = _exporter_init  # type: ignore[method-assign]


def _probe_databricks_headers_once() -> None:
    """Before every HTTP request MLflow asks whether it runs in a Databricks notebook, job
    or cluster, through imports that fail and are not cached (a sys.path scan each time):
    about a quarter of the CPU of writing one assessment (bench/, py-spy). The answer
    cannot change while the process runs, so the provider is asked once, here."""
    try:
        from mlflow.tracking.request_header import registry
        from mlflow.tracking.request_header.databricks_request_header_provider import (
            DatabricksRequestHeaderProvider,
        )

        providers = registry._request_header_provider_registry
        providers._registry = [
            p
            for p in providers._registry
            if not (isinstance(p, DatabricksRequestHeaderProvider) and not p.in_context())
        ]
    except Exception:  # MLflow internals moved: keep MLflow's default behaviour
        log.debug("could not simplify MLflow's request header providers", exc_info=True)


_probe_databricks_headers_once()


def _size_trace_buffer(traces: int) -> None:
    """MLflow keeps the traces of unfinished turns (and finished ones until exported) in a
    buffer that silently drops the oldest beyond `MLFLOW_TRACE_BUFFER_MAX_SIZE` (default
    1000). It is sized for the service's bounds (open turns + exports waiting) before the
    buffer is created, unless the operator set it."""
    os.environ.setdefault("MLFLOW_TRACE_BUFFER_MAX_SIZE", str(max(1000, traces)))
    manager = InMemoryTraceManager._instance
    size = getattr(getattr(manager, "_traces", None), "maxsize", None)
    if isinstance(size, int) and size < traces:
        log.warning(
            "MLflow's trace buffer holds %d traces, fewer than the %d this server may hold "
            "(FEEDBACK_MAX_OPEN_TURNS + FEEDBACK_EXPORT_MAX_PENDING)",
            size,
            traces,
        )


def _behind_proxy(url: urllib.parse.SplitResult) -> bool:
    """Whether requests (MLflow's HTTP client) would reach `url` through a proxy."""
    import urllib.request

    return url.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        url.hostname or ""
    )


class _AssessmentPoster:
    """Creates assessments over one keep-alive HTTP connection per thread.

    MLflow's client spends about 4 ms of CPU per `log_assessment` (requests' proxy and
    environment lookups, response parsing into entities); this sends the same request
    body (`CreateAssessment` as MLflow's client serializes it) in about 1 ms, which is
    what the drainer pays per judgment inside the serving process (bench/, py-spy).
    Only for plain http(s) tracking servers reached without a proxy, with no auth or
    token/basic auth; any other set-up (Databricks, SigV4, auth plugins, client
    certificates, HTTP(S)_PROXY) keeps MLflow's client.
    Errors are raised as MLflow's client raises them (`RestException` for an error body,
    `MlflowException` for any other non-200 answer, `OSError` for the connection).
    """

    def __init__(self, creds: Any, headers: dict[str, str], timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(creds.host)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._base = parts.path.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {**headers, "Content-Type": "application/json"}
        if creds.token:
            self._headers["Authorization"] = f"Bearer {creds.token}"
        elif creds.username and creds.password:
            basic = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {basic}"
        self._ssl: ssl.SSLContext | None = None
        if self._https:
            self._ssl = ssl.create_default_context(cafile=creds.server_cert_path)
            if creds.ignore_tls_verification:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        self._local = threading.local()

    @classmethod
    def for_client(cls, client: TracingClient, timeout_s: float) -> _AssessmentPoster | None:
        """The poster for `client`'s tracking server, or None where MLflow's client must stay."""
        try:
            from mlflow.store.tracking.rest_store import RestStore
            from mlflow.tracking.request_header.registry import resolve_request_headers
            from mlflow.utils.workspace_context import get_request_workspace

            store = client.store
            if not isinstance(store, RestStore) or get_request_workspace():
                return None
            creds = store.get_host_creds()
            url = urllib.parse.urlsplit(creds.host)
            if (
                url.scheme not in ("http", "https")
                or _behind_proxy(url)
                or creds.aws_sigv4
                or creds.auth
                or creds.use_databricks_sdk
                or creds.client_cert_path
                or creds.workspace_id
            ):
                return None
            return cls(creds, dict(resolve_request_headers()), timeout_s)
        except Exception:  # MLflow internals moved: keep MLflow's client
            log.debug("assessments go through MLflow's client", exc_info=True)
            return None

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._https:
                conn = http.client.HTTPSConnection(
                    self._netloc, timeout=self._timeout_s, context=self._ssl
                )
            else:
                conn = http.client.HTTPConnection(self._netloc, timeout=self._timeout_s)
            self._local.conn = conn
        return conn

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def create(self, trace_id: str, assessment: Feedback | Expectation) -> None:
        assessment.trace_id = trace_id
        body = message_to_json(CreateAssessment(assessment=assessment.to_proto())).encode()
        path = f"{self._base}/api/3.0/mlflow/traces/{trace_id}/assessments"
        # A kept-alive connection the server has closed fails on first use: one retry on
        # a fresh connection (the write is idempotent on its assessment ID).
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            try:
                conn = self._connection()
                conn.request("POST", path, body=body, headers=self._headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                if attempt == 1 and reused:
                    continue
                if isinstance(exc, OSError):
                    raise
                raise ConnectionError(f"MLflow answered malformed HTTP: {exc!r}") from exc
            if response.will_close:
                self._drop_connection()
            if response.status == 200:
                return
            text = data.decode("utf-8", "replace")
            try:
                error = json.loads(text)
            except ValueError:
                error = None
            if isinstance(error, dict) and "error_code" in error:
                raise RestException(error)
            raise MlflowException(
                f"API request to endpoint {path} failed with error code {response.status}"
                f" != 200. Response body: {text[:500]!r}"
            )


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
        max_traces_in_memory: int = 1000,
    ) -> None:
        global _export_retry_s
        _export_retry_s = export_retry_s
        _STOP_EXPORT_RETRIES.clear()
        os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(max(1, timeout_s)))
        # MLflow serves every call of the process from one cached HTTP session: its pool
        # must keep a connection per thread that calls MLflow, else urllib3 opens and drops
        # a connection per extra call (and logs "Connection pool is full" each time).
        os.environ.setdefault("MLFLOW_HTTP_POOL_MAXSIZE", str(io_workers + export_workers))
        _size_trace_buffer(max_traces_in_memory)
        mlflow.set_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self._experiment_id: str | None = None
        self._experiment_lock = threading.Lock()
        self._client = TracingClient(tracking_uri)
        self._poster = _AssessmentPoster.for_client(self._client, timeout_s)
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
            if self._poster is not None:
                self._poster.create(trace_id, assessment)
            else:
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

    # --- review: label schemas, review queues, trace content (domain/review.py) --------
    # mlflow-tracing's TracingClient label-schema / review-queue helpers import entities
    # from `mlflow.genai`, which only the full mlflow package has. These methods call the
    # same REST endpoints with the request messages mlflow-tracing ships
    # (`mlflow.protos.label_schemas_pb2`, `mlflow.protos.review_queues_pb2`).

    def _review_call(self, api: Any, request: Any, path: str, what: tuple[str, str]) -> Any:
        """One label-schema / review-queue REST call; MLflow errors become domain errors:
        not found -> NotFound(*what), already exists -> AlreadyExists(*what), invalid ->
        InvalidArgument, unreachable / 5xx -> Unavailable."""
        from mlflow.utils.rest_utils import (
            _V3_LABEL_SCHEMAS_REST_API_PATH_PREFIX,
            _V3_REVIEW_QUEUES_REST_API_PATH_PREFIX,
        )

        prefix = (
            _V3_LABEL_SCHEMAS_REST_API_PATH_PREFIX
            if path.startswith("label-schemas/")
            else _V3_REVIEW_QUEUES_REST_API_PATH_PREFIX
        )
        endpoint = f"{prefix}/{path.split('/', 1)[1]}"
        try:
            return self._client.store._call_endpoint(
                api, message_to_json(request), endpoint=endpoint
            )
        except RestException as exc:
            if _is_not_found(exc):
                raise NotFound(*what) from exc
            if exc.error_code == "RESOURCE_ALREADY_EXISTS":
                raise AlreadyExists(*what) from exc
            if exc.error_code == "INVALID_PARAMETER_VALUE":
                raise InvalidArgument.of(what[0], "rejected by MLflow as invalid") from exc
            if _is_transient(exc):
                raise Unavailable("MLflow tracking server is unreachable") from exc
            raise
        except (MlflowException, OSError) as exc:
            raise Unavailable("MLflow tracking server is unreachable") from exc

    async def create_label_schema(self, spec: LabelSchemaSpec) -> LabelSchemaSpec:
        from mlflow.protos import label_schemas_pb2 as ls

        experiment_id = await self.experiment_id()
        request = ls.CreateLabelSchema(
            experiment_id=experiment_id,
            name=spec.name,
            type=ls.EXPECTATION if spec.kind is JudgmentKind.EXPECTATION else ls.FEEDBACK,
            input=_schema_input_to_proto(spec.input),
            enable_comment=spec.enable_comment,
        )
        if spec.instructions:
            request.instruction = spec.instructions
        what = ("label_schema", spec.name)
        response = await self._run(
            lambda: self._review_call(ls.CreateLabelSchema, request, "label-schemas/create", what)
        )
        return _schema_from_proto(response.label_schema)

    async def get_label_schema(self, name: str) -> LabelSchemaSpec | None:
        from mlflow.protos import label_schemas_pb2 as ls

        experiment_id = await self.experiment_id()
        request = ls.GetLabelSchemaByName(experiment_id=experiment_id, name=name)
        what = ("label_schema", name)
        try:
            response = await self._run(
                lambda: self._review_call(
                    ls.GetLabelSchemaByName, request, "label-schemas/get-by-name", what
                )
            )
        except NotFound:
            return None
        return _schema_from_proto(response.label_schema)

    async def list_label_schemas(
        self, page_size: int, page_token: str | None
    ) -> tuple[list[LabelSchemaSpec], str]:
        from mlflow.protos import label_schemas_pb2 as ls

        experiment_id = await self.experiment_id()
        request = ls.ListLabelSchemas(experiment_id=experiment_id, max_results=page_size)
        if page_token:
            request.page_token = page_token
        what = ("page_token", "")  # the only caller input MLflow can refuse here
        response = await self._run(
            lambda: self._review_call(ls.ListLabelSchemas, request, "label-schemas/list", what)
        )
        return [_schema_from_proto(s) for s in response.label_schemas], response.next_page_token

    async def list_all_label_schemas(self, max_pages: int = 20) -> list[LabelSchemaSpec]:
        """Every label schema of the experiment (pages of 500)."""
        schemas: list[LabelSchemaSpec] = []
        token: str | None = None
        for _ in range(max_pages):
            page, token = await self.list_label_schemas(500, token)
            schemas += page
            if not token:
                break
        return schemas

    async def delete_label_schema(self, schema_id: str) -> None:
        from mlflow.protos import label_schemas_pb2 as ls

        request = ls.DeleteLabelSchema(schema_id=schema_id)
        what = ("label_schema", schema_id)
        await self._run(
            lambda: self._review_call(ls.DeleteLabelSchema, request, "label-schemas/delete", what)
        )

    async def create_review_queue(
        self, name: str, users: list[str], schema_ids: list[str]
    ) -> ReviewQueueRecord:
        from mlflow.protos import review_queues_pb2 as rq

        experiment_id = await self.experiment_id()
        request = rq.CreateReviewQueue(
            experiment_id=experiment_id,
            name=name,
            queue_type=rq.CUSTOM,
            users=users,
            schema_ids=schema_ids,
        )
        what = ("review_session", name)
        response = await self._run(
            lambda: self._review_call(rq.CreateReviewQueue, request, "review-queues/create", what)
        )
        return _queue_from_proto(response.review_queue)

    async def get_review_queue(self, name: str) -> ReviewQueueRecord | None:
        from mlflow.protos import review_queues_pb2 as rq

        experiment_id = await self.experiment_id()
        request = rq.GetReviewQueueByName(experiment_id=experiment_id, name=name)
        what = ("review_session", name)
        try:
            response = await self._run(
                lambda: self._review_call(
                    rq.GetReviewQueueByName, request, "review-queues/get-by-name", what
                )
            )
        except NotFound:
            return None
        return _queue_from_proto(response.review_queue)

    async def list_review_queues(
        self,
        user: str | None,
        page_size: int,
        page_token: str | None,
        *,
        item_id: str | None = None,
    ) -> tuple[list[ReviewQueueRecord], str]:
        """Review queues, newest first: all, those of `user`, or those holding `item_id`."""
        from mlflow.protos import review_queues_pb2 as rq

        experiment_id = await self.experiment_id()
        request = rq.ListReviewQueues(experiment_id=experiment_id, max_results=page_size)
        if user:
            request.user = user
        if item_id:
            request.item_id = item_id
        if page_token:
            request.page_token = page_token
        what = ("page_token", "")  # the only caller input MLflow can refuse here
        response = await self._run(
            lambda: self._review_call(rq.ListReviewQueues, request, "review-queues/list", what)
        )
        return [_queue_from_proto(q) for q in response.review_queues], response.next_page_token

    async def add_review_items(self, queue_id: str, trace_ids: list[str]) -> list[ReviewItemRecord]:
        """Adds traces to a queue (idempotent: items already there keep their status)."""
        from mlflow.protos import review_queues_pb2 as rq

        request = rq.AddItemsToReviewQueue(
            queue_id=queue_id, item_type=rq.TRACE, item_ids=trace_ids
        )
        what = ("review_session", queue_id)
        try:
            response = await self._run(
                lambda: self._review_call(
                    rq.AddItemsToReviewQueue, request, "review-queues/items/add", what
                )
            )
        except NotFound:
            # MLflow refuses the whole batch when a trace is not in the experiment: name it.
            experiment_id = await self.experiment_id()
            for trace_id in trace_ids:
                if await self._trace_experiment(trace_id) != experiment_id:
                    raise NotFound(
                        "trace", trace_id, "trace not found in the service's MLflow experiment"
                    ) from None
            raise
        return [_item_from_proto(i) for i in response.items]

    async def _trace_experiment(self, trace_id: str) -> str | None:
        def call() -> str | None:
            try:
                return str(self._client.get_trace_info(trace_id).experiment_id)
            except Exception as exc:
                if _is_not_found(exc):
                    return None
                raise Unavailable("MLflow tracking server is unreachable") from exc

        return await self._run(call)

    async def list_review_items(
        self, queue_id: str, status: ReviewItemStatus | None, page_size: int, page_token: str | None
    ) -> tuple[list[ReviewItemRecord], str]:
        """A queue's items, newest first, optionally of one status."""
        from mlflow.protos import review_queues_pb2 as rq

        request = rq.ListReviewQueueItems(queue_id=queue_id, max_results=page_size)
        if status is not None:
            request.status = _status_to_proto(status)
        if page_token:
            request.page_token = page_token
        what = ("review_session", queue_id)
        response = await self._run(
            lambda: self._review_call(
                rq.ListReviewQueueItems, request, "review-queues/items/list", what
            )
        )
        return [_item_from_proto(i) for i in response.items], response.next_page_token

    async def review_item(self, queue_id: str, trace_id: str) -> ReviewItemRecord | None:
        """One item of a queue with its current status, or None when the trace is not in
        the queue. (MLflow has no single-item read: membership comes from the queues that
        hold the item, then an add, which is a no-op returning the existing item.)"""
        token: str | None = None
        for _ in range(20):
            queues, token = await self.list_review_queues(None, 500, token, item_id=trace_id)
            if any(q.queue_id == queue_id for q in queues):
                items = await self.add_review_items(queue_id, [trace_id])
                return items[0] if items else None
            if not token:
                return None
        return None

    async def set_review_item_status(
        self, queue_id: str, trace_id: str, status: ReviewItemStatus, completed_by: str
    ) -> ReviewItemRecord:
        from mlflow.protos import review_queues_pb2 as rq

        request = rq.SetReviewQueueItemStatus(
            queue_id=queue_id, item_id=trace_id, status=_status_to_proto(status)
        )
        if status is not ReviewItemStatus.PENDING:
            request.completed_by = completed_by
        what = ("review_item", trace_id)
        response = await self._run(
            lambda: self._review_call(
                rq.SetReviewQueueItemStatus, request, "review-queues/items/set-status", what
            )
        )
        return _item_from_proto(response.item)

    async def trace_content(self, trace_id: str) -> TraceContent | None:
        """The trace's root inputs and outputs (what a reviewer reads), or None."""

        def call() -> TraceContent | None:
            try:
                trace = self._client.get_trace(trace_id)
            except Exception as exc:
                if _is_not_found(exc):
                    return None
                raise Unavailable("MLflow tracking server is unreachable") from exc
            info = trace.info
            root = next((s for s in trace.data.spans if s.parent_id is None), None)
            return TraceContent(
                trace_id=trace_id,
                inputs=root.inputs if root is not None else None,
                outputs=root.outputs if root is not None else None,
                request_preview=str(info.request_preview or ""),
                response_preview=str(info.response_preview or ""),
                timestamp_ms=int(info.request_time or 0),
                client_request_id=str(info.client_request_id or ""),
            )

        return await self._run(call)


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


# --- review: conversions of MLflow's label schema and review queue messages ----------------

# review_queues_pb2.ReviewStatus: PENDING = 1, COMPLETE = 2, DECLINED = 3.
_REVIEW_STATUS_NUMBERS = {
    ReviewItemStatus.PENDING: 1,
    ReviewItemStatus.COMPLETE: 2,
    ReviewItemStatus.DECLINED: 3,
}
_REVIEW_STATUS_FROM_PROTO = {v: k for k, v in _REVIEW_STATUS_NUMBERS.items()}


def _status_to_proto(status: ReviewItemStatus) -> Any:
    from mlflow.protos import review_queues_pb2 as rq

    return rq.ReviewStatus.Value(status.name)


def _schema_input_to_proto(spec: LabelInputSpec) -> Any:
    from mlflow.protos import label_schemas_pb2 as ls

    if spec.kind is InputKind.PASS_FAIL:
        return ls.LabelSchemaInput(
            pass_fail=ls.InputPassFail(
                positive_label=spec.positive_label, negative_label=spec.negative_label
            )
        )
    if spec.kind is InputKind.CATEGORICAL:
        return ls.LabelSchemaInput(
            categorical=ls.InputCategorical(
                options=list(spec.options), multi_select=spec.multi_select
            )
        )
    if spec.kind is InputKind.NUMERIC:
        return ls.LabelSchemaInput(
            numeric=ls.InputNumeric(min_value=spec.min_value, max_value=spec.max_value)
        )
    return ls.LabelSchemaInput(text=ls.InputText(max_length=spec.max_length))


def _schema_from_proto(p: Any) -> LabelSchemaSpec:
    which = p.input.WhichOneof("input")
    if which == "pass_fail":
        spec = LabelInputSpec(
            InputKind.PASS_FAIL,
            positive_label=p.input.pass_fail.positive_label,
            negative_label=p.input.pass_fail.negative_label,
        )
    elif which == "categorical":
        spec = LabelInputSpec(
            InputKind.CATEGORICAL,
            options=tuple(p.input.categorical.options),
            multi_select=bool(p.input.categorical.multi_select),
        )
    elif which == "numeric":
        n = p.input.numeric
        spec = LabelInputSpec(
            InputKind.NUMERIC,
            min_value=n.min_value if n.HasField("min_value") else None,
            max_value=n.max_value if n.HasField("max_value") else None,
        )
    else:
        t = p.input.text
        spec = LabelInputSpec(
            InputKind.TEXT, max_length=t.max_length if t.HasField("max_length") else None
        )
    return LabelSchemaSpec(
        name=p.name,
        kind=JudgmentKind.EXPECTATION if p.type == 2 else JudgmentKind.FEEDBACK,
        input=spec,
        instructions=p.instruction,
        enable_comment=bool(p.enable_comment),
        schema_id=p.schema_id,
        builtin=bool(p.is_default),
        create_time_ms=int(p.created_at),
        update_time_ms=int(p.last_updated_at),
    )


def _queue_from_proto(p: Any) -> ReviewQueueRecord:
    return ReviewQueueRecord(
        queue_id=p.queue_id,
        name=p.name,
        users=tuple(p.users),
        schema_ids=tuple(p.schema_ids),
        custom=p.queue_type != 1,  # review_queues_pb2.USER: MLflow's per-user queues
        create_time_ms=int(p.creation_time_ms),
        update_time_ms=int(p.last_update_time_ms),
    )


def _item_from_proto(p: Any) -> ReviewItemRecord:
    return ReviewItemRecord(
        trace_id=p.item_id,
        status=_REVIEW_STATUS_FROM_PROTO.get(p.status, ReviewItemStatus.PENDING),
        completed_by=p.completed_by,
    )
