"""One current judgment per (trace, span, name, source).

A judgment from a known source supersedes that source's current judgment of the same
(trace, span, name) through MLflow's override: the new assessment's `overrides` names the
old one, which MLflow keeps and marks `valid=false`. Anonymous judgments (no source ID, or
the default IDs `anonymous` / `feedback-service`) are never merged. `RetractFeedback` takes
the current judgment back with a marker: an assessment named `<name>:retracted` without a
value, whose `overrides` is the judgment (MLflow offers no other way to set `valid=false`:
its UpdateAssessment ignores `valid`). When a source has several current judgments (made
before this rule, or by two replicas at the same instant), the newest is superseded by the
new one and the others get `<name>:superseded` markers, so one stays current. MLflow 3.17
drops `overrides` (and `valid`) from an expectation it receives or returns, so a new
expectation supersedes with `<name>:superseded` markers (feedback, whose override MLflow
keeps), and an assessment counts as invalid here when another one overrides it.

Markers carry `feedback.marker` in their metadata; `link` hides them from ListFeedback and
shows their effect instead (`retracted`, `superseded_by`). Everything here is pure: the
drainer's writer (writer.py) and the feedback service apply it to what MLflow and the
spool hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .model import (
    IngestionState,
    Invalidation,
    Judgment,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceJudgments,
)

RETRACTED = "retracted"
SUPERSEDED = "superseded"
MARKER_KEY = "feedback.marker"
SUPERSEDED_BY_KEY = "feedback.superseded_by"
#: The trace tag `feedback.judged.<name> = true` marks a trace with at least one valid
#: feedback of that name: summaries count judged traces by it (summaries.py).
JUDGED_TAG_PREFIX = "feedback.judged."
#: The source IDs an anonymous judgment is stored with (domain/feedback.py `check_source`).
ANONYMOUS_IDS = frozenset({"anonymous", "feedback-service"})


def is_known_source(source_id: str) -> bool:
    """Whether judgments from `source_id` are merged (one current per source)."""
    return bool(source_id) and source_id not in ANONYMOUS_IDS


@dataclass(frozen=True)
class JudgmentKey:
    """What makes two judgments the same source's judgment of the same thing."""

    span_id: str
    name: str
    source_type: SourceType
    source_id: str


def key_of(j: Judgment) -> JudgmentKey:
    return JudgmentKey(j.target.span_id or "", j.name, j.source_type, j.source_id)


def stored_key(a: StoredAssessment) -> JudgmentKey:
    return JudgmentKey(a.span_id or "", a.name, a.source_type, a.source_id)


def is_marker(a: StoredAssessment) -> bool:
    reason = a.metadata.get(MARKER_KEY)
    return reason in (RETRACTED, SUPERSEDED) and a.name.endswith(f":{reason}")


def marker_name(name: str, reason: str) -> str:
    return f"{name}:{reason}"


def valid_judgments(assessments: Iterable[StoredAssessment]) -> list[StoredAssessment]:
    """The valid assessments that are not markers: MLflow's `valid`, and not overridden by
    another assessment (MLflow does not return `valid` for expectations)."""
    items = list(assessments)
    overridden = {a.overrides for a in items if a.overrides}
    return [a for a in items if a.valid and not is_marker(a) and a.assessment_id not in overridden]


def current(assessments: Iterable[StoredAssessment], key: JudgmentKey) -> list[StoredAssessment]:
    """The source's valid judgments of `key`, newest first (normally one, or none)."""
    found = [a for a in valid_judgments(assessments) if stored_key(a) == key]
    return sorted(found, key=lambda a: (a.create_time_ms, a.assessment_id), reverse=True)


def _marker_id(entry_id: str, target_id: str) -> str:
    """Deterministic, so a replayed write never adds a second marker."""
    digest = hashlib.sha256(f"marker\x1f{entry_id}\x1f{target_id}".encode()).hexdigest()
    return "a-" + digest[:32]


def invalidation(
    entry: Judgment, target: StoredAssessment, reason: str, *, marker_id: str = "", by: str = ""
) -> Invalidation:
    return Invalidation(
        assessment_id=marker_id or _marker_id(entry.assessment_id, target.assessment_id),
        target_id=target.assessment_id,
        name=target.name,
        reason=reason,
        source_type=target.source_type,
        source_id=target.source_id,
        span_id=target.span_id,
        by=by,
    )


@dataclass(frozen=True)
class WritePlan:
    """How to store one judgment: nothing (it is there already), or the assessment with
    its `overrides`, after the extra current judgments of its source are invalidated."""

    done: bool
    overrides: str | None = None
    extras: tuple[Invalidation, ...] = ()


def plan_write(j: Judgment, state: TraceJudgments | None) -> WritePlan:
    if state is None:
        return WritePlan(done=False)
    if any(a.assessment_id == j.assessment_id for a in state.assessments):
        return WritePlan(done=True)
    if not j.merge:
        return WritePlan(done=False)
    found = current(state.assessments, key_of(j))
    if not found:
        return WritePlan(done=False)
    if j.kind is JudgmentKind.EXPECTATION:  # MLflow drops an expectation's `overrides`
        extras = tuple(invalidation(j, a, SUPERSEDED, by=j.assessment_id) for a in found)
        return WritePlan(done=False, extras=extras)
    newest, *others = found
    extras = tuple(invalidation(j, a, SUPERSEDED, by=j.assessment_id) for a in others)
    return WritePlan(done=False, overrides=newest.assessment_id, extras=extras)


def plan_retraction(j: Judgment, state: TraceJudgments) -> list[Invalidation]:
    """The markers that take the source's current judgment(s) back: none when its marker
    is there already (a replay) or when the source has nothing current any more."""
    if any(a.assessment_id == j.assessment_id for a in state.assessments):
        return []
    targets = current(state.assessments, key_of(j))
    return [
        invalidation(j, a, RETRACTED, marker_id=j.assessment_id if i == 0 else "")
        for i, a in enumerate(targets)
    ]


def still_judged(state: TraceJudgments, name: str, invalidated: Iterable[str]) -> bool:
    """Whether the trace keeps a valid feedback named `name` once `invalidated` are not."""
    gone = set(invalidated)
    return any(
        a.kind is JudgmentKind.FEEDBACK and a.name == name and a.assessment_id not in gone
        for a in valid_judgments(state.assessments)
    )


# --- what was current when a judgment was acknowledged --------------------------------------


def local_current(history: Sequence[Judgment], key: JudgmentKey) -> tuple[bool, str]:
    """What the spool's history (acknowledgment order) says of `key`: (known, current ID).
    The last merged write of the key is current; a later retraction leaves none."""
    for j in reversed(history):
        if j.merge and key_of(j) == key:
            return True, ("" if j.retracts else j.assessment_id)
    return False, ""


# --- ListFeedback ---------------------------------------------------------------------------


def link(items: Sequence[StoredAssessment], pending: Sequence[Judgment]) -> list[StoredAssessment]:
    """A trace's assessments as ListFeedback shows them: markers hidden, each judgment
    with the one that superseded it or `retracted`, and the judgments still queued
    (`pending`, acknowledgment order) applied as they will be when stored."""
    by_id = {a.assessment_id: a for a in items}

    def mark(target: str | None, *, by: str = "", retracted: bool = False) -> None:
        old = by_id.get(target or "")
        if old is not None:
            by_id[old.assessment_id] = replace(
                old,
                valid=False,
                superseded_by=by or old.superseded_by,
                retracted=retracted or old.retracted,
            )

    for a in items:
        if is_marker(a):
            by = a.metadata.get(SUPERSEDED_BY_KEY, "")
            mark(a.overrides, by=by, retracted=a.metadata.get(MARKER_KEY) == RETRACTED)
            newer = by_id.get(by)
            if newer is not None and not newer.overrides:  # an expectation's supersession
                by_id[by] = replace(newer, overrides=a.overrides)
        elif a.overrides:
            mark(a.overrides, by=a.assessment_id)
    for j in pending:
        if j.replaces:
            mark(j.replaces, by="" if j.retracts else j.assessment_id, retracted=j.retracts)
    return [by_id[a.assessment_id] for a in items if not is_marker(a)]


def queued_view(j: Judgment, state: IngestionState) -> StoredAssessment:
    """A write still in the spool, as ListFeedback lists it."""
    return StoredAssessment(
        assessment_id=j.assessment_id,
        name=j.name,
        kind=j.kind,
        value=j.value,
        source_type=j.source_type,
        source_id=j.source_id,
        rationale=j.rationale,
        metadata=j.metadata,
        span_id=j.target.span_id,
        create_time_ms=j.created_ms,
        state=state,
        overrides=j.replaces or None,
    )
