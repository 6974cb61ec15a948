"""Assessment writes."""

from __future__ import annotations

from mlflow.entities import AssessmentSource, Expectation, Feedback

from ..domain.model import Judgment, JudgmentKind, WriteOutcome, WriteResult
from .calls import describe, is_not_found, is_transient
from .core import GatewayCore


class WriteMethods(GatewayCore):
    async def write_assessment(self, judgment: Judgment, trace_id: str) -> WriteOutcome:
        """Stores one judgment as an assessment with its deterministic ID. Idempotent:
        an assessment that is already there counts as stored."""
        return await self._run(lambda: self._write_sync(judgment, trace_id))

    def _write_sync(self, judgment: Judgment, trace_id: str) -> WriteOutcome:
        source = AssessmentSource(
            source_type=judgment.source_type.value, source_id=judgment.source_id
        )
        assessment: Feedback | Expectation
        if judgment.kind is JudgmentKind.FEEDBACK:
            assessment = Feedback(
                name=judgment.name,
                value=judgment.value,
                source=source,
                rationale=judgment.rationale,
                metadata=judgment.metadata or None,
                span_id=judgment.target.span_id,
            )
        else:
            assessment = Expectation(
                name=judgment.name,
                value=judgment.value,
                source=source,
                metadata=judgment.metadata or None,
                span_id=judgment.target.span_id,
            )
        assessment.assessment_id = judgment.assessment_id
        # The time it was given (acknowledged), not the time it reached MLflow: ListFeedback
        # lists it at the same place whether queued or stored (servicers/feedback_pages.py).
        assessment.create_time_ms = judgment.created_ms or assessment.create_time_ms
        try:
            if self._poster is not None:
                self._poster.create(trace_id, assessment)
            else:
                self._client.log_assessment(trace_id, assessment)
            return WriteOutcome(WriteResult.STORED, trace_id)
        except Exception as exc:
            if is_not_found(exc):
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, trace_id, "trace not found")
            # A duplicate insert answers a generic error: look before reporting failure.
            try:
                self._client.get_assessment(trace_id, judgment.assessment_id)
                return WriteOutcome(WriteResult.STORED, trace_id, "already stored")
            except Exception as read_exc:
                if is_not_found(read_exc) and not is_transient(exc):
                    return WriteOutcome(WriteResult.REJECTED, trace_id, describe(exc))
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id, describe(exc))
