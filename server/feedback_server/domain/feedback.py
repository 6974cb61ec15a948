"""Feedback rules: judgments are validated, made idempotent, durably spooled, then
drained into MLflow as assessments; reads merge MLflow with what is still queued."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from ..errors import FieldViolation, InvalidArgument, NotFound, Unavailable
from .model import (
    IngestionState,
    JsonValue,
    Judgment,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceTarget,
    now_ms,
)
from .ports import FeedbackStore
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
RATING_PREFIX = "user_"


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


def assessment_id_for(rpc: str, request_id: str, target: TraceTarget, part: str = "") -> str:
    """A deterministic MLflow assessment ID: the same request always maps to the same ID."""
    key = "\x1f".join(
        [rpc, request_id, target.trace_id or "", target.client_request_id or "", part]
    )
    return "a-" + hashlib.sha256(key.encode()).hexdigest()[:32]


class LabelChecker(Protocol):
    """Checks judgment values against the label schemas of their names (domain/review)."""

    async def violations(
        self, checks: Sequence[tuple[str, str, JsonValue]]
    ) -> list[FieldViolation]:
        """One violation per (field path, judgment name, value) that breaks its schema."""
        ...


@dataclass(frozen=True)
class Accepted:
    """The answer to a write: one entry per judgment, in request order."""

    request_id: str
    trace_id: str | None
    state: IngestionState
    assessment_ids: list[str]


@dataclass(frozen=True)
class Summary:
    total_traces: int
    traces_with_feedback: int
    feedback_rate: float
    positive_count: int
    negative_count: int
    positive_rate: float
    average_ratings: dict[str, float]
    start_ms: int
    end_ms: int
    truncated: bool


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
        summary_max_traces: int = 10_000,
    ) -> None:
        self._gateway = gateway
        self._registry = registry
        self._spool = spool
        self._drainer = drainer
        self._grace_s = trace_grace_s
        self._ack_wait_s = ack_wait_ms / 1000
        self._summary_max = summary_max_traces
        # Until then, writes do not ask MLflow to confirm their target: it just failed to
        # answer (down, or hung). See `_lookup_for_write`.
        self._write_lookups_off_until = 0.0
        # Label-schema enforcement, set by app.py (domain/review); None: no checks.
        self.label_checker: LabelChecker | None = None

    # --- writes ------------------------------------------------------------------------

    async def log_judgment(
        self,
        *,
        kind: JudgmentKind,
        target: TraceTarget,
        name: str,
        value: JsonValue,
        source_type: SourceType,
        source_id: str,
        metadata: Mapping[str, str],
        request_id: str,
        rationale: str = "",
    ) -> Accepted:
        """One feedback (LogFeedback) or expectation (LogExpectation)."""
        await self._check_labels([("value", name, value)])
        request_id = request_id or uuid.uuid4().hex
        rpc = "LogFeedback" if kind is JudgmentKind.FEEDBACK else "LogExpectation"
        judgment = Judgment(
            assessment_id=assessment_id_for(rpc, request_id, target),
            request_id=request_id,
            kind=kind,
            target=target,
            name=name,
            value=value,
            source_type=source_type,
            source_id=source_id,
            rationale=rationale or None,
            metadata=dict(metadata),
            created_ms=now_ms(),
        )
        return await self._accept([judgment])

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
        judgments, parts = [], []
        for dimension in sorted(ratings):
            name = f"{RATING_PREFIX}{dimension}"
            value = ratings[dimension] / scale_max
            parts.append((dimension, name, value))
            judgments.append(
                Judgment(
                    assessment_id=assessment_id_for("LogRatings", request_id, target, dimension),
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
                )
            )
        await self._check_labels([(f"ratings[{d!r}]", n, val) for d, n, val in parts])
        return await self._accept(judgments), parts

    async def _accept(self, judgments: list[Judgment]) -> Accepted:
        target = judgments[0].target
        trace_id = await self.resolve(target, for_write=True)
        if trace_id and not target.trace_id:
            # Keep the resolved trace with the judgment (its ID still derives from the request).
            resolved = replace(target, trace_id=trace_id)
            judgments = [replace(j, target=resolved) for j in judgments]
        entries = await self._spool.enqueue(judgments)
        self._drainer.notify()
        ids = [e.judgment.assessment_id for e in entries]
        if self._ack_wait_s > 0 and any(e.state is IngestionState.QUEUED for e in entries):
            await self._drainer.wait_stored(ids, self._ack_wait_s)
            entries = list((await self._spool.get(ids)).values())
        return Accepted(
            request_id=judgments[0].request_id,
            trace_id=next((e.trace_id for e in entries if e.trace_id), trace_id),
            state=_combined_state(entries),
            assessment_ids=ids,
        )

    # --- target resolution -------------------------------------------------------------

    async def resolve(self, target: TraceTarget, *, for_write: bool) -> str | None:
        """The trace ID of a target. Unknown IDs get NOT_FOUND after the grace period
        when MLflow answers; while MLflow is unreachable a write is still accepted
        (queued, resolved later) and a read fails with UNAVAILABLE."""
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
        queued = [_queued_view(e) for e in pending if e.judgment.assessment_id not in seen]
        items = sorted([*stored, *queued], key=lambda a: a.create_time_ms)
        if target.span_id:
            items = [a for a in items if a.span_id == target.span_id]
        return trace_id, items

    async def summarize(self, start_ms: int, end_ms: int, feedback_name: str) -> Summary:
        rows, truncated = await self._gateway.scan_traces(start_ms, end_ms, self._summary_max)
        with_feedback = positive = negative = 0
        sums: dict[str, list[float]] = {}
        for row in rows:
            has = False
            for a in row.assessments:
                if not a.valid or a.kind is not JudgmentKind.FEEDBACK or a.error:
                    continue
                if a.name == feedback_name:
                    if isinstance(a.value, bool):
                        has = True
                        positive += a.value
                        negative += not a.value
                elif a.name.startswith(RATING_PREFIX) and _is_number(a.value):
                    dim = a.name[len(RATING_PREFIX) :]
                    acc = sums.setdefault(dim, [0.0, 0.0])
                    acc[0] += float(a.value)
                    acc[1] += 1
            with_feedback += has
        total = len(rows)
        judged = positive + negative
        return Summary(
            total_traces=total,
            traces_with_feedback=with_feedback,
            feedback_rate=with_feedback / total if total else 0.0,
            positive_count=positive,
            negative_count=negative,
            positive_rate=positive / judged if judged else 0.0,
            average_ratings={d: s / n for d, (s, n) in sorted(sums.items()) if n},
            start_ms=start_ms,
            end_ms=end_ms,
            truncated=truncated,
        )

    # --- hooks for expert review (domain/review) ------------------------------------

    async def log_judgments(self, judgments: list[Judgment]) -> Accepted:
        """The durable write path for judgments built by other domain modules (expert
        labels, evaluation scores): same resolution, spool and acknowledgment as the RPCs."""
        return await self._accept(judgments)

    async def _check_labels(self, checks: Sequence[tuple[str, str, JsonValue]]) -> None:
        """Rejects values that break the label schema of their name; nothing is written."""
        if self.label_checker is not None:
            violations = await self.label_checker.violations(checks)
            if violations:
                raise InvalidArgument(violations)


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


def _queued_view(entry: SpoolEntry) -> StoredAssessment:
    j = entry.judgment
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
        state=entry.state,
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
