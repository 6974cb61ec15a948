"""Input checks of review requests: reviewers, session names, pages, leases."""

from __future__ import annotations

from ..validation import Violations
from .bounds import (
    DEFAULT_LEASE_S,
    DEFAULT_PAGE_SIZE,
    MAX_LEASE_S,
    MAX_PAGE_SIZE,
    MAX_PAGE_TOKEN_CHARS,
    MAX_REVIEWER_CHARS,
    MIN_LEASE_S,
)


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
