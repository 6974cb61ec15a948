"""Review sessions, their items and the reviewers' loop; the `ReviewService`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from ...errors import AlreadyExists, NotFound
from ..feedback import assessment_id_for
from ..model import (
    IngestionState,
    JsonValue,
    Judgment,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceTarget,
)
from ..scorers import JudgeFactory
from ..supersession import is_known_source
from ..validation import Violations
from .catalog import SchemaCatalog
from .errors import (
    BuiltinSchema,
    ItemComplete,
    ItemDeclined,
    ItemLeased,
    NotAReviewer,
    SchemaInUse,
)
from .evaluation import EvalOptions, EvalProgress, EvalResult, SessionEvaluator
from .leases import Lease, LeaseTable
from .paging import collect, paged
from .ports import ChatRunner, ExportWaiter, FeedbackWriter, ReviewStore
from .records import ItemStatus, LabelSchemaSpec, ReviewItemRecord, ReviewQueueRecord, Session
from .schemas import label_problem
from .text import content_text

_ADD_CHUNK = 100  # traces per MLflow add call
_RESOLVE_CONCURRENCY = 8


@dataclass(frozen=True)
class FeedbackMatchSpec:
    name: str
    value: JsonValue


@dataclass(frozen=True)
class TraceQuerySpec:
    start_ms: int
    end_ms: int
    feedback: FeedbackMatchSpec | None
    max_traces: int


@dataclass(frozen=True)
class AddedItems:
    items: list[ReviewItemRecord]
    matched: int
    truncated: bool


@dataclass(frozen=True)
class ItemView:
    trace_id: str
    request: str
    response: str
    assessments: list[StoredAssessment]
    timestamp_ms: int
    client_request_id: str
    lease_expire_time_ms: int


@dataclass(frozen=True)
class LabelIn:
    value: JsonValue
    comment: str = ""


@dataclass(frozen=True)
class Submitted:
    trace_id: str
    results: list[tuple[str, JudgmentKind, str]]  # (name, kind, assessment ID), by name
    state: IngestionState
    request_id: str


@dataclass(frozen=True)
class ReviewerCounts:
    reviewer: str
    complete: int = 0
    declined: int = 0
    leased: int = 0


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    complete: int
    declined: int
    leased: int
    reviewers: list[ReviewerCounts]


@dataclass
class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    _locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def hold(self, key: tuple[str, str]) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class ReviewService:
    def __init__(
        self,
        store: ReviewStore,
        feedback: FeedbackWriter,
        chat: ChatRunner,
        registry: ExportWaiter,
        catalog: SchemaCatalog,
        *,
        judge_factory: JudgeFactory | None = None,
        query_max_matches: int = 10_000,
    ) -> None:
        self._store = store
        self._feedback = feedback
        self._registry = registry
        self.catalog = catalog
        self._evaluator = SessionEvaluator(store, feedback, chat, judge_factory)
        self._query_max_matches = query_max_matches
        self.leases = LeaseTable()
        self._item_locks = _KeyedLocks()

    # --- label schemas -------------------------------------------------------------------

    async def create_schema(self, spec: LabelSchemaSpec) -> LabelSchemaSpec:
        existing = await self._store.get_label_schema(spec.name)
        if existing is None:
            try:
                created = await self._store.create_label_schema(spec)
            except AlreadyExists:
                existing = await self._store.get_label_schema(spec.name)
            else:
                self.catalog.put(created)
                return created
        if existing is not None and existing.same_definition(spec):
            self.catalog.put(existing)
            return existing
        raise AlreadyExists("label_schema", spec.name)

    async def get_schema(self, name: str) -> LabelSchemaSpec:
        schema = await self._store.get_label_schema(name)
        if schema is None:
            raise NotFound("label_schema", name)
        return schema

    async def list_schemas(
        self, page_size: int, page_token: str
    ) -> tuple[list[LabelSchemaSpec], str]:
        return await self._store.list_label_schemas(page_size, page_token or None)

    async def delete_schema(self, name: str, *, force: bool) -> str:
        schema = await self.get_schema(name)
        if schema.builtin:
            raise BuiltinSchema(f"label schema {name!r} is MLflow's built-in question")
        if not force:
            async for queue in paged(partial(self._store.list_review_queues, None)):
                if schema.schema_id in queue.schema_ids:
                    raise SchemaInUse(
                        f"label schema {name!r} is used by review session {queue.name!r}; "
                        "set force to delete it anyway"
                    )
        await self._store.delete_label_schema(schema.schema_id)
        self.catalog.drop(name)
        return schema.schema_id

    # --- sessions ------------------------------------------------------------------------

    async def create_session(
        self, name: str, schema_names: Sequence[str], reviewers: Sequence[str]
    ) -> Session:
        schemas = await self.catalog.load()
        missing = [n for n in schema_names if n not in schemas]
        if missing:
            schemas = await self.catalog.load(fresh=True)
        for n in schema_names:
            if n not in schemas:
                raise NotFound("label_schema", n)
        wanted = tuple(schemas[n] for n in schema_names)
        schema_ids = [s.schema_id for s in wanted]
        existing = await self._store.get_review_queue(name)
        if existing is None:
            try:
                queue = await self._store.create_review_queue(name, list(reviewers), schema_ids)
            except AlreadyExists:
                existing = await self._store.get_review_queue(name)
            else:
                return _session(queue, wanted)
        if (
            existing is not None
            and existing.custom
            and existing.name == name
            and set(existing.schema_ids) == set(schema_ids)
            and set(existing.users) == set(reviewers)
        ):
            return _session(existing, wanted)
        raise AlreadyExists("review_session", name)

    async def get_session(self, name: str) -> Session:
        queue = await self._store.get_review_queue(name)
        if queue is None or not queue.custom:
            raise NotFound("review_session", name)
        return _session(queue, await self.catalog.by_ids(queue.schema_ids))

    async def list_sessions(
        self, reviewer: str, page_size: int, page_token: str
    ) -> tuple[list[Session], str]:
        queues, token = await self._store.list_review_queues(
            reviewer or None, page_size, page_token or None
        )
        sessions = [
            _session(q, await self.catalog.by_ids(q.schema_ids)) for q in queues if q.custom
        ]
        return sessions, token

    async def add_items(
        self, name: str, targets: Sequence[TraceTarget], query: TraceQuerySpec | None
    ) -> AddedItems:
        session = await self.get_session(name)
        truncated = False
        if query is not None:
            # MLflow's search selects the traces; their matches are counted up to a bound.
            match = None if query.feedback is None else (query.feedback.name, query.feedback.value)
            limit = max(self._query_max_matches, query.max_traces)
            matched = await self._store.find_traces(query.start_ms, query.end_ms, match, limit + 1)
            truncated = len(matched) > limit
            trace_ids = matched[: query.max_traces]
            matched_count = min(len(matched), limit)
        else:
            trace_ids = await self._resolve_all(targets)
            matched_count = len(trace_ids)
        items: list[ReviewItemRecord] = []
        for start in range(0, len(trace_ids), _ADD_CHUNK):
            chunk = trace_ids[start : start + _ADD_CHUNK]
            items += await self._store.add_review_items(session.queue.queue_id, chunk)
        return AddedItems(items, matched_count, truncated)

    async def _resolve_all(self, targets: Sequence[TraceTarget]) -> list[str]:
        limit = asyncio.Semaphore(_RESOLVE_CONCURRENCY)

        async def one(target: TraceTarget) -> str:
            async with limit:
                trace_id = await self._feedback.resolve(target, for_write=False)
                assert trace_id is not None
                await self._registry.wait_exported(trace_id)
                return trace_id

        resolved = await asyncio.gather(*(one(t) for t in targets))
        return list(dict.fromkeys(resolved))

    # --- the reviewers' loop ---------------------------------------------------------------

    async def next_item(
        self, name: str, reviewer: str, lease_s: float
    ) -> tuple[Session, ItemView | None]:
        session = await self.get_session(name)
        self._require_reviewer(session, reviewer)
        queue_id = session.queue.queue_id
        # The reviewer's own item, if still pending: the same item again, lease renewed.
        for trace_id in self.leases.held_by(queue_id, reviewer):
            item = await self._store.review_item(queue_id, trace_id)
            if item is not None and item.status is ItemStatus.PENDING:
                lease = self.leases.acquire(queue_id, trace_id, reviewer, lease_s)
                if lease is not None:
                    return session, await self._item_view(trace_id, lease)
            self.leases.release(queue_id, trace_id)
        # Otherwise the first pending item nobody holds (acquire is atomic in the loop).
        pending = partial(self._store.list_review_items, queue_id, ItemStatus.PENDING)
        async for item in paged(pending):
            lease = self.leases.acquire(queue_id, item.trace_id, reviewer, lease_s)
            if lease is not None:
                return session, await self._item_view(item.trace_id, lease)
        return session, None

    async def _item_view(self, trace_id: str, lease: Lease) -> ItemView:
        content = await self._store.trace_content(trace_id)
        try:
            _, assessments = await self._feedback.list_feedback(TraceTarget(trace_id=trace_id))
        except NotFound:
            assessments = []
        return ItemView(
            trace_id=trace_id,
            request=content_text(content.inputs, content.request_preview) if content else "",
            response=content_text(content.outputs, content.response_preview) if content else "",
            assessments=assessments,
            timestamp_ms=content.timestamp_ms if content else 0,
            client_request_id=content.client_request_id if content else "",
            lease_expire_time_ms=lease.expire_time_ms,
        )

    async def submit_labels(
        self,
        name: str,
        reviewer: str,
        trace_id: str,
        labels: Mapping[str, LabelIn],
        request_id: str,
    ) -> Submitted:
        session = await self.get_session(name)
        self._require_reviewer(session, reviewer)
        schemas = {s.name: s for s in session.schemas}
        v = Violations()
        for label_name in sorted(labels):
            path, label = f"labels[{label_name!r}]", labels[label_name]
            schema = schemas.get(label_name)
            if schema is None:
                known = ", ".join(repr(n) for n in schemas)
                v.add(path, f"is not a label schema of session {name!r} ({known})")
                continue
            problem = label_problem(schema, label.value)
            if problem:
                v.add(path, problem)
            if label.comment and not schema.enable_comment:
                v.add(f"{path}.comment", f"label schema {label_name!r} does not take comments")
        v.raise_if_any()

        queue_id = session.queue.queue_id
        # Without a caller's key, the key derives from the content: an identical retry
        # (say, after UNAVAILABLE once the labels were queued) stores nothing twice.
        request_id = request_id or _content_key(queue_id, trace_id, reviewer, labels)
        judgments = [
            self._label_judgment(session, schemas[n], labels[n], reviewer, trace_id, request_id)
            for n in sorted(labels)
        ]
        async with self._pending_item(session, reviewer, trace_id, ItemStatus.COMPLETE) as item:
            if item.status is ItemStatus.COMPLETE:  # a retry, when this reviewer completed it
                replay = None
                if item.completed_by == reviewer:
                    replay = await self._replayed(trace_id, judgments, request_id)
                if replay is None:
                    raise _not_pending(session, item)
                return replay
            accepted = await self._feedback.log_judgments(judgments)
            await self._finish(session, trace_id, ItemStatus.COMPLETE, reviewer)
        return _submitted(trace_id, judgments, accepted.state, accepted.request_id)

    def _label_judgment(
        self,
        session: Session,
        schema: LabelSchemaSpec,
        label: LabelIn,
        reviewer: str,
        trace_id: str,
        request_id: str,
    ) -> Judgment:
        target = TraceTarget(trace_id=trace_id)
        metadata = {
            "review_session": session.name,
            "review_session_id": session.queue.queue_id,
            "label_schema_id": schema.schema_id,
        }
        is_feedback = schema.kind is JudgmentKind.FEEDBACK
        if label.comment and not is_feedback:
            metadata["comment"] = label.comment[:1024]
        return Judgment(
            assessment_id=assessment_id_for(
                "SubmitLabels", request_id, target, f"{session.queue.queue_id}/{schema.name}"
            ),
            request_id=request_id,
            kind=schema.kind,
            target=target,
            name=schema.name,
            value=label.value,
            source_type=SourceType.HUMAN,
            source_id=reviewer,
            rationale=(label.comment or None) if is_feedback else None,
            metadata=metadata,
            created_ms=int(time.time() * 1000),
            merge=is_known_source(reviewer),  # supersedes the reviewer's earlier label
        )

    async def _replayed(
        self, trace_id: str, judgments: list[Judgment], request_id: str
    ) -> Submitted | None:
        """The result of an earlier identical submission, if its labels are all there."""
        try:
            _, assessments = await self._feedback.list_feedback(TraceTarget(trace_id=trace_id))
        except NotFound:
            return None
        states = {a.assessment_id: a.state for a in assessments}
        if not all(j.assessment_id in states for j in judgments):
            return None
        state = (
            IngestionState.QUEUED
            if any(states[j.assessment_id] is not IngestionState.STORED for j in judgments)
            else IngestionState.STORED
        )
        return _submitted(trace_id, judgments, state, request_id)

    async def decline(self, name: str, reviewer: str, trace_id: str) -> ReviewItemRecord:
        session = await self.get_session(name)
        self._require_reviewer(session, reviewer)
        async with self._pending_item(session, reviewer, trace_id, ItemStatus.DECLINED) as item:
            if item.status is ItemStatus.DECLINED:  # a retry: declined already
                return item
            return await self._finish(session, trace_id, ItemStatus.DECLINED, reviewer)

    @contextlib.asynccontextmanager
    async def _pending_item(
        self, session: Session, reviewer: str, trace_id: str, retried: ItemStatus
    ) -> AsyncIterator[ReviewItemRecord]:
        """The step SubmitLabels and DeclineItem share: the item `trace_id` of the session,
        read and kept under its lock, pending and not leased to another reviewer. An item
        that already has the status `retried` is yielded as it is, for the caller to answer
        a retry; an item finished otherwise is refused."""
        queue_id = session.queue.queue_id
        async with self._item_locks.hold((queue_id, trace_id)):
            item = await self._store.review_item(queue_id, trace_id)
            if item is None:
                raise NotFound(
                    "review_item",
                    trace_id,
                    f"trace {trace_id} is not an item of session {session.name!r}",
                )
            if item.status is not retried:
                if item.status is not ItemStatus.PENDING:
                    raise _not_pending(session, item)
                holder = self.leases.holder(queue_id, trace_id)
                if holder is not None and holder.reviewer != reviewer:
                    raise ItemLeased(f"the item {trace_id} is leased to another reviewer")
            yield item

    async def _finish(
        self, session: Session, trace_id: str, status: ItemStatus, reviewer: str
    ) -> ReviewItemRecord:
        """Sets a pending item's final status (by `reviewer`) and releases its lease."""
        queue_id = session.queue.queue_id
        done = await self._store.set_review_item_status(queue_id, trace_id, status, reviewer)
        self.leases.release(queue_id, trace_id)
        return done

    async def progress(self, name: str) -> Progress:
        session = await self.get_session(name)
        queue_id = session.queue.queue_id
        items = await collect(partial(self._store.list_review_items, queue_id, None))
        by_status = Counter(i.status for i in items)
        pending = {i.trace_id for i in items if i.status is ItemStatus.PENDING}
        leases = {t: lease for (_, t), lease in self.leases.live(queue_id).items() if t in pending}
        complete = Counter(i.completed_by for i in items if i.status is ItemStatus.COMPLETE)
        declined = Counter(i.completed_by for i in items if i.status is ItemStatus.DECLINED)
        leased = Counter(lease.reviewer for lease in leases.values())
        names = sorted({*session.queue.users, *complete, *declined, *leased} - {""})
        return Progress(
            total=len(items),
            pending=by_status[ItemStatus.PENDING],
            complete=by_status[ItemStatus.COMPLETE],
            declined=by_status[ItemStatus.DECLINED],
            leased=len(leases),
            reviewers=[ReviewerCounts(r, complete[r], declined[r], leased[r]) for r in names],
        )

    # --- evaluation ------------------------------------------------------------------------

    async def evaluate(
        self, name: str, options: EvalOptions
    ) -> AsyncGenerator[EvalProgress | EvalResult, None]:
        """EvaluateSession: progress per item (in completion order), then the result."""
        session = await self.get_session(name)
        async with contextlib.aclosing(self._evaluator.run(session, options)) as events:
            async for event in events:
                yield event

    # --- helpers -----------------------------------------------------------------------------

    def _require_reviewer(self, session: Session, reviewer: str) -> None:
        if reviewer not in session.queue.users:
            raise NotAReviewer(f"{reviewer!r} is not a reviewer of session {session.name!r}")


def _session(queue: ReviewQueueRecord, schemas: Iterable[LabelSchemaSpec]) -> Session:
    """MLflow keeps a queue's schema IDs as a set: schemas are shown by creation time."""
    return Session(queue, tuple(sorted(schemas, key=lambda s: (s.create_time_ms, s.name))))


def _not_pending(session: Session, item: ReviewItemRecord) -> ItemComplete | ItemDeclined:
    if item.status is ItemStatus.COMPLETE:
        return ItemComplete(
            f"the item {item.trace_id} of session {session.name!r} is already complete"
        )
    return ItemDeclined(f"the item {item.trace_id} of session {session.name!r} was declined")


def _content_key(queue_id: str, trace_id: str, reviewer: str, labels: Mapping[str, LabelIn]) -> str:
    parts = [[name, labels[name].value, labels[name].comment] for name in sorted(labels)]
    content = json.dumps([queue_id, trace_id, reviewer, parts], default=str)
    return "auto-" + hashlib.sha256(content.encode()).hexdigest()[:32]


def _submitted(
    trace_id: str, judgments: Iterable[Judgment], state: IngestionState, request_id: str
) -> Submitted:
    results = [(j.name, j.kind, j.assessment_id) for j in judgments]
    return Submitted(trace_id, results, state, request_id)
