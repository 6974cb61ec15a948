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


class JudgmentAction(enum.StrEnum):
    """What a spooled judgment does once drained: store an assessment, or take the
    source's current one back (`RetractFeedback`)."""

    WRITE = "write"
    RETRACT = "retract"


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
    key, so a retry or a replay never creates a second assessment. `fingerprint` is a
    digest of the request that made it (a reused key with another request is refused).
    `merge`: the source is known, so the judgment supersedes that source's current one of
    the same (trace, span, name) when it is stored. `replaces`: the judgment it supersedes
    (or, for a retraction, takes back) as known when it was acknowledged. A `RETRACT`
    entry's `assessment_id` is the ID of its retraction marker in MLflow.
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
    action: JudgmentAction = JudgmentAction.WRITE
    merge: bool = False
    fingerprint: str = ""
    replaces: str = ""

    @property
    def retracts(self) -> bool:
        return self.action is JudgmentAction.RETRACT

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
                "action": self.action.value,
                "merge": self.merge,
                "fingerprint": self.fingerprint,
                "replaces": self.replaces,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Judgment:
        """Rows written before `action`, `merge`, `fingerprint` and `replaces` existed read
        as plain writes that merge with nothing."""
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
            action=JudgmentAction(d.get("action", JudgmentAction.WRITE.value)),
            merge=bool(d.get("merge", False)),
            fingerprint=str(d.get("fingerprint", "")),
            replaces=str(d.get("replaces", "")),
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
    overrides: str | None = None  # MLflow's `overrides`: the assessment this one superseded
    superseded_by: str = ""  # the assessment that superseded this one (ListFeedback)
    retracted: bool = False  # its source took it back (RetractFeedback)


@dataclass(frozen=True)
class TraceJudgments:
    """What MLflow holds for one trace: its assessments, and the names of the feedback it
    is tagged as judged by (the tags summaries count traces by)."""

    trace_id: str
    assessments: list[StoredAssessment]
    judged_names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Invalidation:
    """An assessment made invalid through MLflow's override: a marker assessment (named
    `<name>:<reason>`, no value) whose `overrides` is `target_id`. `reason` is
    `retracted` (RetractFeedback) or `superseded` (a duplicate current judgment of a
    source, superseded by `by`)."""

    assessment_id: str  # the marker's
    target_id: str
    name: str  # the invalidated judgment's name
    reason: str
    source_type: SourceType
    source_id: str
    span_id: str | None = None
    by: str = ""
