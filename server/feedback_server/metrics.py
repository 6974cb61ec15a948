"""Prometheus metrics of the durable spool and its drainer.

One `SpoolMetrics` object holds every metric. The process uses the module-level
default (`default_metrics()`, registered in prometheus-client's global registry
and served by `start_metrics_server`); tests build their own on a private
`CollectorRegistry` so that several spools in one process never collide.

Metric names (counters get the `_total` suffix on exposition):

- `feedback_spool_depth`: judgments acknowledged but not yet stored in MLflow.
- `feedback_spool_dead_letters`: judgments parked in the dead-letter table.
- `feedback_judgments_enqueued_total`: judgments durably acknowledged (duplicates excluded).
- `feedback_judgments_stored_total`: judgments the drainer stored in MLflow.
- `feedback_judgments_dead_lettered_total{reason}`: `trace_not_found` (TTL elapsed),
  `rejected` (MLflow refused the judgment for good: 401, 403, other 4xx) or `unreadable`
  (the spool row could not be decoded).
- `feedback_drain_attempts_total{result}`: one per MLflow write attempt, by `WriteResult`
  value (`stored`, `trace_not_found`, `unavailable`, `rejected`).
- `feedback_drain_retries_total`: attempts that were rescheduled with a backoff.
- `feedback_drain_latency_seconds`: from acknowledgment to stored in MLflow.
- `feedback_spool_ack_latency_seconds`: time to durably acknowledge one enqueue call.
- `feedback_spool_commits_total` and `feedback_spool_commit_batch_size`: group commit
  transactions and how many operations each carried.
- `feedback_spool_writable`: 1 while the spool can write, 0 while it cannot (disk or budget
  full, read-only or failing file system, writer thread restarting); health says
  NOT_SERVING meanwhile.
- `feedback_spool_evicted_total`: stored entries removed before their retention to make room.
- `feedback_traces_pending`: finished chat turns' traces recorded and not yet in MLflow.
- `feedback_trace_dead_letters`: traces MLflow refused for good (replay with the admin CLI).
- `feedback_traces_exported_total`: traces exported to MLflow from the spool.
- `feedback_trace_export_attempts_total{result}`: `exported`, `unavailable`, `rejected`.
- `feedback_trace_export_latency_seconds`: from recording a trace to MLflow having it.

Beside them, `feedback_build_info{version, python, grpc, mlflow_tracing} 1` says what runs
(the versions of this server, Python, grpcio and mlflow-tracing). The RPC metrics are the
edge's (`edge/metrics.py`).
"""

from __future__ import annotations

import logging
import platform
import threading
from importlib import metadata
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client import start_http_server as _start_http_server

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)
_ACK_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: The `reason` label values of `feedback_judgments_dead_lettered_total`.
DEAD_LETTER_REASONS = ("trace_not_found", "rejected", "unreadable")


class SpoolMetrics:
    """The metrics of one spool and its drainer, registered in `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = REGISTRY if registry is None else registry
        self.registry = reg
        self.spool_depth = Gauge(
            "feedback_spool_depth",
            "Judgments acknowledged and waiting to be stored in MLflow.",
            registry=reg,
        )
        self.dead_letters = Gauge(
            "feedback_spool_dead_letters",
            "Judgments parked in the dead-letter table (replay with the admin CLI).",
            registry=reg,
        )
        self.enqueued = Counter(
            "feedback_judgments_enqueued",
            "Judgments durably acknowledged (idempotent duplicates excluded).",
            registry=reg,
        )
        self.stored = Counter(
            "feedback_judgments_stored",
            "Judgments stored in MLflow by the drainer.",
            registry=reg,
        )
        self.dead_lettered = Counter(
            "feedback_judgments_dead_lettered",
            "Judgments moved to the dead-letter table, by reason.",
            ["reason"],
            registry=reg,
        )
        self.drain_attempts = Counter(
            "feedback_drain_attempts",
            "MLflow write attempts made by the drainer, by result.",
            ["result"],
            registry=reg,
        )
        self.retries = Counter(
            "feedback_drain_retries",
            "Write attempts rescheduled with a backoff (trace not found yet, MLflow down).",
            registry=reg,
        )
        self.drain_latency = Histogram(
            "feedback_drain_latency_seconds",
            "Time from acknowledgment to stored in MLflow.",
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.ack_latency = Histogram(
            "feedback_spool_ack_latency_seconds",
            "Time to durably record one enqueue call (group commit included).",
            buckets=_ACK_BUCKETS,
            registry=reg,
        )
        self.commits = Counter(
            "feedback_spool_commits",
            "Spool transactions committed (each one fsync).",
            registry=reg,
        )
        self.commit_batch_size = Histogram(
            "feedback_spool_commit_batch_size",
            "Operations carried by one spool transaction (group commit).",
            buckets=_BATCH_BUCKETS,
            registry=reg,
        )
        self.writable = Gauge(
            "feedback_spool_writable",
            "1 while the spool can record judgments and traces, 0 while it cannot.",
            registry=reg,
        )
        self.writable.set(1)
        self.evicted = Counter(
            "feedback_spool_evicted",
            "Stored entries removed before their retention to make room in the spool.",
            registry=reg,
        )
        self.traces_pending = Gauge(
            "feedback_traces_pending",
            "Finished chat turns' traces recorded in the spool and not yet in MLflow.",
            registry=reg,
        )
        self.trace_dead_letters = Gauge(
            "feedback_trace_dead_letters",
            "Chat traces MLflow refused for good (replay with the admin CLI).",
            registry=reg,
        )
        self.traces_exported = Counter(
            "feedback_traces_exported",
            "Chat traces exported to MLflow from the spool.",
            registry=reg,
        )
        self.trace_export_attempts = Counter(
            "feedback_trace_export_attempts",
            "Chat trace export attempts, by result.",
            ["result"],
            registry=reg,
        )
        self.trace_export_latency = Histogram(
            "feedback_trace_export_latency_seconds",
            "Time from recording a chat trace to MLflow having it.",
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        # Pre-create the label values so dashboards see zeros, not gaps.
        for result in ("stored", "trace_not_found", "unavailable", "rejected"):
            self.drain_attempts.labels(result=result)
        for reason in DEAD_LETTER_REASONS:
            self.dead_lettered.labels(reason=reason)
        for result in ("exported", "unavailable", "rejected"):
            self.trace_export_attempts.labels(result=result)


_default: SpoolMetrics | None = None
_default_lock = threading.Lock()


def default_metrics() -> SpoolMetrics:
    """The process-wide metrics, registered once in prometheus-client's global registry."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SpoolMetrics(REGISTRY)
        return _default


def build_versions() -> dict[str, str]:
    """The versions of this server and of what it runs on (empty when not installed)."""

    def version(distribution: str) -> str:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return ""

    return {
        "version": version("feedback-server"),
        "python": platform.python_version(),
        "grpc": version("grpcio"),
        "mlflow_tracing": version("mlflow-tracing"),
    }


BUILD_INFO = Info(
    "feedback_build", "The versions of this server, Python, grpcio and mlflow-tracing."
)
BUILD_INFO.info(build_versions())


def start_metrics_server(
    port: int, host: str = "127.0.0.1", registry: CollectorRegistry | None = None
) -> Any | None:
    """Serves `/metrics` on `host:port` in a daemon thread; `port == 0` disables it.

    Returns prometheus-client's handle (the HTTP server and its thread) or None
    when disabled. Binds to loopback by default: expose it on purpose.
    """
    if port == 0:
        return None
    # No `*_created` series beside every counter and histogram (an OpenMetrics extra that
    # Prometheus' text format turns into one more series each).
    disable_created_metrics()  # type: ignore[no-untyped-call]
    handle = _start_http_server(
        port, addr=host, registry=REGISTRY if registry is None else registry
    )
    log.info("metrics served on http://%s:%d/metrics", host, port)
    return handle
