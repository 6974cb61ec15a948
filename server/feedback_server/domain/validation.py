"""Input rules and their documented bounds (the protos' comments state the same numbers).

Every check collects `FieldViolation`s with the request's field path, so one
`INVALID_ARGUMENT` names every bad field at once. Nothing here touches MLflow:
input is rejected before any write.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ..errors import FieldViolation, InvalidArgument

MAX_MESSAGE_CHARS = 32_768
#: user_id, session_id, source.id: MLflow stores an assessment's source ID and a trace's
#: session ID in columns of 250 characters (a longer one fails in MLflow after it was
#: acknowledged here, on PostgreSQL).
MAX_ID_CHARS = 250
MAX_CLIENT_REQUEST_ID_CHARS = 50  # MLflow's column holds 50
MAX_REQUEST_ID_CHARS = 64
MAX_NAME_CHARS = 64
MAX_RATIONALE_CHARS = 8_192
MAX_TEXT_CHARS = 8_192
MAX_CATEGORY_CHARS = 256
MAX_STRUCTURED_BYTES = 16_384
MAX_STRUCTURED_DEPTH = 8
MAX_METADATA_ENTRIES = 32
MAX_METADATA_KEY_CHARS = 128
MAX_METADATA_VALUE_CHARS = 1_024
MAX_RATING_DIMENSIONS = 16
MAX_DIMENSION_CHARS = 48
MIN_SCALE, MAX_SCALE, DEFAULT_SCALE = 2, 10, 5

TRACE_ID_RE = re.compile(r"tr-[0-9a-f]{32}")
SPAN_ID_RE = re.compile(r"[0-9a-f]{16}")
# No quotes, spaces or backslashes: safe inside a quoted MLflow filter literal.
CLIENT_REQUEST_ID_RE = re.compile(
    rf"[A-Za-z0-9][A-Za-z0-9._:@+=-]{{0,{MAX_CLIENT_REQUEST_ID_CHARS - 1}}}"
)
REQUEST_ID_RE = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_REQUEST_ID_CHARS}}}")
NAME_RE = re.compile(rf"[A-Za-z][A-Za-z0-9_.-]{{0,{MAX_NAME_CHARS - 1}}}")
DIMENSION_RE = re.compile(rf"[a-z][a-z0-9_]{{0,{MAX_DIMENSION_CHARS - 1}}}")
METADATA_KEY_RE = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_METADATA_KEY_CHARS}}}")
# Longer input is refused before any pattern is tried (no ID or name is this long).
_MAX_PATTERN_INPUT_CHARS = 256
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Violations:
    """Collects field violations; `raise_if_any()` ends validation of one request."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)

    # --- reusable checks -------------------------------------------------------------

    def text(self, field: str, value: str, *, max_chars: int, required: bool = False) -> None:
        if not value:
            if required:
                self.add(field, "is required")
            return
        if len(value) > max_chars:
            self.add(field, f"must be at most {max_chars} characters (got {len(value)})")
        elif _CONTROL_RE.search(value):
            self.add(field, "must not contain control characters")

    def filter_value(self, field: str, value: str, *, max_chars: int) -> None:
        """A value an MLflow filter compares with: text, quoted by the gateway with the
        quote it does not contain (MLflow's filters have no escapes), so not both."""
        self.text(field, value, max_chars=max_chars)
        if "'" in value and '"' in value:
            self.add(field, "must not contain both single and double quotes")

    def pattern(self, field: str, value: str, regex: re.Pattern[str], rule: str) -> None:
        if len(value) > _MAX_PATTERN_INPUT_CHARS or not regex.fullmatch(value):
            self.add(field, f"must match {rule}")

    def trace_id(self, field: str, value: str) -> None:
        self.pattern(field, value, TRACE_ID_RE, "^tr-[0-9a-f]{32}$")

    def client_request_id(self, field: str, value: str) -> None:
        self.pattern(
            field,
            value,
            CLIENT_REQUEST_ID_RE,
            f"1-{MAX_CLIENT_REQUEST_ID_CHARS} characters of [A-Za-z0-9._:@+=-]",
        )

    def span_id(self, field: str, value: str) -> None:
        if value:
            self.pattern(field, value, SPAN_ID_RE, "16 lowercase hexadecimal characters")

    def request_id(self, field: str, value: str) -> None:
        if value:
            rule = f"1-{MAX_REQUEST_ID_CHARS} characters of [A-Za-z0-9._:-]"
            self.pattern(field, value, REQUEST_ID_RE, rule)

    def name(self, field: str, value: str) -> None:
        self.pattern(
            field,
            value,
            NAME_RE,
            f"1-{MAX_NAME_CHARS} characters of [A-Za-z0-9_.-] starting with a letter",
        )

    def metadata(self, field: str, value: Mapping[str, str]) -> None:
        if len(value) > MAX_METADATA_ENTRIES:
            self.add(field, f"must have at most {MAX_METADATA_ENTRIES} entries")
            return
        for key, item in value.items():
            if not METADATA_KEY_RE.fullmatch(key) or key.startswith("mlflow."):
                self.add(
                    f"{field}[{key[:64]!r}]",
                    f"keys are 1-{MAX_METADATA_KEY_CHARS} characters of [A-Za-z0-9._-],"
                    " not starting with 'mlflow.'",
                )
            elif len(item) > MAX_METADATA_VALUE_CHARS:
                self.add(
                    f"{field}[{key!r}]", f"values are at most {MAX_METADATA_VALUE_CHARS} characters"
                )

    def structured(self, field: str, value: Any, *, allow_null: bool = False) -> None:
        if value is None and not allow_null:
            self.add(field, "is required (null is not a value)")
            return
        if _depth(value) > MAX_STRUCTURED_DEPTH:
            self.add(field, f"must be nested at most {MAX_STRUCTURED_DEPTH} levels deep")
            return
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=True).encode())
        if size > MAX_STRUCTURED_BYTES:
            self.add(field, f"must be at most {MAX_STRUCTURED_BYTES} bytes as JSON (got {size})")
        elif _has_non_finite(value):
            self.add(field, "numbers must be finite")

    def number(self, field: str, value: float) -> None:
        if not math.isfinite(value):
            self.add(field, "must be a finite number")


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_STRUCTURED_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False
