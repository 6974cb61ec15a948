"""Chat traces out of MLflow's exporter, and their export from a durable record.

MLflow's tracer ends a trace by handing its spans to the span exporter, which sends them
to the tracking server at once (MLflow's own async queue, off here, drops traces when it
is full or when MLflow is down). For the traces of chat turns, the exporter is bypassed:
`install_capture` (called by `setup.install`) patches `MlflowV3SpanExporter.export` so that
the spans of a trace registered with `CAPTURE` are not sent; when its root span ends, the
whole trace (MLflow's `Trace` entity as MLflow's exporter receives it: trace info with
state and request/response previews, every span) is handed to `CAPTURE.collect`. The domain
records it in the spool, and `export_recorded` sends it later with the calls MLflow's
exporter makes (the size statistics added to its metadata, then `log_spans`, `start_trace`,
and the trace data as an artifact where the server does not keep spans itself).

The record is `Trace.to_json()` (TraceJSONEncoder), read back with `Trace.from_json`: it
round-trips the trace info (IDs, client request ID, state, times, metadata, tags,
previews) and every span (IDs, parent, name, times, status, attributes with the inputs and
outputs, events) exactly (tests/unit/test_trace_records.py).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any

from mlflow.entities import Trace
from mlflow.exceptions import RestException
from mlflow.tracing.client import TracingClient
from mlflow.tracing.constant import SpansLocation, TraceTagKey
from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import add_size_stats_to_trace_metadata

log = logging.getLogger(__name__)


class TraceCapture:
    """Trace IDs whose traces MLflow's exporter hands over instead of sending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expected: set[str] = set()
        self._ended: dict[str, Trace] = {}

    def expect(self, trace_id: str) -> None:
        with self._lock:
            self._expected.add(trace_id)

    def collect(self, trace_id: str) -> Trace | None:
        """The ended trace (once its root span ended), forgetting it."""
        with self._lock:
            self._expected.discard(trace_id)
            return self._ended.pop(trace_id, None)

    def take(self, spans: Sequence[Any]) -> list[Any]:
        """Keeps the spans of expected traces (the whole trace at its root span); returns
        the others, for MLflow's exporter."""
        manager = InMemoryTraceManager.get_instance()
        others = []
        for span in spans:
            otel_id = span.context.trace_id
            trace_id = manager.get_mlflow_trace_id_from_otel_id(otel_id)
            with self._lock:
                expected = trace_id in self._expected
            if not expected:
                others.append(span)
                continue
            if span.parent is not None:
                continue  # part of the trace, popped with its root
            ended = manager.pop_trace(otel_id)
            if ended is not None:
                with self._lock:
                    self._ended[ended.trace.info.trace_id] = ended.trace
        return others


CAPTURE = TraceCapture()


@functools.cache
def install_capture() -> None:
    """Every MLflow span exporter of the process leaves the captured traces alone."""
    original = MlflowV3SpanExporter.export

    def export(self: MlflowV3SpanExporter, spans: Sequence[Any]) -> None:
        others = CAPTURE.take(spans)
        if others:
            original(self, others)

    MlflowV3SpanExporter.export = export  # type: ignore[method-assign]


def export_recorded(client: TracingClient, payload: str) -> None:
    """Stores a recorded trace in MLflow as MLflow's exporter would; raises MLflow's errors.
    Storing a trace twice is harmless: the tracking server merges the second copy."""
    trace = Trace.from_json(payload)
    add_size_stats_to_trace_metadata(trace)  # as MLflow's exporter does, right before sending
    spans_logged = True
    try:
        client.log_spans(trace.info.experiment_id or "", trace.data.spans)
    except NotImplementedError as exc:
        if "could not identify" in str(exc):
            # MLflow's client caches a failed version probe for the life of the process.
            _forget_server_version(client)
            raise ConnectionError("MLflow's version could not be read") from exc
        spans_logged = False  # an old server: the spans go as an artifact
    except RestException as exc:
        if "span logging is not supported" not in exc.message:
            raise
        spans_logged = False  # a store that keeps spans as artifacts
    info = client.start_trace(trace.info)
    if not spans_logged or info.tags.get(TraceTagKey.SPANS_LOCATION) != (
        SpansLocation.TRACKING_STORE.value
    ):
        client._upload_trace_data(info, trace.data)


def _forget_server_version(client: TracingClient) -> None:
    probe = getattr(type(client.store), "_get_server_version", None)
    clear = getattr(probe, "cache_clear", None)
    if callable(clear):
        clear()
