"""Bounds and defaults of review requests (review_service.proto states the same numbers)."""

from __future__ import annotations

from ..validation import MAX_RATIONALE_CHARS

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
