"""MLflow's process-wide set-up: environment defaults and the patches of MLflow's
exporter, request headers and trace buffer."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

# MLflow reads these when it makes a request; they must be set before the first one.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")

from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.trace_manager import InMemoryTraceManager

from .export import _RetryingExportClient

log = logging.getLogger(__name__)

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
