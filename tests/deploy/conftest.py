"""Fixtures of the chart's tests: the pinned helm, the CRDs, and renders of the chart.

    helm        session   path of helm (deploy/tools.sh builds it into var/tools on first use)
    crd_dir     session   folder of the Istio and prometheus-operator CRDs (deploy/tools.sh)
    render      session   render(*values_files, **set) -> the chart's objects (cached)
    scenarios   session   {name: objects} for the defaults and each file of values/

Every test under tests/deploy is marked `deploy` (`pytest -m deploy`, `make test-deploy`).
The first run builds helm (`go install`, 3 to 5 minutes on 2 cores with cold Go caches,
about 10 s with warm ones); later runs find it in var/tools.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "feedback-service"
VALUES_DIR = Path(__file__).with_name("values")
#: The one value without a default.
REQUIRED = {"mlflow.trackingUri": "http://mlflow.mlflow.svc.cluster.local:5000"}
RELEASE = "fb"
NAMESPACE = "feedback"

Obj = dict[str, Any]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.deploy)
            # The first test to use helm builds it: 3 to 5 minutes on 2 cold cores.
            item.add_marker(pytest.mark.timeout(900))


def tool(name: str) -> str:
    out = subprocess.run(
        ["bash", str(REPO / "deploy" / "tools.sh"), name],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return out.stdout.strip()


@pytest.fixture(scope="session")
def helm() -> str:
    return tool("helm")


@pytest.fixture(scope="session")
def crd_dir() -> Path:
    return Path(tool("crds"))


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120)


def set_args(values: dict[str, str]) -> list[str]:
    """`--set-json` of each value: JSON scalars (numbers, true, false) keep their type, any
    other text is a string (commas included)."""
    args = []
    for key, value in values.items():
        try:
            json.loads(value)
        except ValueError:
            value = json.dumps(value)
        args += ["--set-json", f"{key}={value}"]
    return args


@pytest.fixture(scope="session")
def render(helm: str) -> Callable[..., list[Obj]]:
    @cache
    def _render(*files: str, **values: str) -> list[Obj]:
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        for f in files:
            args += ["-f", str(VALUES_DIR / f)]
        out = run_helm(helm, *args, *set_args({**REQUIRED, **values}))
        assert out.returncode == 0, out.stderr
        return [doc for doc in yaml.safe_load_all(out.stdout) if doc]

    def render_(*files: str, **values: str) -> list[Obj]:
        # A deep copy per call: tests may change what they get.
        return yaml.safe_load(yaml.safe_dump(_render(*files, **values)))

    return render_


def scenario_files() -> list[str]:
    return sorted(p.name for p in VALUES_DIR.glob("*.yaml"))


@pytest.fixture(scope="session")
def scenarios(render: Callable[..., list[Obj]]) -> dict[str, list[Obj]]:
    """The defaults, and each values file (together they turn every option on)."""
    return {"defaults": render(), **{f: render(f) for f in scenario_files()}}


def find(objects: list[Obj], kind: str, name: str | None = None) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def kinds(objects: list[Obj]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def server_container(objects: list[Obj]) -> Obj:
    pod = find(objects, "StatefulSet")["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "server"]
    return container


def env_of(objects: list[Obj]) -> dict[str, Any]:
    """The server container's environment: name -> value, or the valueFrom mapping."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in server_container(objects)["env"]}


def values_yaml() -> Obj:
    loaded: Obj = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded
