"""MLflow entities -> domain records."""

from __future__ import annotations

from typing import Any

from mlflow.entities import Feedback

from ..domain.model import JudgmentKind, SourceType, StoredAssessment


def source_type_of(value: Any) -> SourceType:
    try:
        return SourceType(str(value))
    except ValueError:
        return SourceType.HUMAN


def to_stored(a: Any) -> StoredAssessment:
    is_feedback = isinstance(a, Feedback)
    source = a.source
    error = getattr(a, "error", None)
    return StoredAssessment(
        assessment_id=str(a.assessment_id),
        name=str(a.name),
        kind=JudgmentKind.FEEDBACK if is_feedback else JudgmentKind.EXPECTATION,
        value=a.value,
        source_type=source_type_of(getattr(source, "source_type", "HUMAN")),
        source_id=str(getattr(source, "source_id", "") or ""),
        rationale=getattr(a, "rationale", None),
        metadata={str(k): str(v) for k, v in (a.metadata or {}).items()},
        span_id=a.span_id,
        create_time_ms=int(a.create_time_ms or 0),
        valid=getattr(a, "valid", True) is not False,
        error=getattr(error, "error_message", None) if error else None,
        overrides=getattr(a, "overrides", None) or None,
    )
