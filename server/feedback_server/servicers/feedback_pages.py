"""ListFeedback's pages: at most `page_size` assessments, and never more bytes than the
response limit (`FEEDBACK_MAX_RESPONSE_BYTES`), whatever the trace holds.

A page token names the trace (and span) it continues and the last assessment listed, by
(creation time, assessment ID): the order of the list. A judgment stored between two pages
is listed on a later page, never twice and never skipped, as long as it sorts after the
last one listed (new judgments do). The token is opaque to callers: base64url of JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from feedback.v1 import feedback_service_pb2 as pb

from ..domain.model import StoredAssessment, TraceTarget
from ..domain.validation import Violations
from ..errors import InvalidArgument
from .convert import assessment_out

DEFAULT_PAGE_SIZE = MAX_PAGE_SIZE = 100
MAX_PAGE_TOKEN_CHARS = 1_024
# Room for the response's other fields and each entry's framing.
RESPONSE_OVERHEAD_BYTES = 1_024
ENTRY_OVERHEAD_BYTES = 8


@dataclass(frozen=True)
class PageRequest:
    size: int
    token: str


def page_in(v: Violations, request: pb.ListFeedbackRequest) -> PageRequest:
    size = request.page_size or DEFAULT_PAGE_SIZE
    if not 1 <= size <= MAX_PAGE_SIZE:
        v.add("page_size", f"must be from 1 to {MAX_PAGE_SIZE} (got {request.page_size})")
    if len(request.page_token) > MAX_PAGE_TOKEN_CHARS:
        v.add("page_token", f"must be at most {MAX_PAGE_TOKEN_CHARS} characters")
    return PageRequest(size, request.page_token)


def list_page_out(
    trace_id: str,
    target: TraceTarget,
    items: list[StoredAssessment],
    page: PageRequest,
    max_bytes: int,
) -> pb.ListFeedbackResponse:
    """One page of `items` (the trace's assessments, in any order)."""
    ordered = sorted(items, key=_key)
    if page.token:
        after = _read_token(page.token, trace_id, target.span_id or "")
        ordered = [a for a in ordered if _key(a) > after]
    response = pb.ListFeedbackResponse(trace_id=trace_id)
    budget = max_bytes - RESPONSE_OVERHEAD_BYTES
    for index, item in enumerate(ordered):
        if index == page.size:
            break
        message = assessment_out(item)
        cost = message.ByteSize() + ENTRY_OVERHEAD_BYTES
        if index > 0 and cost > budget:
            break  # the next page starts with it; a page always lists at least one
        budget -= cost
        response.assessments.append(message)
    listed = len(response.assessments)
    if listed < len(ordered):
        response.next_page_token = _token(trace_id, target.span_id or "", _key(ordered[listed - 1]))
    return response


def _key(a: StoredAssessment) -> tuple[int, str]:
    return (a.create_time_ms, a.assessment_id)


def _token(trace_id: str, span_id: str, after: tuple[int, str]) -> str:
    data = json.dumps([trace_id, span_id, after[0], after[1]], separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _read_token(token: str, trace_id: str, span_id: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        token_trace, token_span, ms, assessment_id = data
        if not (isinstance(ms, int) and isinstance(assessment_id, str)):
            raise ValueError
    except (ValueError, TypeError, binascii.Error):
        raise InvalidArgument.of("page_token", "is not a page token of ListFeedback") from None
    if (token_trace, token_span) != (trace_id, span_id):
        raise InvalidArgument.of("page_token", "is the page token of another target")
    return ms, assessment_id
