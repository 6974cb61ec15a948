"""The ports of the feedback and chat domain: what it needs from the outside world.

The domain is typed against these Protocols only; `mlflow_gateway.MlflowGateway`
implements them all (tests use small fakes). Every method raises the domain's own
errors (`feedback_server.errors`): `Unavailable` when MLflow cannot answer.
The review domain declares its own port (domain/review).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from ..backends.base import ChatTurn
from .model import Invalidation, Judgment, StoredAssessment, TraceJudgments, WriteOutcome
from .summaries import SummaryCounter
from .trace_parent import TraceParent
from .traces import ExportOutcome, TraceRecord


class ExperimentResolver(Protocol):
    async def experiment_id(self) -> str:
        """The ID of the service's MLflow experiment (created if needed, then cached)."""
        ...


class TraceLookups(Protocol):
    async def trace_exists(self, trace_id: str) -> bool:
        """Whether MLflow has the trace."""
        ...

    async def find_trace_by_client_request_id(self, client_request_id: str) -> str | None:
        """The newest trace of the experiment with this client request ID, if any."""
        ...


class AssessmentReads(Protocol):
    async def list_assessments(self, trace_id: str) -> list[StoredAssessment] | None:
        """The trace's assessments, or None when MLflow has no such trace."""
        ...

    async def read_trace(self, trace_id: str) -> TraceJudgments | None:
        """The trace's assessments and judged-by tags, or None when MLflow has no such
        trace."""
        ...


class AssessmentWrites(Protocol):
    async def write_assessment(
        self, judgment: Judgment, trace_id: str, overrides: str | None = None
    ) -> WriteOutcome:
        """Stores one judgment as an assessment with its deterministic ID, superseding
        `overrides` (MLflow marks it invalid). Idempotent, and answers an outcome instead
        of raising for expected failures."""
        ...

    async def write_invalidation(self, invalidation: Invalidation, trace_id: str) -> WriteOutcome:
        """Stores the marker that makes `invalidation.target_id` invalid. Idempotent."""
        ...

    async def set_judged(self, trace_id: str, name: str, judged: bool) -> None:
        """Sets (or removes) the trace's tag `feedback.judged.<name>`. Idempotent."""
        ...


class TurnTrace(Protocol):
    """The trace of one chat turn, held in memory while the turn runs."""

    @property
    def trace_id(self) -> str: ...

    def active(self) -> AbstractContextManager[None]:
        """Makes the turn's span the current one for what runs inside, so that the
        backend's own instrumentation (MLflow's OpenAI autologging) traces under it."""
        ...

    def finish(self, *, response: str, error: str | None = None) -> TraceRecord:
        """Ends the turn's spans and returns the whole trace as a record (no network)."""
        ...


class ChatTracing(ExperimentResolver, Protocol):
    def start_chat_trace(
        self,
        *,
        rpc: str,
        turn: ChatTurn,
        backend: str,
        experiment_id: str,
        parent: TraceParent | None = None,
        taken: Callable[[str], bool] = lambda trace_id: False,
    ) -> TurnTrace:
        """Starts the in-memory trace of a turn (no network). With a `parent`, the trace
        continues the caller's: it has the caller's trace ID and its root span the caller's
        span as parent, unless that trace ID is in use here already (a turn under way, or
        `taken`: a trace this process recorded), in which case the turn gets a trace of
        its own, linked to the caller's span."""
        ...


class TraceExports(Protocol):
    async def export_trace(self, record: TraceRecord) -> ExportOutcome:
        """Stores a recorded trace in MLflow (again, harmlessly, if it is there already);
        answers an outcome instead of raising for expected failures."""
        ...


class JudgmentStore(TraceLookups, AssessmentWrites, Protocol):
    """What the drainer's writer needs: resolve a client request ID, read a trace or one of
    its assessments, write."""

    async def read_trace(self, trace_id: str) -> TraceJudgments | None: ...

    async def get_assessment(self, trace_id: str, assessment_id: str) -> StoredAssessment | None:
        """One assessment, or None when MLflow has no such trace or assessment."""
        ...


class FeedbackStore(TraceLookups, AssessmentReads, SummaryCounter, Protocol):
    """What the feedback service reads: trace lookups, assessments, summary counts."""
