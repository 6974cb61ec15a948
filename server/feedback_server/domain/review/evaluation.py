"""EvaluateSession: records of an evaluation run, and its pure helpers."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..model import JsonValue, JudgmentKind, StoredAssessment

_EVAL_CONCURRENCY = 4


class ScorerKind(enum.StrEnum):
    TOKEN_F1 = "token_f1"
    LLM_JUDGE = "llm_judge"


class EvalStatus(enum.StrEnum):
    SCORED = "scored"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class EvalItem:
    source_trace_id: str
    status: EvalStatus
    trace_id: str = ""
    request: str = ""
    response: str = ""
    expected: str = ""
    score: float = 0.0
    passed: bool = False
    rationale: str = ""
    assessment_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class EvalProgress:
    done: int
    total: int
    item: EvalItem


@dataclass(frozen=True)
class EvalResult:
    items: list[EvalItem]
    scored: int
    passed: int
    skipped: int
    failed: int
    pass_rate: float
    scorer: ScorerKind
    threshold: float
    feedback_name: str


def _with(item: EvalItem, **changes: Any) -> EvalItem:
    return replace(item, **changes)


def _latest_expectation(assessments: Iterable[StoredAssessment], name: str) -> JsonValue | None:
    found = [
        a
        for a in assessments
        if a.kind is JudgmentKind.EXPECTATION and a.name == name and a.valid and a.value is not None
    ]
    if not found:
        return None
    return max(found, key=lambda a: a.create_time_ms).value
