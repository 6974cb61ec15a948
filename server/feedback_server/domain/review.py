"""Expert review: label schemas, review sessions, the reviewers' work loop, evaluation.

Everything durable lives in MLflow: label schemas are MLflow label schemas, a
review session is an MLflow review queue (its items are traces, each pending,
complete or declined), labels are MLflow assessments written through the
service's durable write path (`FeedbackService.log_judgments`: spool, then
drainer). The only state kept here is:

- `SchemaCatalog`: a short-lived cache of the experiment's label schemas (MLflow
  itself never checks assessment values against them). It enforces them on
  `LogFeedback` / `LogRatings` / `LogExpectation` as `FeedbackService.label_checker`;
  when MLflow cannot be reached the last known schemas are used, and with none
  known the judgment is accepted unchecked (a judgment is never refused because
  MLflow is down).
- `LeaseTable`: which reviewer is working on which pending item, until when. A
  lease is held by the replica that granted it; deployments with several replicas
  route one session's review calls to one replica (consistent hashing on the
  `x-review-session` header, which the Python client sends). A replica restart
  forgets its leases: items simply become available again, as when a lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import json
import logging
import math
import time
import uuid
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..backends.base import ChatTurn
from ..errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    NotFound,
    PermissionDenied,
    ServiceError,
    Unavailable,
)
from .feedback import Accepted, FeedbackService, assessment_id_for
from .model import (
    IngestionState,
    JsonValue,
    Judgment,
    JudgmentKind,
    SourceType,
    StoredAssessment,
    TraceTarget,
)
from .scorers import JudgeFactory, LlmJudgeScorer, Scorer, ScoringError, TokenF1Scorer
from .validation import (
    MAX_MESSAGE_CHARS,
    MAX_RATIONALE_CHARS,
    MAX_TEXT_CHARS,
    Violations,
)

if TYPE_CHECKING:
    from ..mlflow_gateway import MlflowGateway
    from .chat import ChatService
    from .traces import TraceRegistry

log = logging.getLogger(__name__)

# --- bounds (review_service.proto states the same numbers) ---------------------------------

MAX_INSTRUCTIONS_CHARS = 1_000  # MLflow's bound
MAX_OPTIONS = 10  # MLflow's bound
MAX_OPTION_CHARS = 64  # MLflow's bound
MAX_PASS_FAIL_LABEL_CHARS = 64  # MLflow's bound
MAX_SESSION_SCHEMAS = 16
MAX_REVIEWERS = 10  # MLflow's bound
MAX_REVIEWER_CHARS = 250  # MLflow's bound
MAX_LABELS = 16
MAX_COMMENT_CHARS = MAX_RATIONALE_CHARS
MAX_ADD_TRACES = 500
DEFAULT_QUERY_TRACES, MAX_QUERY_TRACES = 100, 1_000
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
MAX_PAGE_TOKEN_CHARS = 1_024
DEFAULT_LEASE_S, MIN_LEASE_S, MAX_LEASE_S = 600.0, 30.0, 3_600.0
DEFAULT_EVAL_ITEMS, MAX_EVAL_ITEMS = 100, 1_000
MAX_CONTENT_CHARS = 32_768
DEFAULT_EXPECTATION_NAME = "expected_response"
DEFAULT_SCORE_NAME = "correctness"
RESERVED_SCHEMA_NAME = "feedback"  # MLflow's built-in question "Feedback", any case
DEFAULT_POSITIVE_LABEL, DEFAULT_NEGATIVE_LABEL = "Pass", "Fail"

_ITEMS_PAGE = 500  # items per MLflow list call
_MAX_ITEM_PAGES = 200  # at most 100,000 items read per scan
_ADD_CHUNK = 100  # traces per MLflow add call
_EVAL_CONCURRENCY = 4
_RESOLVE_CONCURRENCY = 8


# --- errors (mapped by errors.py's table through their base classes) ------------------------


class NotAReviewer(PermissionDenied):
    reason = "NOT_A_REVIEWER"


class ItemComplete(FailedPrecondition):
    reason = "REVIEW_ITEM_COMPLETE"


class ItemDeclined(FailedPrecondition):
    reason = "REVIEW_ITEM_DECLINED"


class ItemLeased(FailedPrecondition):
    reason = "REVIEW_ITEM_LEASED"


class SchemaInUse(FailedPrecondition):
    reason = "LABEL_SCHEMA_IN_USE"


class BuiltinSchema(FailedPrecondition):
    reason = "LABEL_SCHEMA_BUILTIN"


class JudgeNotConfigured(FailedPrecondition):
    reason = "LLM_JUDGE_NOT_CONFIGURED"


# --- types shared with the MLflow gateway ----------------------------------------------------


class InputKind(enum.StrEnum):
    PASS_FAIL = "pass_fail"
    CATEGORICAL = "categorical"
    NUMERIC = "numeric"
    TEXT = "text"


@dataclass(frozen=True)
class LabelInputSpec:
    """The typed input of a label schema (only the fields of its kind are meaningful)."""

    kind: InputKind
    positive_label: str = ""
    negative_label: str = ""
    options: tuple[str, ...] = ()
    multi_select: bool = False
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None

    @property
    def text_limit(self) -> int:
        return min(self.max_length or MAX_TEXT_CHARS, MAX_TEXT_CHARS)


@dataclass(frozen=True)
class LabelSchemaSpec:
    """A label schema: as requested (no `schema_id`) or as stored in MLflow."""

    name: str
    kind: JudgmentKind
    input: LabelInputSpec
    instructions: str = ""
    enable_comment: bool = False
    schema_id: str = ""
    builtin: bool = False
    create_time_ms: int = 0
    update_time_ms: int = 0

    def same_definition(self, other: LabelSchemaSpec) -> bool:
        return (self.name, self.kind, self.input, self.instructions, self.enable_comment) == (
            other.name,
            other.kind,
            other.input,
            other.instructions,
            other.enable_comment,
        )


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETE = "complete"
    DECLINED = "declined"


@dataclass(frozen=True)
class ReviewQueueRecord:
    """An MLflow review queue (a review session)."""

    queue_id: str
    name: str
    users: tuple[str, ...]
    schema_ids: tuple[str, ...]
    custom: bool = True  # False for MLflow's per-user queues
    create_time_ms: int = 0
    update_time_ms: int = 0


@dataclass(frozen=True)
class ReviewItemRecord:
    """One item of an MLflow review queue."""

    trace_id: str
    status: ItemStatus
    completed_by: str = ""


@dataclass(frozen=True)
class TraceContent:
    """What a reviewer reads: the trace's root inputs and outputs, as stored."""

    trace_id: str
    inputs: JsonValue
    outputs: JsonValue
    request_preview: str
    response_preview: str
    timestamp_ms: int
    client_request_id: str


# --- checks used by the servicer and the catalog --------------------------------------------


def normalize_reviewer(reviewer: str) -> str:
    """MLflow stores reviewer IDs stripped and in lower case."""
    return reviewer.strip().lower()


def check_reviewer(v: Violations, path: str, reviewer: str) -> str:
    normalized = normalize_reviewer(reviewer)
    if not normalized:
        v.add(path, "is required")
    else:
        v.text(path, normalized, max_chars=MAX_REVIEWER_CHARS)
    return normalized


def check_schema_name(v: Violations, path: str, name: str) -> None:
    if not name:
        v.add(path, "is required")
        return
    v.name(path, name)
    if name.lower() == RESERVED_SCHEMA_NAME:
        v.add(path, "is reserved by MLflow for the experiment's built-in question")


def check_session_name(v: Violations, path: str, name: str) -> None:
    if not name:
        v.add(path, "is required")
    else:
        v.name(path, name)


def check_page(v: Violations, page_size: int, page_token: str) -> int:
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        v.add("page_size", f"must be from 1 to {MAX_PAGE_SIZE} (0 means {DEFAULT_PAGE_SIZE})")
    if len(page_token) > MAX_PAGE_TOKEN_CHARS or not page_token.isprintable():
        v.add("page_token", "is not a token returned by this service")
    return page_size or DEFAULT_PAGE_SIZE


def check_lease(v: Violations, seconds: float | None) -> float:
    if seconds is None:
        return DEFAULT_LEASE_S
    if not MIN_LEASE_S <= seconds <= MAX_LEASE_S:
        v.add("lease_duration", f"must be from {MIN_LEASE_S:g} s to {MAX_LEASE_S:g} s")
        return DEFAULT_LEASE_S
    return seconds


def check_schema_spec(v: Violations, spec: LabelSchemaSpec, prefix: str = "label_schema") -> None:
    """Checks a schema to create (MLflow's own rules, reported with our field paths)."""
    check_schema_name(v, f"{prefix}.name", spec.name)
    v.text(f"{prefix}.instructions", spec.instructions, max_chars=MAX_INSTRUCTIONS_CHARS)
    inp, path = spec.input, f"{prefix}.input"
    if inp.kind is InputKind.PASS_FAIL:
        for sub, label in (
            ("positive_label", inp.positive_label),
            ("negative_label", inp.negative_label),
        ):
            v.text(
                f"{path}.pass_fail.{sub}", label, max_chars=MAX_PASS_FAIL_LABEL_CHARS, required=True
            )
        if inp.positive_label == inp.negative_label:
            v.add(f"{path}.pass_fail", "positive_label and negative_label must differ")
    elif inp.kind is InputKind.CATEGORICAL:
        options = inp.options
        if not 1 <= len(options) <= MAX_OPTIONS:
            v.add(f"{path}.categorical.options", f"must have 1 to {MAX_OPTIONS} options")
        for i, option in enumerate(options):
            v.text(
                f"{path}.categorical.options[{i}]",
                option,
                max_chars=MAX_OPTION_CHARS,
                required=True,
            )
            if option != option.strip():
                v.add(f"{path}.categorical.options[{i}]", "must not start or end with spaces")
        duplicates = sorted(o for o, n in Counter(options).items() if n > 1)
        if duplicates:
            v.add(f"{path}.categorical.options", f"must be distinct ({duplicates[0]!r} repeats)")
    elif inp.kind is InputKind.NUMERIC:
        for sub, bound in (("min_value", inp.min_value), ("max_value", inp.max_value)):
            if bound is not None:
                v.number(f"{path}.numeric.{sub}", bound)
        lo, hi = inp.min_value, inp.max_value
        if (
            lo is not None
            and hi is not None
            and math.isfinite(lo)
            and math.isfinite(hi)
            and lo >= hi
        ):
            v.add(f"{path}.numeric", "min_value must be less than max_value")
    elif inp.kind is InputKind.TEXT:
        if inp.max_length is not None and not 1 <= inp.max_length <= MAX_TEXT_CHARS:
            v.add(
                f"{path}.text.max_length",
                f"must be from 1 to {MAX_TEXT_CHARS} (0 means {MAX_TEXT_CHARS})",
            )


def label_problem(schema: LabelSchemaSpec, value: JsonValue) -> str | None:
    """Why `value` does not fit `schema`'s input, or None when it does."""
    inp, name = schema.input, schema.name
    if inp.kind is InputKind.PASS_FAIL:
        if not isinstance(value, bool):
            return f"label schema {name!r} is pass/fail: the value must be a boolean"
        return None
    if inp.kind is InputKind.NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"label schema {name!r} is numeric: the value must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        if inp.min_value is not None and value < inp.min_value:
            return f"label schema {name!r} accepts numbers from {_range(inp)} (got {value:g})"
        if inp.max_value is not None and value > inp.max_value:
            return f"label schema {name!r} accepts numbers from {_range(inp)} (got {value:g})"
        return None
    if inp.kind is InputKind.TEXT:
        if not isinstance(value, str):
            return f"label schema {name!r} is free text: the value must be text"
        if not value.strip():
            return "must not be empty"
        if len(value) > inp.text_limit:
            return f"label schema {name!r} accepts at most {inp.text_limit} characters"
        return None
    allowed = ", ".join(repr(o) for o in inp.options)
    if inp.multi_select:
        if not isinstance(value, list) or not value:
            return (
                f"label schema {name!r} is multi-select: the value must be a non-empty "
                f"list of options ({allowed})"
            )
        if not all(isinstance(x, str) for x in value):
            return f"label schema {name!r} accepts only options ({allowed})"
        unknown = [x for x in value if x not in inp.options]
        if unknown:
            return f"{str(unknown[0])!r} is not an option of label schema {name!r} ({allowed})"
        if len(set(value)) != len(value):
            return "must not repeat an option"
        return None
    if not isinstance(value, str):
        return f"label schema {name!r} is categorical: the value must be one option ({allowed})"
    if value not in inp.options:
        return f"{value[:64]!r} is not an option of label schema {name!r} ({allowed})"
    return None


def _range(inp: LabelInputSpec) -> str:
    lo = "-inf" if inp.min_value is None else f"{inp.min_value:g}"
    hi = "+inf" if inp.max_value is None else f"{inp.max_value:g}"
    return f"{lo} to {hi}"


# --- the label schema cache (and enforcement hook) -------------------------------------------


class SchemaCatalog:
    """The experiment's label schemas, cached for `ttl_s` seconds.

    Enforcement (`violations`) never waits on a slow MLflow: a stale list is used
    while a refresh runs in the background; with no list at all it waits at most
    `cold_wait_s`, then lets the judgment through unchecked. After a failed refresh
    it does not try again for `retry_s` seconds, and after a cold wait that timed out
    no write waits for `retry_s` seconds.
    """

    def __init__(
        self,
        gateway: MlflowGateway,
        *,
        ttl_s: float = 10.0,
        cold_wait_s: float = 0.5,
        retry_s: float = 5.0,
    ) -> None:
        self._gateway = gateway
        self._ttl_s = ttl_s
        self._cold_wait_s = cold_wait_s
        self._retry_s = retry_s
        self._by_name: dict[str, LabelSchemaSpec] | None = None
        self._loaded_at = -math.inf
        self._failed_at = -math.inf
        self._no_wait_until = -math.inf
        self._refresh: asyncio.Task[dict[str, LabelSchemaSpec]] | None = None
        self._generation = 0

    # --- authoritative reads (RPCs) ----------------------------------------------------

    async def load(self, *, fresh: bool = False) -> dict[str, LabelSchemaSpec]:
        """The schemas by name: cached when younger than the TTL, else read from MLflow
        (raises `Unavailable` when MLflow cannot answer)."""
        if not fresh and self._by_name is not None and self._age() < self._ttl_s:
            return self._by_name
        return await asyncio.shield(self._start_refresh())

    async def get(self, name: str) -> LabelSchemaSpec | None:
        schemas = await self.load()
        if name not in schemas:
            schemas = await self.load(fresh=True)
        return schemas.get(name)

    async def by_ids(self, schema_ids: Sequence[str]) -> list[LabelSchemaSpec]:
        """The schemas with these IDs, in order; IDs of deleted schemas are skipped."""
        schemas = await self.load()
        by_id = {s.schema_id: s for s in schemas.values()}
        if any(i not in by_id for i in schema_ids):
            by_id = {s.schema_id: s for s in (await self.load(fresh=True)).values()}
        return [by_id[i] for i in schema_ids if i in by_id]

    def put(self, schema: LabelSchemaSpec) -> None:
        """Records a schema this replica just created (enforced at once)."""
        if self._by_name is not None:
            self._by_name = {**self._by_name, schema.name: schema}
        self._generation += 1

    def drop(self, name: str) -> None:
        if self._by_name is not None:
            self._by_name = {k: s for k, s in self._by_name.items() if k != name}
        self._generation += 1

    # --- enforcement (FeedbackService.label_checker) -----------------------------------

    async def violations(
        self, checks: Sequence[tuple[str, str, JsonValue]]
    ) -> list[FieldViolation]:
        schemas = await self._for_enforcement()
        if not schemas:
            return []
        out: list[FieldViolation] = []
        for path, name, value in checks:
            schema = schemas.get(name)
            if schema is not None:
                problem = label_problem(schema, value)
                if problem:
                    out.append(FieldViolation(path, problem))
        return out

    async def _for_enforcement(self) -> dict[str, LabelSchemaSpec] | None:
        if self._by_name is not None and self._age() < self._ttl_s:
            return self._by_name
        if time.monotonic() - self._failed_at < self._retry_s:
            return self._by_name
        task = self._start_refresh()
        if self._by_name is not None:
            return self._by_name  # stale while the refresh runs
        if time.monotonic() < self._no_wait_until:
            return None  # a cold wait just timed out: do not make every write wait
        try:
            await asyncio.wait_for(asyncio.shield(task), self._cold_wait_s)
        except Exception:
            self._no_wait_until = time.monotonic() + self._retry_s
        if self._by_name is None:
            log.warning("label schemas unknown (MLflow unreachable): judgment accepted unchecked")
        return self._by_name

    # --- refresh -------------------------------------------------------------------------

    def _age(self) -> float:
        return time.monotonic() - self._loaded_at

    def _start_refresh(self) -> asyncio.Task[dict[str, LabelSchemaSpec]]:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._do_refresh())
            self._refresh.add_done_callback(_consume_exception)
        return self._refresh

    async def _do_refresh(self) -> dict[str, LabelSchemaSpec]:
        generation = self._generation
        started = time.monotonic()
        try:
            schemas = await self._gateway.list_all_label_schemas()
        except Unavailable:
            self._failed_at = time.monotonic()
            raise
        by_name = {s.name: s for s in schemas}
        if generation == self._generation or self._by_name is None:
            self._by_name = by_name
            self._loaded_at = started
        else:
            # A create or delete on this replica raced the read: keep the read, but
            # read again on next use.
            self._by_name = by_name
            self._loaded_at = -math.inf
        return by_name


def _consume_exception(task: asyncio.Task[dict[str, LabelSchemaSpec]]) -> None:
    if not task.cancelled():
        task.exception()


# --- leases --------------------------------------------------------------------------------


@dataclass
class Lease:
    reviewer: str
    expires_at: float  # time.monotonic()
    expire_time_ms: int  # wall clock, for callers


class LeaseTable:
    """Which reviewer works on which pending item, until when. Every method is
    synchronous: called from the event loop, each is atomic."""

    def __init__(
        self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._leases: dict[tuple[str, str], Lease] = {}
        self._max = max_entries
        self._clock = clock

    def holder(self, queue_id: str, trace_id: str) -> Lease | None:
        lease = self._leases.get((queue_id, trace_id))
        if lease is not None and lease.expires_at <= self._clock():
            del self._leases[(queue_id, trace_id)]
            return None
        return lease

    def acquire(self, queue_id: str, trace_id: str, reviewer: str, ttl_s: float) -> Lease | None:
        """Leases the item to `reviewer` (renewing their own lease); None when another
        reviewer holds it."""
        current = self.holder(queue_id, trace_id)
        if current is not None and current.reviewer != reviewer:
            return None
        if len(self._leases) >= self._max:
            self._prune()
        lease = Lease(reviewer, self._clock() + ttl_s, int((time.time() + ttl_s) * 1000))
        self._leases[(queue_id, trace_id)] = lease
        return lease

    def release(self, queue_id: str, trace_id: str) -> None:
        self._leases.pop((queue_id, trace_id), None)

    def held_by(self, queue_id: str, reviewer: str) -> list[str]:
        return [t for (q, t), lease in self.live(queue_id).items() if lease.reviewer == reviewer]

    def live(self, queue_id: str) -> dict[tuple[str, str], Lease]:
        now = self._clock()
        return {
            key: lease
            for key, lease in self._leases.items()
            if key[0] == queue_id and lease.expires_at > now
        }

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, lease in self._leases.items() if lease.expires_at <= now]:
            del self._leases[key]


# --- results of the service ----------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """A review session: its MLflow queue and its label schemas, in order."""

    queue: ReviewQueueRecord
    schemas: tuple[LabelSchemaSpec, ...]

    @property
    def name(self) -> str:
        return self.queue.name


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


# --- the service ---------------------------------------------------------------------------


class ReviewService:
    def __init__(
        self,
        gateway: MlflowGateway,
        feedback: FeedbackService,
        chat: ChatService,
        registry: TraceRegistry,
        catalog: SchemaCatalog,
        *,
        judge_factory: JudgeFactory | None = None,
        query_max_scan: int = 10_000,
    ) -> None:
        self._gateway = gateway
        self._feedback = feedback
        self._chat = chat
        self._registry = registry
        self.catalog = catalog
        self._judge_factory = judge_factory
        self._query_max_scan = query_max_scan
        self.leases = LeaseTable()
        self._item_locks = _KeyedLocks()

    # --- label schemas -------------------------------------------------------------------

    async def create_schema(self, spec: LabelSchemaSpec) -> LabelSchemaSpec:
        existing = await self._gateway.get_label_schema(spec.name)
        if existing is None:
            try:
                created = await self._gateway.create_label_schema(spec)
            except AlreadyExists:
                existing = await self._gateway.get_label_schema(spec.name)
            else:
                self.catalog.put(created)
                return created
        if existing is not None and existing.same_definition(spec):
            self.catalog.put(existing)
            return existing
        raise AlreadyExists("label_schema", spec.name)

    async def get_schema(self, name: str) -> LabelSchemaSpec:
        schema = await self._gateway.get_label_schema(name)
        if schema is None:
            raise NotFound("label_schema", name)
        return schema

    async def list_schemas(
        self, page_size: int, page_token: str
    ) -> tuple[list[LabelSchemaSpec], str]:
        return await self._gateway.list_label_schemas(page_size, page_token or None)

    async def delete_schema(self, name: str, *, force: bool) -> str:
        schema = await self.get_schema(name)
        if schema.builtin:
            raise BuiltinSchema(f"label schema {name!r} is MLflow's built-in question")
        if not force:
            async for queue in self._all_queues():
                if schema.schema_id in queue.schema_ids:
                    raise SchemaInUse(
                        f"label schema {name!r} is used by review session {queue.name!r}; "
                        "set force to delete it anyway"
                    )
        await self._gateway.delete_label_schema(schema.schema_id)
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
        existing = await self._gateway.get_review_queue(name)
        if existing is None:
            try:
                queue = await self._gateway.create_review_queue(name, list(reviewers), schema_ids)
            except AlreadyExists:
                existing = await self._gateway.get_review_queue(name)
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
        queue = await self._gateway.get_review_queue(name)
        if queue is None or not queue.custom:
            raise NotFound("review_session", name)
        return _session(queue, await self.catalog.by_ids(queue.schema_ids))

    async def list_sessions(
        self, reviewer: str, page_size: int, page_token: str
    ) -> tuple[list[Session], str]:
        queues, token = await self._gateway.list_review_queues(
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
            rows, truncated = await self._gateway.scan_traces(
                query.start_ms, query.end_ms, self._query_max_scan
            )
            matched = [
                r.trace_id
                for r in rows
                if query.feedback is None or _has_feedback(r.assessments, query.feedback)
            ]
            trace_ids = matched[: query.max_traces]
            matched_count = len(matched)
        else:
            trace_ids = await self._resolve_all(targets)
            matched_count = len(trace_ids)
        items: list[ReviewItemRecord] = []
        for start in range(0, len(trace_ids), _ADD_CHUNK):
            chunk = trace_ids[start : start + _ADD_CHUNK]
            items += await self._gateway.add_review_items(session.queue.queue_id, chunk)
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
            item = await self._gateway.review_item(queue_id, trace_id)
            if item is not None and item.status is ItemStatus.PENDING:
                lease = self.leases.acquire(queue_id, trace_id, reviewer, lease_s)
                if lease is not None:
                    return session, await self._item_view(trace_id, lease)
            self.leases.release(queue_id, trace_id)
        # Otherwise the first pending item nobody holds (acquire is atomic in the loop).
        token: str | None = None
        for _ in range(_MAX_ITEM_PAGES):
            page, next_token = await self._gateway.list_review_items(
                queue_id, ItemStatus.PENDING, _ITEMS_PAGE, token
            )
            for item in page:
                lease = self.leases.acquire(queue_id, item.trace_id, reviewer, lease_s)
                if lease is not None:
                    return session, await self._item_view(item.trace_id, lease)
            if not next_token:
                break
            token = next_token
        return session, None

    async def _item_view(self, trace_id: str, lease: Lease) -> ItemView:
        content = await self._gateway.trace_content(trace_id)
        try:
            _, assessments = await self._feedback.list_feedback(TraceTarget(trace_id=trace_id))
        except NotFound:
            assessments = []
        return ItemView(
            trace_id=trace_id,
            request=_content_text(content.inputs, content.request_preview) if content else "",
            response=_content_text(content.outputs, content.response_preview) if content else "",
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
        async with self._item_locks.hold((queue_id, trace_id)):
            item = await self._gateway.review_item(queue_id, trace_id)
            if item is None:
                raise NotFound(
                    "review_item", trace_id, f"trace {trace_id} is not an item of session {name!r}"
                )
            if item.status is ItemStatus.COMPLETE:
                if item.completed_by == reviewer:
                    replay = await self._replayed(trace_id, judgments, request_id)
                    if replay is not None:
                        return replay
                raise ItemComplete(f"the item {trace_id} of session {name!r} is already complete")
            if item.status is ItemStatus.DECLINED:
                raise ItemDeclined(f"the item {trace_id} of session {name!r} was declined")
            holder = self.leases.holder(queue_id, trace_id)
            if holder is not None and holder.reviewer != reviewer:
                raise ItemLeased(f"the item {trace_id} is leased to another reviewer")
            accepted = await self._feedback.log_judgments(judgments)
            await self._gateway.set_review_item_status(
                queue_id, trace_id, ItemStatus.COMPLETE, reviewer
            )
            self.leases.release(queue_id, trace_id)
        return _submitted(trace_id, judgments, accepted)

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
        return Submitted(
            trace_id,
            [(j.name, j.kind, j.assessment_id) for j in judgments],
            state,
            request_id,
        )

    async def decline(self, name: str, reviewer: str, trace_id: str) -> ReviewItemRecord:
        session = await self.get_session(name)
        self._require_reviewer(session, reviewer)
        queue_id = session.queue.queue_id
        async with self._item_locks.hold((queue_id, trace_id)):
            item = await self._gateway.review_item(queue_id, trace_id)
            if item is None:
                raise NotFound(
                    "review_item", trace_id, f"trace {trace_id} is not an item of session {name!r}"
                )
            if item.status is ItemStatus.COMPLETE:
                raise ItemComplete(f"the item {trace_id} of session {name!r} is already complete")
            if item.status is ItemStatus.DECLINED:
                return item
            holder = self.leases.holder(queue_id, trace_id)
            if holder is not None and holder.reviewer != reviewer:
                raise ItemLeased(f"the item {trace_id} is leased to another reviewer")
            declined = await self._gateway.set_review_item_status(
                queue_id, trace_id, ItemStatus.DECLINED, reviewer
            )
            self.leases.release(queue_id, trace_id)
        return declined

    async def progress(self, name: str) -> Progress:
        session = await self.get_session(name)
        queue_id = session.queue.queue_id
        items = await self._items(queue_id, None, limit=_ITEMS_PAGE * _MAX_ITEM_PAGES)
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
        self,
        name: str,
        *,
        scorer_kind: ScorerKind,
        threshold: float,
        expectation_name: str,
        feedback_name: str,
        max_items: int,
    ) -> AsyncGenerator[EvalProgress | EvalResult, None]:
        """Progress per item (in completion order), then the result (session order)."""
        session = await self.get_session(name)
        scorer = self._scorer(scorer_kind)
        try:
            items = await self._items(session.queue.queue_id, ItemStatus.COMPLETE, limit=max_items)
            run_id = uuid.uuid4().hex
            limit = asyncio.Semaphore(_EVAL_CONCURRENCY)

            async def one(trace_id: str) -> EvalItem:
                async with limit:
                    return await self._evaluate_item(
                        session,
                        trace_id,
                        run_id,
                        scorer,
                        threshold,
                        expectation_name,
                        feedback_name,
                    )

            tasks = [asyncio.ensure_future(one(i.trace_id)) for i in items]
            results: dict[str, EvalItem] = {}
            try:
                for done, next_result in enumerate(asyncio.as_completed(tasks), start=1):
                    result = await next_result
                    results[result.source_trace_id] = result
                    yield EvalProgress(done, len(tasks), result)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            ordered = [results[i.trace_id] for i in items]
            scored = [r for r in ordered if r.status is EvalStatus.SCORED]
            passed = sum(r.passed for r in scored)
            yield EvalResult(
                items=ordered,
                scored=len(scored),
                passed=passed,
                skipped=sum(r.status is EvalStatus.SKIPPED for r in ordered),
                failed=sum(r.status is EvalStatus.FAILED for r in ordered),
                pass_rate=passed / len(scored) if scored else 0.0,
                scorer=scorer_kind,
                threshold=threshold,
                feedback_name=feedback_name,
            )
        finally:
            await scorer.aclose()

    def _scorer(self, kind: ScorerKind) -> Scorer:
        if kind is ScorerKind.TOKEN_F1:
            return TokenF1Scorer()
        if self._judge_factory is None:
            raise JudgeNotConfigured(
                "no LLM judge is configured: set FEEDBACK_OPENAI_BASE_URL and FEEDBACK_OPENAI_MODEL"
            )
        return LlmJudgeScorer(self._judge_factory())

    async def _evaluate_item(
        self,
        session: Session,
        trace_id: str,
        run_id: str,
        scorer: Scorer,
        threshold: float,
        expectation_name: str,
        feedback_name: str,
    ) -> EvalItem:
        try:
            _, assessments = await self._feedback.list_feedback(TraceTarget(trace_id=trace_id))
        except NotFound:
            return EvalItem(trace_id, EvalStatus.FAILED, error="the trace no longer exists")
        expected = _latest_expectation(assessments, expectation_name)
        if expected is None:
            return EvalItem(
                trace_id, EvalStatus.SKIPPED, error=f"no {expectation_name!r} expectation"
            )
        expected_text = _clip(_as_text(expected))
        content = await self._gateway.trace_content(trace_id)
        request = _content_text(content.inputs, content.request_preview) if content else ""
        base = EvalItem(trace_id, EvalStatus.FAILED, request=request, expected=expected_text)
        if not request.strip():
            return _with(base, error="the trace has no request to answer again")
        turn = ChatTurn(
            message=request[:MAX_MESSAGE_CHARS],
            client_request_id=f"eval-{uuid.uuid4().hex[:16]}",
            session_id=f"eval-{run_id}",
            metadata={
                "feedback.eval.run": run_id,
                "feedback.eval.review_session": session.name,
                "feedback.eval.source_trace_id": trace_id,
            },
        )
        try:
            active = await self._chat.begin(turn, rpc="EvaluateSession", admission_timeout_s=30.0)
        except ServiceError as exc:
            return _with(base, error=exc.message)
        try:
            answer = await active.run()
        except ServiceError as exc:
            return _with(base, trace_id=active.trace_id, error=exc.message)
        base = _with(base, trace_id=answer.trace_id, response=_clip(answer.response))
        try:
            score = await scorer.score(
                request=request,
                response=answer.response,
                expected=expected_text,
                threshold=threshold,
            )
        except ScoringError as exc:
            return _with(base, error=str(exc))
        except ServiceError as exc:
            return _with(base, error=exc.message)
        target = TraceTarget(trace_id=answer.trace_id)
        judgment = Judgment(
            assessment_id=assessment_id_for("EvaluateSession", run_id, target, feedback_name),
            request_id=run_id,
            kind=JudgmentKind.FEEDBACK,
            target=target,
            name=feedback_name,
            value=score.value,
            source_type=scorer.source_type,
            source_id=scorer.name,
            rationale=score.rationale,
            metadata={
                "passed": "true" if score.passed else "false",
                "threshold": f"{threshold:g}",
                "expectation_name": expectation_name,
                "review_session": session.name,
                "source_trace_id": trace_id,
                "eval_run": run_id,
            },
            created_ms=int(time.time() * 1000),
        )
        accepted = await self._feedback.log_judgments([judgment])
        return _with(
            base,
            status=EvalStatus.SCORED,
            score=score.value,
            passed=score.passed,
            rationale=score.rationale,
            assessment_id=accepted.assessment_ids[0],
        )

    # --- helpers -----------------------------------------------------------------------------

    def _require_reviewer(self, session: Session, reviewer: str) -> None:
        if reviewer not in session.queue.users:
            raise NotAReviewer(f"{reviewer!r} is not a reviewer of session {session.name!r}")

    async def _items(
        self, queue_id: str, status: ItemStatus | None, *, limit: int
    ) -> list[ReviewItemRecord]:
        items: list[ReviewItemRecord] = []
        token: str | None = None
        while len(items) < limit:
            page, next_token = await self._gateway.list_review_items(
                queue_id, status, min(_ITEMS_PAGE, limit - len(items)), token
            )
            items += page
            if not next_token:
                break
            token = next_token
        return items[:limit]

    async def _all_queues(self) -> AsyncIterator[ReviewQueueRecord]:
        token: str | None = None
        for _ in range(_MAX_ITEM_PAGES):
            page, next_token = await self._gateway.list_review_queues(None, MAX_PAGE_SIZE, token)
            for queue in page:
                yield queue
            if not next_token:
                return
            token = next_token


# --- pure helpers ----------------------------------------------------------------------------


def _session(queue: ReviewQueueRecord, schemas: Iterable[LabelSchemaSpec]) -> Session:
    """MLflow keeps a queue's schema IDs as a set: schemas are shown by creation time."""
    return Session(queue, tuple(sorted(schemas, key=lambda s: (s.create_time_ms, s.name))))


def _content_key(queue_id: str, trace_id: str, reviewer: str, labels: Mapping[str, LabelIn]) -> str:
    parts = [[name, labels[name].value, labels[name].comment] for name in sorted(labels)]
    content = json.dumps([queue_id, trace_id, reviewer, parts], default=str)
    return "auto-" + hashlib.sha256(content.encode()).hexdigest()[:32]


def _submitted(trace_id: str, judgments: Iterable[Judgment], accepted: Accepted) -> Submitted:
    return Submitted(
        trace_id,
        [(j.name, j.kind, j.assessment_id) for j in judgments],
        accepted.state,
        accepted.request_id,
    )


def _with(item: EvalItem, **changes: Any) -> EvalItem:
    return replace(item, **changes)


def _has_feedback(assessments: Iterable[StoredAssessment], match: FeedbackMatchSpec) -> bool:
    return any(
        a.valid
        and not a.error
        and a.kind is JudgmentKind.FEEDBACK
        and a.name == match.name
        and _same_value(a.value, match.value)
        for a in assessments
    )


def _same_value(stored: JsonValue, wanted: JsonValue) -> bool:
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return isinstance(stored, bool) and isinstance(wanted, bool) and stored == wanted
    if isinstance(wanted, int | float):
        return isinstance(stored, int | float) and float(stored) == float(wanted)
    return isinstance(stored, str) and stored == wanted


def _latest_expectation(assessments: Iterable[StoredAssessment], name: str) -> JsonValue | None:
    found = [
        a
        for a in assessments
        if a.kind is JudgmentKind.EXPECTATION and a.name == name and a.valid and a.value is not None
    ]
    if not found:
        return None
    return max(found, key=lambda a: a.create_time_ms).value


def _as_text(value: JsonValue) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _content_text(value: JsonValue, preview: str) -> str:
    """A trace's inputs or outputs as the text a person reads.

    Chat turns of this service store `{"message": ...}` / `{"response": ...}`; other
    applications often store one string field, a string, OpenAI chat messages or an
    OpenAI completion. Anything else is shown as JSON."""
    text = _extract_text(value)
    if text is None:
        text = preview if value is None else _as_text(value)
    return _clip(text)


def _extract_text(value: JsonValue) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        strings = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and strings:
            return strings[0]
        for key in ("message", "response", "question", "query", "input", "output", "answer"):
            if isinstance(value.get(key), str):
                return str(value[key])
        messages = value.get("messages")
        if isinstance(messages, list):
            users = [
                m.get("content")
                for m in messages
                if isinstance(m, dict) and m.get("role") == "user"
            ]
            if users and isinstance(users[-1], str):
                return users[-1]
        choices = value.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                return str(message["content"])
        if len(value) == 1:
            return _extract_text(next(iter(value.values())))
    return None


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS]
