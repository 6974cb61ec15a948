"""Records of review shared with the MLflow adapter: label schemas, review queues and
their items, trace content."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..model import JsonValue, JudgmentKind
from ..validation import MAX_TEXT_CHARS


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

    def fields(self) -> dict[str, Any]:
        """The fields of this kind, named as in the input messages of both
        review_service.proto and MLflow's label schemas (`label_input` reads them back)."""
        if self.kind is InputKind.PASS_FAIL:
            return {"positive_label": self.positive_label, "negative_label": self.negative_label}
        if self.kind is InputKind.CATEGORICAL:
            return {"options": list(self.options), "multi_select": self.multi_select}
        if self.kind is InputKind.NUMERIC:
            return {"min_value": self.min_value, "max_value": self.max_value}
        return {"max_length": self.max_length}


def label_input(
    which: str | None,
    *,
    positive_label: str = "",
    negative_label: str = "",
    options: Sequence[str] = (),
    multi_select: bool = False,
    min_value: float | None = None,
    max_value: float | None = None,
    max_length: int | None = None,
) -> LabelInputSpec | None:
    """The input of the kind `which` names (the field set in a label input's oneof:
    pass_fail, categorical, numeric or text), keeping only that kind's fields; None when
    `which` names no kind. Both converters of label schemas (gRPC and MLflow) build
    their inputs here."""
    if which == InputKind.PASS_FAIL:
        return LabelInputSpec(
            InputKind.PASS_FAIL, positive_label=positive_label, negative_label=negative_label
        )
    if which == InputKind.CATEGORICAL:
        return LabelInputSpec(
            InputKind.CATEGORICAL, options=tuple(options), multi_select=bool(multi_select)
        )
    if which == InputKind.NUMERIC:
        return LabelInputSpec(InputKind.NUMERIC, min_value=min_value, max_value=max_value)
    if which == InputKind.TEXT:
        return LabelInputSpec(InputKind.TEXT, max_length=max_length)
    return None


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


@dataclass(frozen=True)
class Session:
    """A review session: its MLflow queue and its label schemas, in order."""

    queue: ReviewQueueRecord
    schemas: tuple[LabelSchemaSpec, ...]

    @property
    def name(self) -> str:
        return self.queue.name
