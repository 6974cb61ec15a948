"""Plain Python types of expert review (`feedback.v1.ReviewService`; no protobuf here)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

from ._types import Assessment, AssessmentKind, FeedbackInput, IngestionState

#: gRPC metadata key carrying the session of a review call, so that a mesh can route one
#: session's calls to one replica (its leases live there): hash on this header.
REVIEW_SESSION_METADATA_KEY = "x-review-session"


class LabelSchemaType(enum.Enum):
    """Whether labels judge the answer (feedback) or give the ground truth (expectation)."""

    UNSPECIFIED = 0
    FEEDBACK = 1
    EXPECTATION = 2


@dataclass(frozen=True)
class PassFail:
    """A yes/no question; its labels are booleans."""

    positive_label: str = "Pass"
    negative_label: str = "Fail"


@dataclass(frozen=True)
class Categorical:
    """A choice among 1 to 10 options; labels are one option (str), or a list of options
    when `multi_select`."""

    options: Sequence[str]
    multi_select: bool = False


@dataclass(frozen=True)
class Numeric:
    """A number in an optional range (inclusive bounds)."""

    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class FreeText:
    """Free text of at most `max_length` characters (0: the service's bound, 8,192)."""

    max_length: int = 0


#: The typed input of a label schema.
LabelInput: TypeAlias = PassFail | Categorical | Numeric | FreeText


@dataclass(frozen=True)
class LabelSchema:
    """A named question experts answer (an MLflow label schema)."""

    name: str
    type: LabelSchemaType
    input: LabelInput
    instructions: str = ""
    enable_comment: bool = False
    schema_id: str = ""
    #: True for MLflow's built-in `Feedback` question.
    builtin: bool = False
    create_time: datetime | None = None
    update_time: datetime | None = None


@dataclass(frozen=True)
class ReviewSession:
    """Traces for experts to label (an MLflow review queue)."""

    name: str
    label_schemas: tuple[str, ...]
    #: Reviewer IDs, in lower case.
    reviewers: tuple[str, ...]
    session_id: str
    create_time: datetime | None = None
    update_time: datetime | None = None


class ReviewItemStatus(enum.Enum):
    UNSPECIFIED = 0
    PENDING = 1
    COMPLETE = 2
    DECLINED = 3


@dataclass(frozen=True)
class SessionItem:
    """One trace of a session and its status."""

    trace_id: str
    status: ReviewItemStatus
    #: The reviewer who completed or declined it; empty while pending.
    completed_by: str = ""


@dataclass(frozen=True)
class AddedItems:
    """The result of `add_session_items()` / `add_session_items_matching()`."""

    items: tuple[SessionItem, ...]
    matched_count: int
    #: True when the query's window held more traces than the service scans at once.
    truncated: bool = False


@dataclass(frozen=True)
class ReviewItem:
    """An item leased to a reviewer, with what they need to label it."""

    trace_id: str
    request: str
    response: str
    #: Every assessment already on the trace (end-user feedback included), oldest first.
    assessments: tuple[Assessment, ...]
    trace_time: datetime | None
    client_request_id: str
    lease_expire_time: datetime | None


@dataclass(frozen=True)
class NextItem:
    """The answer of `next_item()`: the item (None when no pending item is free) and the
    label schemas to fill in."""

    item: ReviewItem | None
    label_schemas: tuple[LabelSchema, ...] = field(default=())


@dataclass(frozen=True)
class Label:
    """A label with a comment (plain values may be passed to `submit_labels()` directly)."""

    value: FeedbackInput
    comment: str = ""


@dataclass(frozen=True)
class LabelResult:
    name: str
    kind: AssessmentKind
    assessment_id: str


@dataclass(frozen=True)
class LabelsResult:
    """The acknowledgement of `submit_labels()`."""

    trace_id: str
    results: tuple[LabelResult, ...]
    state: IngestionState
    status: ReviewItemStatus
    request_id: str


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer: str
    complete_count: int
    declined_count: int
    leased_count: int


@dataclass(frozen=True)
class SessionProgress:
    total_count: int
    pending_count: int
    complete_count: int
    declined_count: int
    leased_count: int
    reviewers: tuple[ReviewerProgress, ...]


class Scorer(enum.Enum):
    """How `evaluate_session()` compares new answers with the expected responses."""

    UNSPECIFIED = 0
    #: Token F1 >= threshold (default 0.5); deterministic, no network.
    TOKEN_F1 = 1
    #: An LLM judge through the service's OpenAI-compatible backend.
    LLM_JUDGE = 2


class EvaluationItemStatus(enum.Enum):
    UNSPECIFIED = 0
    SCORED = 1
    SKIPPED = 2
    FAILED = 3


@dataclass(frozen=True)
class EvaluationItem:
    source_trace_id: str
    #: The new trace of the re-run turn (empty when skipped).
    trace_id: str
    status: EvaluationItemStatus
    request: str
    response: str
    expected_response: str
    score: float
    passed: bool
    rationale: str
    assessment_id: str
    error: str


@dataclass(frozen=True)
class EvaluationProgress:
    done_count: int
    total_count: int
    item: EvaluationItem


@dataclass(frozen=True)
class EvaluationResult:
    items: tuple[EvaluationItem, ...]
    scored_count: int
    passed_count: int
    skipped_count: int
    failed_count: int
    pass_rate: float
    scorer: Scorer
    threshold: float
    feedback_name: str
