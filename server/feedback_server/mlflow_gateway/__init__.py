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

from .assessments import AssessmentWrites
from .review import ReviewApi
from .searches import TraceSearches
from .traces import ChatTrace, ChatTraces

__all__ = ["ChatTrace", "MlflowGateway"]


class MlflowGateway(ChatTraces, TraceSearches, AssessmentWrites, ReviewApi):
    """Everything the service does on MLflow (one facade over the modules of this package)."""
