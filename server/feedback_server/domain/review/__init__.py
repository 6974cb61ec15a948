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

Modules: `ports` (`ReviewStore`, the MLflow calls review makes, and the service parts
it uses), `records` (what the MLflow adapter reads and writes), `bounds`, `checks` and
`schemas` (input rules), `catalog` (the schema cache), `leases`, `sessions`
(`ReviewService`: schemas, sessions, items, the reviewers' loop), `evaluation`
(`SessionEvaluator`), `paging` (the one pager over MLflow's lists), `text` (trace
content as text), `errors`.
"""

from __future__ import annotations

from .bounds import (
    DEFAULT_EVAL_ITEMS,
    DEFAULT_EXPECTATION_NAME,
    DEFAULT_LEASE_S,
    DEFAULT_NEGATIVE_LABEL,
    DEFAULT_PAGE_SIZE,
    DEFAULT_POSITIVE_LABEL,
    DEFAULT_QUERY_TRACES,
    DEFAULT_SCORE_NAME,
    MAX_ADD_TRACES,
    MAX_COMMENT_CHARS,
    MAX_CONTENT_CHARS,
    MAX_EVAL_ITEMS,
    MAX_INSTRUCTIONS_CHARS,
    MAX_LABELS,
    MAX_LEASE_S,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_PAGE_SIZE,
    MAX_PAGE_TOKEN_CHARS,
    MAX_PASS_FAIL_LABEL_CHARS,
    MAX_QUERY_TRACES,
    MAX_REVIEWER_CHARS,
    MAX_REVIEWERS,
    MAX_SESSION_SCHEMAS,
    MIN_LEASE_S,
    RESERVED_SCHEMA_NAME,
)
from .catalog import SchemaCatalog
from .checks import check_lease, check_page, check_reviewer, check_session_name, normalize_reviewer
from .errors import (
    BuiltinSchema,
    ItemComplete,
    ItemDeclined,
    ItemLeased,
    JudgeNotConfigured,
    NotAReviewer,
    SchemaInUse,
)
from .evaluation import (
    EvalItem,
    EvalOptions,
    EvalProgress,
    EvalResult,
    EvalStatus,
    ScorerKind,
    SessionEvaluator,
)
from .leases import Lease, LeaseTable
from .ports import ChatRunner, ExportWaiter, FeedbackWriter, ReviewStore
from .records import (
    InputKind,
    ItemStatus,
    LabelInputSpec,
    LabelSchemaSpec,
    ReviewItemRecord,
    ReviewQueueRecord,
    Session,
    TraceContent,
    label_input,
)
from .schemas import check_schema_name, check_schema_spec, label_problem
from .sessions import (
    AddedItems,
    FeedbackMatchSpec,
    ItemView,
    LabelIn,
    Progress,
    ReviewerCounts,
    ReviewService,
    Submitted,
    TraceQuerySpec,
)

__all__ = [
    "DEFAULT_EVAL_ITEMS",
    "DEFAULT_EXPECTATION_NAME",
    "DEFAULT_LEASE_S",
    "DEFAULT_NEGATIVE_LABEL",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_POSITIVE_LABEL",
    "DEFAULT_QUERY_TRACES",
    "DEFAULT_SCORE_NAME",
    "MAX_ADD_TRACES",
    "MAX_COMMENT_CHARS",
    "MAX_CONTENT_CHARS",
    "MAX_EVAL_ITEMS",
    "MAX_INSTRUCTIONS_CHARS",
    "MAX_LABELS",
    "MAX_LEASE_S",
    "MAX_OPTIONS",
    "MAX_OPTION_CHARS",
    "MAX_PAGE_SIZE",
    "MAX_PAGE_TOKEN_CHARS",
    "MAX_PASS_FAIL_LABEL_CHARS",
    "MAX_QUERY_TRACES",
    "MAX_REVIEWERS",
    "MAX_REVIEWER_CHARS",
    "MAX_SESSION_SCHEMAS",
    "MIN_LEASE_S",
    "RESERVED_SCHEMA_NAME",
    "AddedItems",
    "BuiltinSchema",
    "ChatRunner",
    "EvalItem",
    "EvalOptions",
    "EvalProgress",
    "EvalResult",
    "EvalStatus",
    "ExportWaiter",
    "FeedbackMatchSpec",
    "FeedbackWriter",
    "InputKind",
    "ItemComplete",
    "ItemDeclined",
    "ItemLeased",
    "ItemStatus",
    "ItemView",
    "JudgeNotConfigured",
    "LabelIn",
    "LabelInputSpec",
    "LabelSchemaSpec",
    "Lease",
    "LeaseTable",
    "NotAReviewer",
    "Progress",
    "ReviewItemRecord",
    "ReviewQueueRecord",
    "ReviewService",
    "ReviewStore",
    "ReviewerCounts",
    "SchemaCatalog",
    "SchemaInUse",
    "ScorerKind",
    "Session",
    "SessionEvaluator",
    "Submitted",
    "TraceContent",
    "TraceQuerySpec",
    "check_lease",
    "check_page",
    "check_reviewer",
    "check_schema_name",
    "check_schema_spec",
    "check_session_name",
    "label_input",
    "label_problem",
    "normalize_reviewer",
]
