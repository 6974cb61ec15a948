"""Input checks of label schemas, and of label values against a schema."""

from __future__ import annotations

import math
from collections import Counter

from ..model import JsonValue
from ..validation import MAX_TEXT_CHARS, Violations
from .bounds import (
    MAX_INSTRUCTIONS_CHARS,
    MAX_OPTION_CHARS,
    MAX_OPTIONS,
    MAX_PASS_FAIL_LABEL_CHARS,
    RESERVED_SCHEMA_NAME,
)
from .records import InputKind, LabelInputSpec, LabelSchemaSpec


def check_schema_name(v: Violations, path: str, name: str) -> None:
    if not name:
        v.add(path, "is required")
        return
    v.name(path, name)
    if name.lower() == RESERVED_SCHEMA_NAME:
        v.add(path, "is reserved by MLflow for the experiment's built-in question")


def check_schema_spec(v: Violations, spec: LabelSchemaSpec, prefix: str = "label_schema") -> None:
    """Checks a schema to create (MLflow's own rules, reported with our field paths)."""
    check_schema_name(v, f"{prefix}.name", spec.name)
    v.text(f"{prefix}.instructions", spec.instructions, max_chars=MAX_INSTRUCTIONS_CHARS)
    inp, path = spec.input, f"{prefix}.input"
    if inp.kind is InputKind.PASS_FAIL:
        for sub, label in (
            ("positive_label", inp.positive_label),
            ("negative_label", inp.negative_label),
        ):
            v.text(
                f"{path}.pass_fail.{sub}", label, max_chars=MAX_PASS_FAIL_LABEL_CHARS, required=True
            )
        if inp.positive_label == inp.negative_label:
            v.add(f"{path}.pass_fail", "positive_label and negative_label must differ")
    elif inp.kind is InputKind.CATEGORICAL:
        options = inp.options
        if not 1 <= len(options) <= MAX_OPTIONS:
            v.add(f"{path}.categorical.options", f"must have 1 to {MAX_OPTIONS} options")
        for i, option in enumerate(options):
            v.text(
                f"{path}.categorical.options[{i}]",
                option,
                max_chars=MAX_OPTION_CHARS,
                required=True,
            )
            if option != option.strip():
                v.add(f"{path}.categorical.options[{i}]", "must not start or end with spaces")
        duplicates = sorted(o for o, n in Counter(options).items() if n > 1)
        if duplicates:
            v.add(f"{path}.categorical.options", f"must be distinct ({duplicates[0]!r} repeats)")
    elif inp.kind is InputKind.NUMERIC:
        for sub, bound in (("min_value", inp.min_value), ("max_value", inp.max_value)):
            if bound is not None:
                v.number(f"{path}.numeric.{sub}", bound)
        lo, hi = inp.min_value, inp.max_value
        if (
            lo is not None
            and hi is not None
            and math.isfinite(lo)
            and math.isfinite(hi)
            and lo >= hi
        ):
            v.add(f"{path}.numeric", "min_value must be less than max_value")
    elif inp.kind is InputKind.TEXT:
        if inp.max_length is not None and not 1 <= inp.max_length <= MAX_TEXT_CHARS:
            v.add(
                f"{path}.text.max_length",
                f"must be from 1 to {MAX_TEXT_CHARS} (0 means {MAX_TEXT_CHARS})",
            )


def label_problem(schema: LabelSchemaSpec, value: JsonValue) -> str | None:
    """Why `value` does not fit `schema`'s input, or None when it does."""
    inp, name = schema.input, schema.name
    if inp.kind is InputKind.PASS_FAIL:
        if not isinstance(value, bool):
            return f"label schema {name!r} is pass/fail: the value must be a boolean"
        return None
    if inp.kind is InputKind.NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"label schema {name!r} is numeric: the value must be a number"
        if not math.isfinite(value):
            return "must be a finite number"
        if inp.min_value is not None and value < inp.min_value:
            return f"label schema {name!r} accepts numbers from {_range(inp)} (got {value:g})"
        if inp.max_value is not None and value > inp.max_value:
            return f"label schema {name!r} accepts numbers from {_range(inp)} (got {value:g})"
        return None
    if inp.kind is InputKind.TEXT:
        if not isinstance(value, str):
            return f"label schema {name!r} is free text: the value must be text"
        if not value.strip():
            return "must not be empty"
        if len(value) > inp.text_limit:
            return f"label schema {name!r} accepts at most {inp.text_limit} characters"
        return None
    allowed = ", ".join(repr(o) for o in inp.options)
    if inp.multi_select:
        if not isinstance(value, list) or not value:
            return (
                f"label schema {name!r} is multi-select: the value must be a non-empty "
                f"list of options ({allowed})"
            )
        if not all(isinstance(x, str) for x in value):
            return f"label schema {name!r} accepts only options ({allowed})"
        unknown = [x for x in value if x not in inp.options]
        if unknown:
            return f"{str(unknown[0])!r} is not an option of label schema {name!r} ({allowed})"
        if len(set(value)) != len(value):
            return "must not repeat an option"
        return None
    if not isinstance(value, str):
        return f"label schema {name!r} is categorical: the value must be one option ({allowed})"
    if value not in inp.options:
        return f"{value[:64]!r} is not an option of label schema {name!r} ({allowed})"
    return None


def _range(inp: LabelInputSpec) -> str:
    lo = "-inf" if inp.min_value is None else f"{inp.min_value:g}"
    hi = "+inf" if inp.max_value is None else f"{inp.max_value:g}"
    return f"{lo} to {hi}"
