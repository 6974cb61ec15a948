"""The chart's README lists every value with its default, and values.schema.json describes
every value: neither can fall behind values.yaml."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.deploy.conftest import CHART, values_yaml


def leaves(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths of values.yaml: maps are walked, lists and empty maps are values."""
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def readme_rows() -> dict[str, str]:
    """`| `path` | `default` | meaning |` rows of the README: path -> the default's text."""
    rows: dict[str, str] = {}
    for line in (CHART / "README.md").read_text().splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        assert len(cells) == 3, f"a row with {len(cells)} cells: {line}"
        path, default, meaning = cells
        assert path.startswith("`") and default.startswith("`"), line
        assert meaning, f"{path} has no meaning"
        assert path not in rows, f"{path} is listed twice"
        rows[path.strip("`")] = default[1:-1]
    return rows


def test_readme_lists_every_value_with_its_default() -> None:
    rows = readme_rows()
    values = dict(leaves(values_yaml()))
    assert sorted(set(values) - set(rows)) == [], "values missing from the README table"
    assert sorted(set(rows) - set(values)) == [], "README rows of values that do not exist"
    wrong = {p: (rows[p], json.dumps(v)) for p, v in values.items() if json.loads(rows[p]) != v}
    assert wrong == {}, "README default != values.yaml default"


def schema_at(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for key in path.split("."):
        if node is None or node.get("type") != "object" or "properties" not in node:
            return node  # a free-form map (resources, annotations, ...) holds anything
        node = node["properties"].get(key)
    return node


def test_schema_describes_every_value_and_accepts_the_defaults() -> None:
    import jsonschema

    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.validate(values_yaml(), schema)
    for path, _ in leaves(values_yaml()):
        node = schema_at(schema, path)
        assert node is not None, f"{path} is not in values.schema.json"
        assert node.get("description"), f"{path} has no description in the schema"


def test_schema_has_no_value_that_values_yaml_lacks() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = values_yaml()

    def walk(node: dict[str, Any], at: dict[str, Any], prefix: str) -> Iterator[str]:
        for key, sub in node.get("properties", {}).items():
            if key not in at:
                yield prefix + key
            elif sub.get("type") == "object" and "properties" in sub:
                yield from walk(sub, at[key], f"{prefix}{key}.")

    assert list(walk(schema, values, "")) == []
    assert schema["additionalProperties"] is False
