"""What review needs from the outside, as Protocols: the domain depends on these only.

`ReviewStore` is exactly the set of MLflow calls review makes; the MLflow adapter
implements it. The other ports are the service's own parts that review uses: the
feedback path (`FeedbackService`), the chat turns that EvaluateSession runs again
(`ChatService`) and the registry of this process's trace exports (`TraceRegistry`).
"""

from __future__ import annotations

from typing import Protocol

from ...backends.base import ChatTurn
from ..feedback import Accepted
from ..model import JsonValue, Judgment, StoredAssessment, TraceTarget
from .records import (
    ItemStatus,
    LabelSchemaSpec,
    ReviewItemRecord,
    ReviewQueueRecord,
    TraceContent,
)


class ReviewStore(Protocol):
    """MLflow's label schemas, review queues and traces. Every call raises `Unavailable`
    when MLflow cannot answer; lists answer one page and the next page token ("" at the
    end)."""

    async def get_label_schema(self, name: str) -> LabelSchemaSpec | None: ...

    async def create_label_schema(self, spec: LabelSchemaSpec) -> LabelSchemaSpec:
        """Raises `AlreadyExists` when the experiment has a schema of that name."""
        ...

    async def list_label_schemas(
        self, page_size: int, page_token: str | None
    ) -> tuple[list[LabelSchemaSpec], str]: ...

    async def delete_label_schema(self, schema_id: str) -> None: ...

    async def get_review_queue(self, name: str) -> ReviewQueueRecord | None: ...

    async def create_review_queue(
        self, name: str, users: list[str], schema_ids: list[str]
    ) -> ReviewQueueRecord:
        """Raises `AlreadyExists` when the experiment has a queue of that name."""
        ...

    async def list_review_queues(
        self, user: str | None, page_size: int, page_token: str | None
    ) -> tuple[list[ReviewQueueRecord], str]:
        """All queues, newest first, or those `user` reviews."""
        ...

    async def add_review_items(self, queue_id: str, trace_ids: list[str]) -> list[ReviewItemRecord]:
        """Idempotent: items already in the queue keep their status. Raises `NotFound`
        naming a trace that is not in the experiment."""
        ...

    async def list_review_items(
        self, queue_id: str, status: ItemStatus | None, page_size: int, page_token: str | None
    ) -> tuple[list[ReviewItemRecord], str]:
        """A queue's items, newest first, optionally of one status."""
        ...

    async def review_item(self, queue_id: str, trace_id: str) -> ReviewItemRecord | None:
        """One item with its current status; None when the trace is not in the queue."""
        ...

    async def set_review_item_status(
        self, queue_id: str, trace_id: str, status: ItemStatus, completed_by: str
    ) -> ReviewItemRecord: ...

    async def trace_content(self, trace_id: str) -> TraceContent | None:
        """The trace's root inputs and outputs; None when MLflow has no such trace."""
        ...

    async def find_traces(
        self, start_ms: int, end_ms: int, feedback: tuple[str, JsonValue] | None, limit: int
    ) -> list[str]:
        """The IDs of the traces created in [start_ms, end_ms), newest first, at most
        `limit`; with `feedback` (name, value), only those with a valid feedback of that
        name and value (MLflow's search selects them)."""
        ...


class FeedbackWriter(Protocol):
    """The service's feedback path: resolving trace references, reading a trace's
    assessments and logging judgments durably (spool, then MLflow)."""

    async def resolve(self, target: TraceTarget, *, for_write: bool) -> str | None: ...

    async def list_feedback(self, target: TraceTarget) -> tuple[str, list[StoredAssessment]]: ...

    async def log_judgments(self, judgments: list[Judgment]) -> Accepted: ...


class ChatAnswer(Protocol):
    @property
    def trace_id(self) -> str: ...

    @property
    def response(self) -> str: ...


class RunningTurn(Protocol):
    @property
    def trace_id(self) -> str: ...

    async def run(self) -> ChatAnswer: ...


class ChatRunner(Protocol):
    """Admits and traces a chat turn (EvaluateSession answers requests again)."""

    async def begin(
        self, turn: ChatTurn, *, rpc: str, admission_timeout_s: float
    ) -> RunningTurn: ...


class ExportWaiter(Protocol):
    """This process's trace exports: a trace it produced is in MLflow once exported."""

    async def wait_exported(self, trace_id: str) -> bool: ...
