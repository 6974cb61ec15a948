"""MLflow's process-wide set-up: its environment and two patches, installed by `install`.

`app.build` calls `install` once per server, before the gateway makes its first MLflow
call; importing this package changes nothing. What `install` does:

- Environment (OpenTelemetry's OTLP endpoint variables are removed, as they would divert
  MLflow's traces from the tracking server; an operator's own setting wins, except the
  request timeout, which is `FEEDBACK_MLFLOW_TIMEOUT_S`): MLflow's HTTP client does not
  retry (it would retry a 5xx for minutes; the gateway classifies failures itself,
  `calls.py`), MLflow's exporter runs
  synchronously in the thread that ends a trace (always: the chat traces are captured
  there, `export.py`; MLflow's own async queue would drop traces when full), the HTTP
  connection pool holds a connection per thread that calls MLflow, and MLflow's trace
  buffer holds every trace the service may keep in memory (the open turns).
- MLflow's exporter hands the chat traces over instead of sending them (`export.py`).
- MLflow's Databricks request-header provider is asked once whether it applies.
- MLflow's OpenAI autologging: every call of the OpenAI-compatible backend in a chat turn
  is an LLM span (model, messages, token usage) under the turn's span
  (`ChatTrace.active`). A call outside a turn (the LLM judge of an evaluation) is not
  traced: it would start a trace of its own, which MLflow's exporter would send from the
  event loop's thread.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from mlflow.tracing.trace_manager import InMemoryTraceManager

from .export import install_capture

log = logging.getLogger(__name__)


def install(*, timeout_s: float, mlflow_threads: int, traces_in_memory: int) -> None:
    """Sets MLflow up for this process (see the module docstring). `mlflow_threads`: the
    threads that call MLflow (the gateway's I/O and export pools); `traces_in_memory`:
    the turns that may be open at once."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    os.environ["MLFLOW_USE_BATCH_SPAN_PROCESSOR"] = "false"
    os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = str(int(max(1, timeout_s)))
    # MLflow serves every call of the process from one cached HTTP session: its pool
    # must keep a connection per thread that calls MLflow, else urllib3 opens and drops
    # a connection per extra call (and logs "Connection pool is full" each time).
    os.environ.setdefault("MLFLOW_HTTP_POOL_MAXSIZE", str(mlflow_threads))
    _keep_traces_in_mlflow()
    _size_trace_buffer(traces_in_memory)
    install_capture()
    _probe_databricks_headers_once()
    _autolog_openai_once()


@functools.cache
def _autolog_openai_once() -> None:
    import mlflow
    import mlflow.openai
    from openai.resources.chat.completions import AsyncCompletions

    mlflow.openai.autolog(silent=True)
    traced = AsyncCompletions.create

    async def create(self: AsyncCompletions, *args: Any, **kwargs: Any) -> Any:
        if mlflow.get_current_active_span() is not None:  # in a turn (ChatTrace.active)
            return await traced(self, *args, **kwargs)
        with mlflow.tracing.context(enabled=False):
            return await traced(self, *args, **kwargs)

    AsyncCompletions.create = create  # type: ignore[method-assign]


_OTLP_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def _keep_traces_in_mlflow() -> None:
    """MLflow sends its traces to an OTLP collector instead of the tracking server when
    OpenTelemetry's OTLP endpoint variables are set: the chat traces would never be
    recorded. They are removed; the server's own spans go where FEEDBACK_OTLP_ENDPOINT
    says."""
    for name in _OTLP_VARIABLES:
        if os.environ.pop(name, None) is not None:
            log.warning("%s is ignored: set FEEDBACK_OTLP_ENDPOINT for the server's spans", name)


@functools.cache
def _probe_databricks_headers_once() -> None:
    """Before every HTTP request MLflow asks whether it runs in a Databricks notebook, job
    or cluster, through imports that fail and are not cached (a sys.path scan each time):
    about a quarter of the CPU of writing one assessment (docs/performance.md). The answer
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


def _size_trace_buffer(traces: int) -> None:
    """MLflow keeps the traces of unfinished turns in a buffer that silently drops the
    oldest beyond `MLFLOW_TRACE_BUFFER_MAX_SIZE` (default 1000). It is sized for the
    service's bound on open turns before the buffer is created, unless the operator set it."""
    os.environ.setdefault("MLFLOW_TRACE_BUFFER_MAX_SIZE", str(max(1000, traces)))
    manager = InMemoryTraceManager._instance
    size = getattr(getattr(manager, "_traces", None), "maxsize", None)
    if isinstance(size, int) and size < traces:
        log.warning(
            "MLflow's trace buffer holds %d traces, fewer than the %d this server may hold "
            "(FEEDBACK_MAX_OPEN_TURNS)",
            size,
            traces,
        )
