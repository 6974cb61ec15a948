"""Review's errors: the edge maps them through their base classes (`feedback_server/errors.py`)."""

from __future__ import annotations

from ...errors import FailedPrecondition, PermissionDenied


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
