"""The drainer's `AssessmentWriter`: one spooled judgment into MLflow.

Judgments of one trace are drained one at a time, in acknowledgment order, so the
writer can read the trace right before it writes and apply the rules of
supersession.py to what MLflow holds then, whichever replica or application wrote it:

- a write from a known source overrides that source's current judgment of the same
  (span, name); an anonymous write is just added. When the judgment it supersedes was
  known at acknowledgment and MLflow still holds it valid (one read of that assessment),
  that one is overridden without reading the whole trace;
- a retraction writes the marker that makes the source's current judgment invalid;
- the trace tag `feedback.judged.<name>` is set while the trace has a valid feedback
  of that name and removed when its last one is taken back (summaries count by it).

Every step is idempotent (deterministic assessment IDs, a read before each write), so a
write interrupted anywhere is completed by the next attempt.
"""

from __future__ import annotations

from collections import OrderedDict

from ..errors import Unavailable
from .current_trace import working_on
from .model import Judgment, JudgmentKind, TraceJudgments, WriteOutcome, WriteResult
from .ports import JudgmentStore
from .supersession import (
    WritePlan,
    key_of,
    plan_retraction,
    plan_write,
    still_judged,
    stored_key,
)
from .traces import TraceRegistry

#: (trace, name) pairs this process tagged as judged, so a tag is set once, not per write.
_TAGGED_MAX = 100_000


class MlflowWriter:
    """Drains one judgment into MLflow (the spool's `AssessmentWriter`)."""

    def __init__(self, gateway: JudgmentStore, registry: TraceRegistry) -> None:
        self._gateway = gateway
        self._registry = registry
        self._tagged: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def write(self, judgment: Judgment, trace_id_hint: str | None) -> WriteOutcome:
        trace_id = trace_id_hint or judgment.target.trace_id
        if trace_id is None:
            crid = judgment.target.client_request_id or ""
            trace_id = self._registry.trace_for(crid)
            if trace_id is None:
                try:
                    trace_id = await self._gateway.find_trace_by_client_request_id(crid)
                except Unavailable as exc:
                    return WriteOutcome(WriteResult.UNAVAILABLE, None, str(exc))
            if trace_id is None:
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, None, "client request ID unknown")
            self._registry.mark_verified(trace_id)  # found in the experiment
        working_on(trace_id)  # each drained judgment runs in a task of its own
        # Feedback on a trace this process produced waits for its export, not for a poll.
        await self._registry.wait_exported(trace_id)
        try:
            if not await self._in_experiment(trace_id):
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, trace_id, "not in the experiment")
            if judgment.retracts:
                return await self._retract(judgment, trace_id)
            return await self._store(judgment, trace_id)
        except Unavailable as exc:
            return WriteOutcome(WriteResult.UNAVAILABLE, trace_id, exc.message)

    async def _in_experiment(self, trace_id: str) -> bool:
        """A trace named by ID and queued unverified (MLflow did not answer at the time) is
        checked once before the first write to it: a trace of another experiment on the
        same tracking server is never written."""
        if self._registry.knows(trace_id):
            return True
        found = await self._gateway.trace_exists(trace_id)
        if found:
            self._registry.mark_verified(trace_id)
        return found

    async def _read(self, trace_id: str) -> TraceJudgments | WriteOutcome:
        state = await self._gateway.read_trace(trace_id)
        if state is None:
            return WriteOutcome(WriteResult.TRACE_NOT_FOUND, trace_id, "trace not found")
        return state

    async def _store(self, j: Judgment, trace_id: str) -> WriteOutcome:
        state: TraceJudgments | None = None
        plan = await self._confirmed_plan(j, trace_id)
        if plan is None and j.merge:  # anonymous judgments supersede nothing: no read
            read = await self._read(trace_id)
            if isinstance(read, WriteOutcome):
                return read
            state = read
        plan = plan or plan_write(j, state)
        if not plan.done:
            for extra in plan.extras:
                outcome = await self._gateway.write_invalidation(extra, trace_id)
                if outcome.result is not WriteResult.STORED:
                    return outcome
            outcome = await self._gateway.write_assessment(j, trace_id, plan.overrides)
            if outcome.result is not WriteResult.STORED:
                return outcome
        if j.kind is JudgmentKind.FEEDBACK:
            await self._tag_judged(trace_id, j.name, state)
        return WriteOutcome(WriteResult.STORED, trace_id)

    async def _confirmed_plan(self, j: Judgment, trace_id: str) -> WritePlan | None:
        """The fast path of a merged feedback write: the judgment it supersedes as known at
        acknowledgment (`replaces`), still the source's valid one in MLflow, is overridden
        after one read of that assessment instead of the whole trace (whose assessments
        grow with its votes). None when that is not known or not so: read the trace."""
        if not (j.merge and j.replaces and j.kind is JudgmentKind.FEEDBACK):
            return None
        old = await self._gateway.get_assessment(trace_id, j.replaces)
        if old is None or not old.valid or old.kind is not JudgmentKind.FEEDBACK:
            return None  # superseded meanwhile (or by this very write, before a crash)
        if stored_key(old) != key_of(j):
            return None
        return WritePlan(done=False, overrides=old.assessment_id)

    async def _retract(self, j: Judgment, trace_id: str) -> WriteOutcome:
        read = await self._read(trace_id)
        if isinstance(read, WriteOutcome):
            return read
        markers = plan_retraction(j, read)
        for marker in markers:
            outcome = await self._gateway.write_invalidation(marker, trace_id)
            if outcome.result is not WriteResult.STORED:
                return outcome
        await self._untag_unless_judged(trace_id, j.name, read, [m.target_id for m in markers])
        detail = "" if markers else "nothing current to retract"
        return WriteOutcome(WriteResult.STORED, trace_id, detail)

    # --- the trace tag summaries count judged traces by ------------------------------

    async def _tag_judged(self, trace_id: str, name: str, state: TraceJudgments | None) -> None:
        key = (trace_id, name)
        if key not in self._tagged and (state is None or name not in state.judged_names):
            await self._gateway.set_judged(trace_id, name, True)
        self._tagged[key] = None
        self._tagged.move_to_end(key)
        while len(self._tagged) > _TAGGED_MAX:
            self._tagged.popitem(last=False)

    async def _untag_unless_judged(
        self, trace_id: str, name: str, state: TraceJudgments, invalidated: list[str]
    ) -> None:
        """Removes the tag when no valid feedback of `name` is left. Another writer (a
        replica, an application) may add one meanwhile: the trace is read again after
        the removal, and tagged again if so."""
        if still_judged(state, name, invalidated):
            return
        self._tagged.pop((trace_id, name), None)
        if name not in state.judged_names:
            return
        await self._gateway.set_judged(trace_id, name, False)
        after = await self._gateway.read_trace(trace_id)
        if after is not None and still_judged(after, name, ()):
            await self._gateway.set_judged(trace_id, name, True)
