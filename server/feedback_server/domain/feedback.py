"""Feedback rules: judgments are validated, made idempotent (bound to the content of their
request), durably spooled, then drained into MLflow as assessments; a known source's
judgment supersedes its previous one and can be retracted (supersession.py); reads merge
MLflow with what is still queued; summaries are counted by MLflow (summaries.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from ..errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    RequestIdReused,
    ServiceError,
    Unavailable,
)
from .current_trace import working_on
from .history import RECENT_JUDGMENTS, HistoryReads, RecentJudgments, recent_key
from .model import (
    IngestionState,
    JsonValue,
    Judgment,
    JudgmentAction,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceTarget,
    now_ms,
)
from .ports import FeedbackStore
from .summaries import RATING_PREFIX, Summarizer, Summary, SummaryQuery
from .supersession import (
    JudgmentKey,
    current,
    is_known_source,
    key_of,
    link,
    local_current,
    queued_view,
)
from .traces import TraceRegistry
from .validation import (
    DEFAULT_SCALE,
    DIMENSION_RE,
    MAX_DIMENSION_CHARS,
    MAX_ID_CHARS,
    MAX_RATING_DIMENSIONS,
    MAX_RATIONALE_CHARS,
    MAX_SCALE,
    MIN_SCALE,
    Violations,
)

if TYPE_CHECKING:
    from .drainer import Drainer
    from .spool import Spool, SpoolEntry


log = logging.getLogger(__name__)

DEFAULT_FEEDBACK_NAME = "user_feedback"
# A write waits at most its grace period (and at least this long) for MLflow to confirm
# its target; after MLflow failed to answer, writes skip that check for the backoff.
WRITE_LOOKUP_MIN_WAIT_S = 2.0
WRITE_LOOKUP_BACKOFF_S = 5.0
# Batch items resolved (and checked against their label schemas) at once.
_BATCH_CONCURRENCY = 16


# --- validation of the parts every write shares ------------------------------------------


def check_target(
    v: Violations, trace_id: str | None, client_request_id: str | None, span_id: str
) -> TraceTarget:
    if trace_id is None and client_request_id is None:
        v.add("target", "is required: set target.trace_id or target.client_request_id")
    elif trace_id is not None:
        v.trace_id("target.trace_id", trace_id)
    else:
        v.client_request_id("target.client_request_id", client_request_id or "")
    v.span_id("target.span_id", span_id)
    return TraceTarget(trace_id, client_request_id, span_id or None)


def check_source(v: Violations, source_type: SourceType, source_id: str) -> str:
    v.text("source.id", source_id, max_chars=MAX_ID_CHARS)
    if source_id:
        return source_id
    return "anonymous" if source_type is SourceType.HUMAN else "feedback-service"


def assessment_id_for(
    rpc: str, request_id: str, target: TraceTarget | None = None, part: str = ""
) -> str:
    """A deterministic MLflow assessment ID: the same request always maps to the same ID.
    The feedback RPCs derive it from the request ID alone (`target` None), so that a key
    reused for another trace is found and refused (see `fingerprint`)."""
    t = target or TraceTarget()
    key = "\x1f".join([rpc, request_id, t.trace_id or "", t.client_request_id or "", part])
    return "a-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def fingerprint(rpc: str, *fields: object) -> str:
    """A digest of everything a request asks for (AIP-155): the same request_id with
    another fingerprint is another request."""
    text = json.dumps([rpc, *fields], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _target_fields(t: TraceTarget) -> list[str]:
    return [t.trace_id or "", t.client_request_id or "", t.span_id or ""]


class LabelChecker(Protocol):
    """Checks judgment values against the label schemas of their names (domain/review)."""

    async def violations(
        self, checks: Sequence[tuple[str, str, JsonValue]]
    ) -> list[FieldViolation]:
        """One violation per (field path, judgment name, value) that breaks its schema."""
        ...


class JudgmentCounter(Protocol):
    """The live quality metrics (quality_metrics.py)."""

    def count_accepted(self, name: str, value: object, kind: str | None = None) -> None: ...

    def count_retracted(self, name: str) -> None: ...


@dataclass(frozen=True)
class FeedbackIn:
    """One validated LogFeedback or LogExpectation request (a batch item too)."""

    kind: JudgmentKind
    target: TraceTarget
    name: str
    value: JsonValue
    source_type: SourceType
    source_id: str
    metadata: Mapping[str, str]
    request_id: str
    rationale: str = ""
    value_kind: str | None = None  # `category` / `text` for strings (metrics)


@dataclass(frozen=True)
class Accepted:
    """The answer to a write: one entry per judgment, in request order. `superseded`:
    the judgment each one supersedes (for a retraction: takes back), as known when it was
    acknowledged; "" when none is known."""

    request_id: str
    trace_id: str | None
    state: IngestionState
    assessment_ids: list[str]
    superseded: list[str]


class FeedbackService:
    def __init__(
        self,
        gateway: FeedbackStore,
        registry: TraceRegistry,
        spool: Spool,
        drainer: Drainer,
        *,
        trace_grace_s: float = 3.0,
        ack_wait_ms: int = 0,
        metrics: JudgmentCounter | None = None,
    ) -> None:
        self._gateway = gateway
        self._registry = registry
        self._spool = spool
        self._drainer = drainer
        self._grace_s = trace_grace_s
        self._ack_wait_s = ack_wait_ms / 1000
        self._metrics = metrics
        self._summarizer = Summarizer(gateway)
        self._history_reads = HistoryReads(spool)
        # The latest merged judgment (or "" once retracted) this process acknowledged per
        # (order key, span, name, source): no spool read for a source voting again.
        self._recent = RecentJudgments(RECENT_JUDGMENTS)
        # Until then, writes do not ask MLflow to confirm their target: it just failed to
        # answer (down, or hung). See `_lookup_for_write`.
        self._write_lookups_off_until = 0.0
        # Label-schema enforcement, set by app.py (domain/review); None: no checks.
        self.label_checker: LabelChecker | None = None

    # --- writes ------------------------------------------------------------------------

    async def log_judgment(self, item: FeedbackIn) -> Accepted:
        """One feedback (LogFeedback) or expectation (LogExpectation)."""
        await self._check_labels([("value", item.name, item.value)])
        judgment = self._judgment(item)
        return await self._accept([judgment], {judgment.assessment_id: item.value_kind})

    def _judgment(self, item: FeedbackIn, target: TraceTarget | None = None) -> Judgment:
        """The judgment of `item`; on `target` (resolved) when given. Its fingerprint is of
        the request as sent."""
        request_id = item.request_id or uuid.uuid4().hex
        rpc = "LogFeedback" if item.kind is JudgmentKind.FEEDBACK else "LogExpectation"
        return Judgment(
            assessment_id=assessment_id_for(rpc, request_id),
            request_id=request_id,
            kind=item.kind,
            target=target or item.target,
            name=item.name,
            value=item.value,
            source_type=item.source_type,
            source_id=item.source_id,
            rationale=item.rationale or None,
            metadata=dict(item.metadata),
            created_ms=now_ms(),
            merge=is_known_source(item.source_id),
            fingerprint=fingerprint(
                rpc,
                _target_fields(item.target),
                item.name,
                item.value_kind,
                item.value,
                item.rationale,
                item.source_type.value,
                item.source_id,
                dict(item.metadata),
            ),
        )

    async def log_ratings(
        self,
        *,
        target: TraceTarget,
        ratings: Mapping[str, float],
        scale_max: int,
        rationale: str,
        source_type: SourceType,
        source_id: str,
        request_id: str,
    ) -> tuple[Accepted, list[tuple[str, str, float]]]:
        """Returns the acceptance and (dimension, name, value) per dimension, sorted."""
        request_id = request_id or uuid.uuid4().hex
        now = now_ms()
        digest = fingerprint(
            "LogRatings",
            _target_fields(target),
            dict(ratings),
            scale_max,
            rationale,
            source_type.value,
            source_id,
        )
        judgments, parts = [], []
        for dimension in sorted(ratings):
            name = f"{RATING_PREFIX}{dimension}"
            value = ratings[dimension] / scale_max
            parts.append((dimension, name, value))
            judgments.append(
                Judgment(
                    assessment_id=assessment_id_for("LogRatings", request_id, None, dimension),
                    request_id=request_id,
                    kind=JudgmentKind.FEEDBACK,
                    target=target,
                    name=name,
                    value=value,
                    source_type=source_type,
                    source_id=source_id,
                    rationale=rationale or None,
                    metadata={"rating": str(int(ratings[dimension])), "scale_max": str(scale_max)},
                    created_ms=now,
                    merge=is_known_source(source_id),
                    fingerprint=digest,
                )
            )
        await self._check_labels([(f"ratings[{d!r}]", n, val) for d, n, val in parts])
        return await self._accept(judgments), parts

    async def log_batch(
        self, items: Sequence[FeedbackIn | ServiceError]
    ) -> list[Accepted | ServiceError]:
        """BatchLogFeedback: every valid item is checked on its own, each distinct target is
        resolved once (16 at a time), the accepted items are recorded in one spool
        transaction, and each item is answered in request order (an item given as an
        error, because it is invalid, with that error)."""
        results: list[Accepted | ServiceError | None] = [None] * len(items)
        valid: list[tuple[int, FeedbackIn]] = []
        for i, item in enumerate(items):
            if isinstance(item, ServiceError):
                results[i] = item
                continue
            try:
                await self._check_labels([("value", item.name, item.value)])
                valid.append((i, item))
            except ServiceError as exc:
                results[i] = exc
        resolved = await self._resolve_targets({item.target for _, item in valid})
        prepared: list[tuple[int, Judgment]] = []
        kinds: dict[str, str | None] = {}
        for i, item in valid:
            target = resolved[item.target]
            if isinstance(target, ServiceError):
                results[i] = target
                continue
            j = self._judgment(item, target)
            prepared.append((i, j))
            kinds[j.assessment_id] = item.value_kind
        if prepared:
            judgments = await self._with_replaces([j for _, j in prepared])
            entries = await self._record(judgments, kinds)
            for (i, _), j, entry in zip(prepared, judgments, entries, strict=True):
                try:
                    _refuse_reuse([j], [entry])
                    results[i] = self._answer([entry], j.target.trace_id)
                except ServiceError as exc:
                    results[i] = exc
        return [r for r in results if r is not None]

    async def _resolve_targets(
        self, targets: set[TraceTarget]
    ) -> dict[TraceTarget, TraceTarget | ServiceError]:
        """Each target with its trace resolved (as `_resolved_all`), or the error of that."""
        limit = asyncio.Semaphore(_BATCH_CONCURRENCY)
        out: dict[TraceTarget, TraceTarget | ServiceError] = {}

        async def one(target: TraceTarget) -> None:
            async with limit:
                try:
                    trace_id = await self.resolve(target, for_write=True)
                except ServiceError as exc:
                    out[target] = exc
                    return
                known = trace_id and not target.trace_id
                out[target] = replace(target, trace_id=trace_id) if known else target

        await asyncio.gather(*(one(t) for t in targets))
        return out

    async def retract(
        self,
        *,
        target: TraceTarget,
        name: str,
        source_type: SourceType,
        source_id: str,
        request_id: str,
    ) -> Accepted:
        """RetractFeedback: takes the source's current judgment of `name` back. NOT_FOUND
        when it has none; UNAVAILABLE when MLflow cannot tell and this service knows of no
        judgment of that source on the trace. The ID answered is the judgment taken back."""
        request_id = request_id or uuid.uuid4().hex
        judgment = Judgment(
            assessment_id=assessment_id_for("RetractFeedback", request_id),
            request_id=request_id,
            kind=JudgmentKind.FEEDBACK,
            target=target,
            name=name,
            value=None,
            source_type=source_type,
            source_id=source_id,
            created_ms=now_ms(),
            action=JudgmentAction.RETRACT,
            merge=True,
            fingerprint=fingerprint(
                "RetractFeedback", _target_fields(target), name, source_type.value, source_id
            ),
        )
        replayed = (await self._spool.get([judgment.assessment_id])).get(judgment.assessment_id)
        if replayed is not None:
            _refuse_reuse([judgment], [replayed])
            return self._answer([replayed], replayed.trace_id)
        judgment = await self._resolved(judgment)
        taken_back = await self._current_for_retraction(judgment)
        return await self._accept([replace(judgment, replaces=taken_back)], resolved=True)

    async def _accept(
        self,
        judgments: list[Judgment],
        kinds: Mapping[str, str | None] | None = None,
        *,
        resolved: bool = False,
    ) -> Accepted:
        if not resolved:
            judgments = await self._resolved_all(judgments)
        if len(judgments) > 1:  # several entries: refuse a reused key before writing any
            _refuse_reuse(judgments, list((await self._spool.get(_ids(judgments))).values()))
        judgments = await self._with_replaces(judgments)
        entries = await self._record(judgments, kinds or {})
        _refuse_reuse(judgments, entries)
        return self._answer(entries, judgments[0].target.trace_id)

    async def _record(
        self, judgments: list[Judgment], kinds: Mapping[str, str | None]
    ) -> list[SpoolEntry]:
        """Spools `judgments` in one transaction, counts the new ones, and waits up to
        `FEEDBACK_ACK_WAIT_MS` for them to be stored."""
        entries = await self._spool.enqueue(judgments)
        self._drainer.notify()
        counted: set[str] = set()
        for j, entry in zip(judgments, entries, strict=True):
            if entry.judgment == j and j.assessment_id not in counted:  # new, not a replay
                counted.add(j.assessment_id)
                self._count(j, kinds.get(j.assessment_id))
                if j.merge:
                    self._recent.put(recent_key(j), "" if j.retracts else j.assessment_id)
        if self._ack_wait_s > 0 and any(e.state is IngestionState.QUEUED for e in entries):
            ids = _ids([e.judgment for e in entries])
            await self._drainer.wait_stored(ids, self._ack_wait_s)
            found = await self._spool.get(ids)
            entries = [found.get(e.assessment_id, e) for e in entries]
        return entries

    @staticmethod
    def _answer(entries: Sequence[SpoolEntry], trace_id: str | None) -> Accepted:
        first = entries[0].judgment
        return Accepted(
            request_id=first.request_id,
            trace_id=next((e.trace_id for e in entries if e.trace_id), trace_id),
            state=_combined_state(entries),
            assessment_ids=[
                e.judgment.replaces if e.judgment.retracts else e.assessment_id for e in entries
            ],
            superseded=[e.judgment.replaces for e in entries],
        )

    def _count(self, j: Judgment, kind: str | None) -> None:
        if self._metrics is None or j.kind is not JudgmentKind.FEEDBACK:
            return
        if j.retracts:
            self._metrics.count_retracted(j.name)
        else:
            self._metrics.count_accepted(j.name, j.value, kind)

    async def _resolved(self, judgment: Judgment) -> Judgment:
        [resolved] = await self._resolved_all([judgment])
        return resolved

    async def _resolved_all(self, judgments: list[Judgment]) -> list[Judgment]:
        """The judgments (all of one target) with their trace resolved when it can be:
        NOT_FOUND for an unknown one, unverified while MLflow does not answer."""
        target = judgments[0].target
        trace_id = await self.resolve(target, for_write=True)
        if trace_id and not target.trace_id:
            # Keep the resolved trace with the judgment (its ID still derives from the request).
            resolved = replace(target, trace_id=trace_id)
            return [replace(j, target=resolved) for j in judgments]
        return judgments

    # --- supersession: what a judgment supersedes, as known when it is acknowledged -----

    async def _history(self, j: Judgment) -> list[SpoolEntry]:
        """The spool's recent entries of `j`'s trace, source and name (pending and stored,
        acknowledgment order): what this replica knows of the source's current judgment."""
        query = (j.target.trace_id, j.target.order_key, j.name, j.source_id)
        entries = await self._history_reads.read(query)
        return [e for e in entries if key_of(e.judgment) == key_of(j)]

    async def _with_replaces(self, judgments: list[Judgment]) -> list[Judgment]:
        """Sets `replaces` on the merged writes: the source's current judgment of the same
        (span, name) as this replica knows it: its recent acknowledgments (memory), else the
        spool's recent entries (after a restart, or for a trace judged long ago), then the
        writes before it in `judgments` (a batch may change a vote twice)."""
        known: dict[tuple[str, JudgmentKey], str | None] = {}
        for j in judgments:
            if j.merge and not j.retracts and (key := recent_key(j)) not in known:
                known[key] = self._recent.get(key)
        missing = [j for j in judgments if j.merge and known.get(recent_key(j), "") is None]
        for j in missing:  # concurrent lookups share one spool read (_HistoryReads)
            found, current_id = local_current(
                [e.judgment for e in await self._history(j)], key_of(j)
            )
            known[recent_key(j)] = current_id if found else ""
        out = []
        for j in judgments:
            if j.merge and not j.retracts:
                key = recent_key(j)
                previous = known.get(key) or ""
                if previous and previous != j.assessment_id:
                    j = replace(j, replaces=previous)
                known[key] = j.assessment_id
            out.append(j)
        return out

    async def _current_for_retraction(self, judgment: Judgment) -> str:
        """The judgment a retraction takes back (see `retract`)."""
        key = key_of(judgment)
        history = await self._history(judgment)
        queued = [e.judgment for e in history if e.state is IngestionState.QUEUED]
        known, current_id = local_current(queued, key)
        if not known and judgment.target.trace_id:
            try:
                state = await asyncio.wait_for(
                    self._gateway.read_trace(judgment.target.trace_id), WRITE_LOOKUP_MIN_WAIT_S
                )
            except (Unavailable, TimeoutError):
                pass  # MLflow cannot tell: what this service stored decides below
            else:
                if state is None:
                    raise NotFound("trace", judgment.target.trace_id, "trace not found")
                found = current(state.assessments, key)
                known, current_id = True, found[0].assessment_id if found else ""
        if not known:
            known, current_id = local_current([e.judgment for e in history], key)
            if not known:
                raise Unavailable(
                    "MLflow is unreachable and this service holds no judgment of that "
                    "source on the trace: it cannot tell whether there is one to retract"
                )
        if not current_id:
            raise NotFound(
                "judgment",
                f"{judgment.name} by {judgment.source_id}",
                "that source has no current judgment of that name on the trace",
            )
        return current_id

    # --- target resolution -------------------------------------------------------------

    async def resolve(self, target: TraceTarget, *, for_write: bool) -> str | None:
        """The trace ID of a target. Unknown IDs get NOT_FOUND after the grace period
        when MLflow answers; while MLflow is unreachable a write is still accepted
        (queued, resolved later) and a read fails with UNAVAILABLE."""
        working_on(target.trace_id)
        deadline = time.monotonic() + self._grace_s
        delay = 0.05
        while True:
            try:
                if for_write:
                    found = await self._lookup_for_write(target, deadline)
                else:
                    found = await self._lookup(target)
            except Unavailable:
                if for_write:
                    return target.trace_id
                raise
            if found is not None:
                working_on(found)
                return found
            if time.monotonic() + delay > deadline:
                if target.trace_id:
                    raise NotFound("trace", target.trace_id, "trace not found")
                raise NotFound(
                    "client_request_id",
                    target.client_request_id or "",
                    "no trace with this client request ID",
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _lookup_for_write(self, target: TraceTarget, deadline: float) -> str | None:
        """`_lookup` for a write, which is acknowledged without waiting on MLflow.

        MLflow gets the grace period (at least `WRITE_LOOKUP_MIN_WAIT_S`) to answer: a hung
        MLflow answers only after its HTTP timeout (10 s), its calls piling up in the I/O
        pool. If it does not answer, the write is queued unverified (the drainer resolves
        and checks the target) and, for `WRITE_LOOKUP_BACKOFF_S`, writes skip MLflow.
        Traces this process produced are known locally."""
        if target.trace_id:
            if self._registry.knows(target.trace_id):
                return target.trace_id
        elif (known := self._registry.trace_for(target.client_request_id or "")) is not None:
            return known
        if time.monotonic() < self._write_lookups_off_until:
            raise Unavailable("MLflow did not answer recently")
        try:
            return await asyncio.wait_for(
                self._lookup(target), max(WRITE_LOOKUP_MIN_WAIT_S, deadline - time.monotonic())
            )
        except (Unavailable, TimeoutError):
            self._write_lookups_off_until = time.monotonic() + WRITE_LOOKUP_BACKOFF_S
            raise Unavailable("MLflow did not answer in time") from None

    async def _lookup(self, target: TraceTarget) -> str | None:
        if target.trace_id:
            if self._registry.knows(target.trace_id):
                return target.trace_id
            if await self._gateway.trace_exists(target.trace_id):
                self._registry.mark_verified(target.trace_id)
                return target.trace_id
            return None
        crid = target.client_request_id or ""
        return self._registry.trace_for(crid) or (
            await self._gateway.find_trace_by_client_request_id(crid)
        )

    # --- reads -------------------------------------------------------------------------

    async def list_feedback(self, target: TraceTarget) -> tuple[str, list[StoredAssessment]]:
        """The trace's assessments, oldest first, linked (supersession.link): the queued
        judgments are listed and applied, the retraction markers hidden."""
        trace_id = await self.resolve(target, for_write=False)
        assert trace_id is not None
        await self._registry.wait_exported(trace_id)
        # The spool first: a judgment drained between the two reads is then still listed
        # (queued, or stored when MLflow already has it); read the other way round, it
        # would be in neither.
        pending = await self._spool.pending_for_trace(trace_id)
        stored = await self._gateway.list_assessments(trace_id)
        if stored is None:
            stored = []
        seen = {a.assessment_id for a in stored}
        waiting = [e for e in pending if e.judgment.assessment_id not in seen]
        queued = [queued_view(e.judgment, e.state) for e in waiting if not e.judgment.retracts]
        items = sorted([*stored, *queued], key=lambda a: a.create_time_ms)
        items = link(items, [e.judgment for e in waiting])
        if target.span_id:
            items = [a for a in items if a.span_id == target.span_id]
        return trace_id, items

    async def summarize(self, query: SummaryQuery) -> Summary:
        """SummarizeFeedback: figures counted by the MLflow tracking server (summaries.py)."""
        return await self._summarizer.summarize(query)

    # --- hooks for expert review (domain/review) ------------------------------------

    async def _check_labels(self, checks: Sequence[tuple[str, str, JsonValue]]) -> None:
        """Rejects values that break the label schema of their name; nothing is written."""
        if self.label_checker is not None:
            violations = await self.label_checker.violations(checks)
            if violations:
                raise InvalidArgument(violations)

    async def log_judgments(self, judgments: list[Judgment]) -> Accepted:
        """The durable write path for judgments built by other domain modules (expert
        labels, evaluation scores): same resolution, spool and acknowledgment as the RPCs."""
        return await self._accept(judgments)


# --- request checks used by the servicers --------------------------------------------------


def check_ratings(v: Violations, ratings: Mapping[str, int], scale_max: int) -> int:
    scale = scale_max or DEFAULT_SCALE
    if not MIN_SCALE <= scale <= MAX_SCALE:
        v.add("scale_max", f"must be from {MIN_SCALE} to {MAX_SCALE} (got {scale_max})")
        scale = DEFAULT_SCALE
    if not ratings:
        v.add("ratings", "is required: at least one dimension")
    elif len(ratings) > MAX_RATING_DIMENSIONS:
        v.add("ratings", f"must have at most {MAX_RATING_DIMENSIONS} dimensions")
    else:
        for dim, rating in ratings.items():
            if not DIMENSION_RE.fullmatch(dim):
                v.add(
                    f"ratings[{dim[:MAX_DIMENSION_CHARS]!r}]",
                    f"dimension names are 1-{MAX_DIMENSION_CHARS} characters of [a-z0-9_]",
                )
            elif not 1 <= rating <= scale:
                v.add(f"ratings[{dim!r}]", f"must be from 1 to {scale} (got {rating})")
    return scale


def check_rationale(v: Violations, rationale: str) -> None:
    v.text("rationale", rationale, max_chars=MAX_RATIONALE_CHARS)


def _combined_state(entries: Sequence[SpoolEntry]) -> IngestionState:
    states = {e.state for e in entries}
    if IngestionState.DEAD_LETTERED in states:
        return IngestionState.DEAD_LETTERED
    if IngestionState.QUEUED in states:
        return IngestionState.QUEUED
    return IngestionState.STORED


def _ids(judgments: Sequence[Judgment]) -> list[str]:
    return [j.assessment_id for j in judgments]


def _refuse_reuse(judgments: Sequence[Judgment], entries: Sequence[SpoolEntry]) -> None:
    """AIP-155: an entry spooled under one of the judgments' IDs (the same request_id)
    by another request is refused, naming the request_id. Entries spooled before
    fingerprints existed are taken as the same request."""
    mine = {j.assessment_id: j for j in judgments}
    for entry in entries:
        j = mine.get(entry.assessment_id)
        theirs = entry.judgment.fingerprint
        if j is not None and theirs and j.fingerprint and theirs != j.fingerprint:
            raise RequestIdReused(j.request_id)
