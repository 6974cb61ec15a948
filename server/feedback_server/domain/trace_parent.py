"""The caller's trace context: a W3C `traceparent` (https://www.w3.org/TR/trace-context/).

The edge reads the `traceparent` header (gRPC metadata, or the HTTP header on the HTTP
port) into a `TraceParent`; the chat servicer hands it to the domain, and the gateway makes
it the parent of the turn's MLflow trace: one distributed trace from the caller through
this service. A header that does not parse is ignored (logged at debug), never an error.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

TRACEPARENT_HEADER = "traceparent"

# version "-" trace-id "-" parent-id "-" trace-flags; a future version may append fields.
_TRACEPARENT = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-(?P<span_id>[0-9a-f]{16})"
    r"-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?"
)
_MAX_HEADER_CHARS = 512


@dataclass(frozen=True, slots=True)
class TraceParent:
    """A span of another process that a turn's trace continues (lower-case hex IDs)."""

    trace_id: str  # 32 hex digits, not all zero
    span_id: str  # 16 hex digits, not all zero
    flags: int = 1  # W3C trace flags; bit 0: sampled

    @property
    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The trace parent of a `traceparent` header, or None when it is absent or invalid."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip()) if len(value) <= _MAX_HEADER_CHARS else None
    if match is None or not _valid(match):
        log.debug("ignoring an invalid traceparent header %.80r", value)
        return None
    return TraceParent(match["trace_id"], match["span_id"], int(match["flags"], 16))


def _valid(match: re.Match[str]) -> bool:
    version = match["version"]
    if version == "ff":  # forbidden by the specification
        return False
    if version == "00" and match["rest"] is not None:  # version 00 has exactly four fields
        return False
    return match["trace_id"] != "0" * 32 and match["span_id"] != "0" * 16
