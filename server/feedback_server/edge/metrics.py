"""RPC metrics, recorded once per call by the edge (README "Operations")."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RPC_TOTAL = Counter(
    "feedback_rpc_total", "RPCs handled, by method and status code", ["method", "code"]
)
RPC_SECONDS = Histogram(
    "feedback_rpc_seconds",
    "RPC handling time in seconds, by method",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def record_rpc(method: str, code: str, seconds: float) -> None:
    """One finished call: its method, status code name (e.g. `OK`, `NOT_FOUND`), time."""
    RPC_TOTAL.labels(method, code).inc()
    RPC_SECONDS.labels(method).observe(seconds)
