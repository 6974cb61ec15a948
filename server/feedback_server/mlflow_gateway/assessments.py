"""Assessment writes: judgments, the markers that invalidate judgments, judged-by tags."""

from __future__ import annotations

from mlflow.entities import AssessmentError, AssessmentSource, Expectation, Feedback

from ..domain.model import (
    Invalidation,
    Judgment,
    JudgmentKind,
    WriteOutcome,
    WriteResult,
)
from ..domain.supersession import JUDGED_TAG_PREFIX, MARKER_KEY, SUPERSEDED_BY_KEY, marker_name
from .calls import describe, is_not_found, is_transient
from .core import GatewayCore


class WriteMethods(GatewayCore):
    async def write_assessment(
        self, judgment: Judgment, trace_id: str, overrides: str | None = None
    ) -> WriteOutcome:
        """Stores one judgment as an assessment with its deterministic ID; `overrides`
        names the assessment it supersedes (MLflow marks that one invalid). Idempotent:
        an assessment that is already there counts as stored."""
        return await self._run(lambda: self._create(trace_id, _entity(judgment, overrides)))

    async def write_invalidation(self, invalidation: Invalidation, trace_id: str) -> WriteOutcome:
        """Stores the marker `<name>:<reason>` (no value, an error saying why) that
        overrides `invalidation.target_id`. Idempotent like `write_assessment`."""
        return await self._run(lambda: self._create(trace_id, _marker(invalidation)))

    async def set_judged(self, trace_id: str, name: str, judged: bool) -> None:
        """Sets the tag `feedback.judged.<name> = true`, or removes it (a missing tag
        counts as removed). Raises `Unavailable` when MLflow cannot answer."""
        key = JUDGED_TAG_PREFIX + name

        def call() -> None:
            try:
                if judged:
                    self._client.set_trace_tag(trace_id, key, "true")
                else:
                    self._client.delete_trace_tag(trace_id, key)
            except Exception as exc:
                if judged or not is_not_found(exc):
                    raise

        await self._call(call, ("trace", trace_id))

    def _create(self, trace_id: str, assessment: Feedback | Expectation) -> WriteOutcome:
        try:
            if self._poster is not None:
                self._poster.create(trace_id, assessment)
            else:
                self._client.log_assessment(trace_id, assessment)
            return WriteOutcome(WriteResult.STORED, trace_id)
        except Exception as exc:
            if is_not_found(exc):
                # The trace, or the assessment it overrides (then the next attempt reads
                # the trace again).
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, trace_id, "trace not found")
            # A duplicate insert answers a generic error: look before reporting failure.
            try:
                self._client.get_assessment(trace_id, str(assessment.assessment_id))
                return WriteOutcome(WriteResult.STORED, trace_id, "already stored")
            except Exception as read_exc:
                # Refused for good (400, 401, 403...) and not there, or the read refused too.
                if not is_transient(exc) and not is_transient(read_exc):
                    return WriteOutcome(WriteResult.REJECTED, trace_id, describe(exc))
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id, describe(exc))


def _entity(judgment: Judgment, overrides: str | None) -> Feedback | Expectation:
    source = AssessmentSource(source_type=judgment.source_type.value, source_id=judgment.source_id)
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
    if overrides:
        assessment.overrides = overrides
    return assessment


def _marker(inv: Invalidation) -> Feedback:
    metadata = {MARKER_KEY: inv.reason}
    if inv.by:
        metadata[SUPERSEDED_BY_KEY] = inv.by
    marker = Feedback(
        name=marker_name(inv.name, inv.reason),
        error=AssessmentError(
            error_code=inv.reason.upper(), error_message=f"{inv.target_id} was {inv.reason}"
        ),
        source=AssessmentSource(source_type=inv.source_type.value, source_id=inv.source_id),
        metadata=metadata,
        span_id=inv.span_id,
    )
    marker.assessment_id = inv.assessment_id
    marker.overrides = inv.target_id
    return marker
