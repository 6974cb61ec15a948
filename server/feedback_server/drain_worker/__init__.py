"""The drain worker: the drainer's and the trace exporter's MLflow calls in a child process.

Their CPU (HTTP, JSON, MLflow's client) then runs beside the serving process instead of
sharing its interpreter lock with the gRPC event loop. `client.DrainWorker` is the serving
process's side (the `AssessmentWriter` and `TraceExports` ports), `__main__` the worker,
`protocol` the lines between them. `FEEDBACK_DRAIN_PROCESS=false` keeps the calls in the
serving process.
"""

from .client import DrainWorker

__all__ = ["DrainWorker"]
