"""Domain types shared by the servicers, the spool and the MLflow gateway."""

from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass, field
from typing import Any

# A JSON-compatible value (what MLflow stores as an assessment value).
JsonValue = Any


def now_ms() -> int:
    """Wall-clock time in milliseconds since the epoch (the unit of every stored time)."""
    return int(time.time() * 1000)


class JudgmentKind(enum.StrEnum):
    FEEDBACK = "feedback"
    EXPECTATION = "expectation"


class SourceType(enum.StrEnum):
    HUMAN = "HUMAN"
    LLM_JUDGE = "LLM_JUDGE"
    CODE = "CODE"


class IngestionState(enum.StrEnum):
    STORED = "stored"
    QUEUED = "queued"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class TraceTarget:
    """What a judgment is about: a trace ID or a client request ID (at least one; both
    once a client request ID is resolved), optionally narrowed to a span."""

    trace_id: str | None = None
    client_request_id: str | None = None
    span_id: str | None = None

    @property
    def order_key(self) -> str:
        """Judgments with the same key are written to MLflow in acknowledgment order."""
        return self.trace_id or f"crid:{self.client_request_id}"


@dataclass(frozen=True)
class Judgment:
    """One validated judgment, ready to become one MLflow assessment.

    `assessment_id` is derived deterministically from the caller's idempotency
    key, so a retry or a replay never creates a second assessment.
    """

    assessment_id: str
    request_id: str
    kind: JudgmentKind
    target: TraceTarget
    name: str
    value: JsonValue
    source_type: SourceType = SourceType.HUMAN
    source_id: str = "anonymous"
    rationale: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created_ms: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "assessment_id": self.assessment_id,
                "request_id": self.request_id,
                "kind": self.kind.value,
                "trace_id": self.target.trace_id,
                "client_request_id": self.target.client_request_id,
                "span_id": self.target.span_id,
                "name": self.name,
                "value": self.value,
                "source_type": self.source_type.value,
                "source_id": self.source_id,
                "rationale": self.rationale,
                "metadata": self.metadata,
                "created_ms": self.created_ms,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Judgment:
        d = json.loads(text)
        return cls(
            assessment_id=d["assessment_id"],
            request_id=d["request_id"],
            kind=JudgmentKind(d["kind"]),
            target=TraceTarget(d["trace_id"], d["client_request_id"], d["span_id"]),
            name=d["name"],
            value=d["value"],
            source_type=SourceType(d["source_type"]),
            source_id=d["source_id"],
            rationale=d["rationale"],
            metadata=d["metadata"],
            created_ms=d["created_ms"],
        )


class WriteResult(enum.Enum):
    """What happened when a judgment was sent to MLflow."""

    STORED = "stored"  # stored now, or already stored earlier (same assessment ID)
    TRACE_NOT_FOUND = "trace_not_found"  # MLflow answered: no such trace (yet)
    UNAVAILABLE = "unavailable"  # MLflow unreachable, timed out or answered 5xx
    REJECTED = "rejected"  # MLflow refused it for good (4xx other than not found)


@dataclass(frozen=True)
class WriteOutcome:
    result: WriteResult
    trace_id: str | None = None  # the resolved trace ID, when known
    detail: str = ""  # for logs and dead letters; never sent to callers


@dataclass(frozen=True)
class StoredAssessment:
    """An assessment as read back from MLflow (or from the spool, still queued)."""

    assessment_id: str
    name: str
    kind: JudgmentKind
    value: JsonValue
    source_type: SourceType
    source_id: str
    rationale: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    span_id: str | None = None
    create_time_ms: int = 0
    valid: bool = True
    error: str | None = None
    state: IngestionState = IngestionState.STORED


@dataclass(frozen=True)
class TraceAssessments:
    """One trace of a summary scan with its assessments."""

    trace_id: str
    timestamp_ms: int
    assessments: list[StoredAssessment]
