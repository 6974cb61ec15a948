"""The only package that imports mlflow: it implements the domain's ports on MLflow.

`MlflowGateway` is everything the service does on MLflow: chat-turn traces, assessment
writes, reads and searches, summaries counted by the tracking server, the review API. Its
public methods are async and run MLflow's blocking client in bounded thread pools, so the
gRPC event loop never waits on MLflow. `install` sets MLflow up for the process;
`app.build` calls it first.

Modules: `setup` (environment, patches), `core` (client, pools, experiment), `calls`
(MLflow failures -> domain errors), `traces` and `export` (chat traces and their
export), `assessments` and `poster` (writes), `searches` (reads), `summaries`
(QueryTraceMetrics), `review` (label
schemas, review queues), `convert` (MLflow entities -> domain records).

Measured MLflow behaviour this package accounts for (docs/architecture.md, "The MLflow
gateway"):
- Chat traces are taken from MLflow's exporter when their turn ends, recorded in
  the spool by the domain, and exported from that record here, in a bounded
  export pool (MLflow's own async queue drops traces when full or when MLflow is
  down); the domain retries them until MLflow has them.
- MLflow's HTTP client retries 5xx answers for minutes; it is set to fail fast
  and this package classifies errors itself.
- A client-chosen assessment ID is kept by MLflow and a duplicate insert
  answers a generic 500: a write that fails is checked with a read before it
  is reported as failed, so replays are exactly-once.
- IDs are validated before they reach a REST path or a filter string.
"""

from __future__ import annotations

from .assessments import WriteMethods
from .review import ReviewApi
from .searches import SearchMethods
from .setup import install
from .summaries import SummaryMethods
from .traces import ChatTrace, ChatTraceMethods

__all__ = ["ChatTrace", "MlflowGateway", "install"]


class MlflowGateway(ChatTraceMethods, SearchMethods, SummaryMethods, WriteMethods, ReviewApi):
    """Everything the service does on MLflow (one facade over the modules of this package)."""
