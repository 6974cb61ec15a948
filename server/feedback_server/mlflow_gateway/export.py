"""The retrying client of MLflow's trace exporter (installed by `setup.install`)."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from mlflow.tracing.client import TracingClient
from prometheus_client import Counter

from .calls import is_transient

log = logging.getLogger(__name__)

TRACE_EXPORT_RETRIES = Counter(
    "feedback_trace_export_retries_total", "Trace export calls retried after a transient failure"
)
TRACE_EXPORT_FAILURES = Counter(
    "feedback_trace_export_failures_total", "Trace export calls that failed for good"
)


class RetryWindow:
    """How long a failing trace export is retried, and the switch that ends the retries at
    shutdown. MLflow builds its exporters itself (and may keep one for the life of the
    process), so every exporter reads the one window of the process, `RETRY_WINDOW`."""

    def __init__(self) -> None:
        self.seconds = 300.0
        self.closed = threading.Event()

    def open(self, seconds: float) -> None:
        self.seconds = seconds
        self.closed.clear()

    def close(self) -> None:
        """Exports still retrying give up (graceful shutdown abandoning its exports)."""
        self.closed.set()


RETRY_WINDOW = RetryWindow()


class RetryingExportClient:
    """Wraps the exporter's TracingClient: transient failures of the calls that
    store a trace are retried with exponential backoff and jitter for up to
    `window.seconds`, instead of the trace being dropped with a warning."""

    _RETRIED = ("start_trace", "log_spans", "_upload_trace_data")

    def __init__(self, inner: TracingClient, window: RetryWindow) -> None:
        self._inner = inner
        self._window = window

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._RETRIED:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self._window.seconds
            delay = 0.2
            while True:
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:
                    if not is_transient(exc) or time.monotonic() + delay > deadline:
                        TRACE_EXPORT_FAILURES.inc()
                        raise
                    TRACE_EXPORT_RETRIES.inc()
                    log.warning("trace export %s failed (%s); retrying", name, type(exc).__name__)
                    if self._window.closed.wait(delay * (0.5 + random.random())):
                        raise
                    delay = min(delay * 2, 10.0)

        return call
