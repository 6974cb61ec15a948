"""The caller's `traceparent` (W3C Trace Context): what parses, and what is ignored."""

from __future__ import annotations

import logging

import pytest
from feedback_server.domain.trace_parent import TraceParent, parse_traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("header", "flags"),
    [
        (f"00-{TRACE}-{SPAN}-01", 1),
        (f"00-{TRACE}-{SPAN}-00", 0),
        (f" 00-{TRACE}-{SPAN}-01 ", 1),
        (f"01-{TRACE}-{SPAN}-01-future-fields", 1),  # a later version may add fields
    ],
)
def test_valid_traceparents_parse(header: str, flags: int) -> None:
    assert parse_traceparent(header) == TraceParent(TRACE, SPAN, flags)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"00-{TRACE}-{SPAN}",  # no flags
        f"00-{TRACE.upper()}-{SPAN}-01",  # upper-case hex
        f"00-{'0' * 32}-{SPAN}-01",  # invalid trace ID
        f"00-{TRACE}-{'0' * 16}-01",  # invalid span ID
        f"ff-{TRACE}-{SPAN}-01",  # forbidden version
        f"00-{TRACE}-{SPAN}-01-extra",  # version 00 has four fields
        f"00-{TRACE[:-1]}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-0g",
        f"00-{TRACE}-{SPAN}-01" + "-x" * 400,  # oversized
    ],
)
def test_invalid_traceparents_are_ignored_and_logged_at_debug(
    header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="feedback_server.domain.trace_parent"):
        assert parse_traceparent(header) is None
    if header:
        assert [r.levelno for r in caplog.records] == [logging.DEBUG]


def test_a_trace_parent_writes_back_as_its_header() -> None:
    assert TraceParent(TRACE, SPAN, 1).header == f"00-{TRACE}-{SPAN}-01"
