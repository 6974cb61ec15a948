"""One current judgment per (trace, span, name, source): the pure rules of
domain/supersession.py (what a write supersedes, what a retraction takes back, how
ListFeedback links a trace's assessments)."""

from __future__ import annotations

from dataclasses import replace

from feedback_server.domain.model import (
    Judgment,
    JudgmentAction,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceJudgments,
    TraceTarget,
)
from feedback_server.domain.supersession import (
    MARKER_KEY,
    RETRACTED,
    SUPERSEDED,
    SUPERSEDED_BY_KEY,
    current,
    is_known_source,
    key_of,
    link,
    local_current,
    plan_retraction,
    plan_write,
    still_judged,
)

TRACE = "tr-" + "c" * 32


def stored(
    aid: str,
    source: str = "alice",
    *,
    name: str = "user_feedback",
    t: int = 1,
    valid: bool = True,
    overrides: str | None = None,
    kind: JudgmentKind = JudgmentKind.FEEDBACK,
    span: str | None = None,
    metadata: dict[str, str] | None = None,
) -> StoredAssessment:
    return StoredAssessment(
        assessment_id=aid,
        name=name,
        kind=kind,
        value=True,
        source_type=SourceType.HUMAN,
        source_id=source,
        span_id=span,
        create_time_ms=t,
        valid=valid,
        overrides=overrides,
        metadata=metadata or {},
    )


def marker(aid: str, target: str, reason: str = RETRACTED, by: str = "") -> StoredAssessment:
    meta = {MARKER_KEY: reason, **({SUPERSEDED_BY_KEY: by} if by else {})}
    return stored(aid, name=f"user_feedback:{reason}", overrides=target, metadata=meta, t=9)


def judgment(
    aid: str,
    source: str = "alice",
    *,
    action: JudgmentAction = JudgmentAction.WRITE,
    kind: JudgmentKind = JudgmentKind.FEEDBACK,
    replaces: str = "",
    span: str | None = None,
) -> Judgment:
    return Judgment(
        assessment_id=aid,
        request_id="r-" + aid,
        kind=kind,
        target=TraceTarget(trace_id=TRACE, span_id=span),
        name="user_feedback",
        value=None if action is JudgmentAction.RETRACT else False,
        source_id=source,
        action=action,
        merge=is_known_source(source),
        replaces=replaces,
    )


def state(*assessments: StoredAssessment, judged: frozenset[str] = frozenset()) -> TraceJudgments:
    return TraceJudgments(TRACE, list(assessments), judged)


def test_known_sources_merge_anonymous_ones_never() -> None:
    assert is_known_source("alice")
    for anonymous in ("", "anonymous", "feedback-service"):
        assert not is_known_source(anonymous)


def test_a_write_overrides_its_sources_current_judgment_only() -> None:
    s = state(
        stored("old", t=1),
        stored("bob-1", "bob", t=2),
        stored("span", span="00f067aa0ba902b7", t=3),
        stored("other-name", name="comment", t=4),
    )
    plan = plan_write(judgment("new"), s)
    assert (plan.done, plan.overrides, plan.extras) == (False, "old", ())
    # Another span of the same trace is another judgment.
    assert plan_write(judgment("s2", span="00f067aa0ba902b7"), s).overrides == "span"
    # Anonymous: nothing superseded, even by "anonymous" written explicitly.
    assert (
        plan_write(judgment("anon", "anonymous"), state(stored("a0", "anonymous"))).overrides
        is None
    )


def test_a_replayed_write_is_done_and_a_first_one_supersedes_nothing() -> None:
    assert plan_write(judgment("new"), state(stored("new"))).done
    assert plan_write(judgment("new"), state()).overrides is None
    assert plan_write(judgment("new"), None).overrides is None


def test_duplicate_current_judgments_collapse_to_one() -> None:
    """Ten thumbs-down from one user before this rule: the next supersedes the newest and
    marks the nine others superseded, each with its own deterministic marker."""
    olds = [stored(f"d{i}", t=i) for i in range(10)]
    plan = plan_write(judgment("new"), state(*olds))
    assert plan.overrides == "d9"
    assert sorted(e.target_id for e in plan.extras) == [f"d{i}" for i in range(9)]
    assert {e.reason for e in plan.extras} == {SUPERSEDED}
    assert {e.by for e in plan.extras} == {"new"}
    assert len({e.assessment_id for e in plan.extras}) == 9
    again = plan_write(judgment("new"), state(*olds))
    assert [e.assessment_id for e in again.extras] == [e.assessment_id for e in plan.extras]


def test_an_expectation_supersedes_with_markers() -> None:
    """MLflow drops an expectation's `overrides`: every current one gets a marker."""
    old = stored("e1", kind=JudgmentKind.EXPECTATION)
    plan = plan_write(judgment("e2", kind=JudgmentKind.EXPECTATION), state(old))
    assert plan.overrides is None
    assert [(e.target_id, e.reason, e.by) for e in plan.extras] == [("e1", SUPERSEDED, "e2")]


def test_overridden_assessments_are_not_current_even_without_valid() -> None:
    """MLflow returns no `valid` for expectations: being overridden is enough."""
    old = stored("e1", kind=JudgmentKind.EXPECTATION)  # valid as read back
    s = state(old, marker("m1", "e1", SUPERSEDED, by="e2"))
    assert current(s.assessments, key_of(judgment("x"))) == []


def test_retraction_marks_the_current_judgment_and_is_idempotent() -> None:
    s = state(stored("old", valid=False), stored("new", overrides="old", t=2), stored("b", "bob"))
    [m] = plan_retraction(judgment("ret", action=JudgmentAction.RETRACT), s)
    assert (m.assessment_id, m.target_id, m.reason) == ("ret", "new", RETRACTED)
    # Replayed once its marker is stored: nothing more to write.
    done = state(*s.assessments, marker("ret", "new"))
    assert plan_retraction(judgment("ret", action=JudgmentAction.RETRACT), done) == []
    # Nothing current (retracted meanwhile): nothing to write either.
    gone = state(stored("new", valid=False), marker("other", "new"))
    assert plan_retraction(judgment("ret2", action=JudgmentAction.RETRACT), gone) == []


def test_judged_while_a_valid_feedback_of_the_name_is_left() -> None:
    s = state(stored("a"), stored("b", "bob"), stored("c", name="comment"))
    assert still_judged(s, "user_feedback", ["a"])
    assert not still_judged(s, "user_feedback", ["a", "b"])
    assert not still_judged(state(stored("a"), marker("m", "a")), "user_feedback", [])


def test_local_history_knows_the_current_judgment() -> None:
    key = key_of(judgment("x"))
    history = [judgment("v1"), judgment("bob", "bob"), judgment("v2")]
    assert local_current(history, key) == (True, "v2")
    retracted = [*history, judgment("r", action=JudgmentAction.RETRACT)]
    assert local_current(retracted, key) == (True, "")
    assert local_current([judgment("anon", "")], key_of(judgment("y", ""))) == (False, "")
    assert local_current([], key) == (False, "")


def test_list_feedback_links_supersessions_and_retractions() -> None:
    items = [
        stored("up", valid=False, t=1),
        stored("down", overrides="up", t=2),
        stored("bob", "bob", valid=False, t=3),
        marker("m-bob", "bob"),
        stored("e1", kind=JudgmentKind.EXPECTATION, name="expected", t=4),
        stored("e2", kind=JudgmentKind.EXPECTATION, name="expected", t=5),
        replace(marker("m-e1", "e1", SUPERSEDED, by="e2"), name="expected:superseded"),
    ]
    linked = {a.assessment_id: a for a in link(items, [])}
    assert set(linked) == {"up", "down", "bob", "e1", "e2"}  # markers hidden
    assert (linked["up"].valid, linked["up"].superseded_by) == (False, "down")
    assert (linked["down"].valid, linked["down"].overrides) == (True, "up")
    assert (linked["bob"].valid, linked["bob"].retracted) == (False, True)
    assert (linked["e1"].valid, linked["e1"].superseded_by) == (False, "e2")
    assert (linked["e2"].valid, linked["e2"].overrides) == (True, "e1")


def test_list_feedback_applies_what_is_still_queued() -> None:
    items = [stored("down", t=1), stored("bob", "bob", t=2)]
    pending = [
        judgment("up", replaces="down"),
        judgment("r", "bob", action=JudgmentAction.RETRACT, replaces="bob"),
    ]
    linked = {a.assessment_id: a for a in link(items, pending)}
    assert (linked["down"].valid, linked["down"].superseded_by) == (False, "up")
    assert (linked["bob"].valid, linked["bob"].retracted) == (False, True)
