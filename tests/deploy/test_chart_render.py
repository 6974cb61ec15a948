"""The chart lints, renders with the defaults and with every option on, and every object it
renders is valid for Kubernetes (its own OpenAPI schemas, offline, strict: unknown fields
are errors) and for the CRDs of Istio and prometheus-operator."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import (
    CHART,
    REQUIRED,
    VALUES_DIR,
    Obj,
    run_helm,
    scenario_files,
    set_args,
)

#: The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest known.
KUBERNETES_VERSIONS = ("1.27.0", "1.37.0")


def test_chart_lints_strict_with_defaults_and_every_scenario(helm: str) -> None:
    for files in ([], *[[f] for f in scenario_files()]):
        args = [a for f in files for a in ("-f", str(VALUES_DIR / f))]
        out = run_helm(helm, "lint", "--strict", str(CHART), *args, *set_args(REQUIRED))
        assert out.returncode == 0, f"{files}: {out.stdout}{out.stderr}"


def test_tracking_uri_is_required_with_a_clear_message(helm: str) -> None:
    out = run_helm(helm, "template", "fb", str(CHART))
    assert out.returncode != 0
    assert "mlflow.trackingUri is required" in out.stderr
    assert "--set mlflow.trackingUri=" in out.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"replicaCount": "two"}, "replicaCount"),
        ({"server.grpcPort": "70000"}, "grpcPort"),
        ({"server.logFormat": "xml"}, "logFormat"),
        ({"chat.backend": "llama"}, "backend"),
        ({"persistence.size": "lots"}, "size"),
        ({"shutdown.marginSeconds": "0"}, "marginSeconds"),
        ({"metrics.prometheusRule.positiveRate.threshold": "1.5"}, "threshold"),
        ({"istio.virtualService.writeRetries.retryOn": "5xx,deadline-exceeded"}, "retryOn"),
        ({"unknownValue": "x"}, "unknownValue"),
    ],
)
def test_schema_refuses_bad_values(helm: str, values: dict[str, str], message: str) -> None:
    out = run_helm(helm, "template", "fb", str(CHART), *set_args({**REQUIRED, **values}))
    assert out.returncode != 0, f"{values} was accepted"
    assert message in out.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"istio.enabled": "true", "linkerd.enabled": "true"}, "exclusive"),
        (
            {
                "tls.enabled": "true",
                "tls.existingSecret": "t",
                "istio.destinationRule.enabled": "true",
            },
            "cannot read when the server terminates TLS",
        ),
        ({"tls.enabled": "true"}, "tls.enabled needs tls.existingSecret"),
        ({"tls.clientAuth.enabled": "true"}, "needs tls.enabled"),
        ({"chat.backend": "openai"}, "needs chat.openai.baseUrl"),
        ({"spool.maxBytes": "2147483648"}, "must be below persistence.size"),
        ({"metrics.serviceMonitor.enabled": "true", "server.metricsPort": "0"}, "metricsPort"),
    ],
)
def test_inconsistent_values_fail_with_a_message(
    helm: str, values: dict[str, str], message: str
) -> None:
    out = run_helm(helm, "template", "fb", str(CHART), *set_args({**REQUIRED, **values}))
    assert out.returncode != 0, f"{values} was accepted"
    assert message in out.stderr


def test_every_template_renders_in_some_scenario(helm: str) -> None:
    """With the defaults and the files of values/, every template file yields an object, so
    the validation below sees every option."""
    templates = {p.name for p in (CHART / "templates").glob("*.yaml")}
    rendered_from = {
        line.removeprefix("# Source: feedback-service/templates/")
        for files in ([], *[[f] for f in scenario_files()])
        for line in template_text(helm, files).splitlines()
        if line.startswith("# Source: ")
    }
    assert templates <= rendered_from, f"never rendered: {templates - rendered_from}"


def template_text(helm: str, files: list[str]) -> str:
    args = [a for f in files for a in ("-f", str(VALUES_DIR / f))]
    out = run_helm(helm, "template", "fb", str(CHART), *args, *set_args(REQUIRED))
    assert out.returncode == 0, out.stderr
    return out.stdout


def all_objects(scenarios: dict[str, list[Obj]]) -> Iterator[tuple[str, Obj]]:
    for name, objects in scenarios.items():
        for o in objects:
            yield f"{name}: {o['kind']}/{o['metadata']['name']}", o


def test_every_object_is_valid_for_kubernetes(
    scenarios: dict[str, list[Obj]], crd_schema: Callable[[Obj], dict[str, Any] | None]
) -> None:
    checked = 0
    for label, obj in all_objects(scenarios):
        if crd_schema(obj) is not None:
            continue
        for version in KUBERNETES_VERSIONS:
            errors = kubernetes_errors(obj, version)
            assert not errors, f"{label} (Kubernetes {version}): {errors}"
        checked += 1
    assert checked >= 20


def test_every_custom_resource_is_valid_for_its_crd(
    scenarios: dict[str, list[Obj]], crd_schema: Callable[[Obj], dict[str, Any] | None]
) -> None:
    checked = set()
    for label, obj in all_objects(scenarios):
        schema = crd_schema(obj)
        if schema is None:
            continue
        errors = crd_errors(schema, obj)
        assert not errors, f"{label}: {errors}"
        checked.add(obj["kind"])
    assert checked == {"ServiceMonitor", "PrometheusRule", "DestinationRule", "VirtualService"}


def test_the_validators_catch_broken_objects(
    scenarios: dict[str, list[Obj]], crd_schema: Callable[[Obj], dict[str, Any] | None]
) -> None:
    """Negative controls: the checks above fail on a typo'd field or a wrong type."""
    objects = scenarios["mesh-istio.yaml"]
    sts = copy.deepcopy(next(o for o in objects if o["kind"] == "StatefulSet"))
    sts["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 40
    assert kubernetes_errors(sts, KUBERNETES_VERSIONS[0])
    sts = copy.deepcopy(next(o for o in objects if o["kind"] == "StatefulSet"))
    sts["spec"]["template"]["spec"]["containers"][0]["startupProbe"]["grpc"]["port"] = "grpc"
    assert kubernetes_errors(sts, KUBERNETES_VERSIONS[0])
    dr = copy.deepcopy(next(o for o in objects if o["kind"] == "DestinationRule"))
    dr["spec"]["trafficPolicy"]["loadBalancer"]["consistentHash"]["httpHeader"] = "x"
    assert crd_errors(crd_schema(dr) or {}, dr)
    vs = copy.deepcopy(next(o for o in objects if o["kind"] == "VirtualService"))
    vs["spec"]["http"][0]["retries"]["attempts"] = "none"
    assert crd_errors(crd_schema(vs) or {}, vs)


def kubernetes_errors(obj: Obj, version: str) -> str:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{exc.message} at {'.'.join(map(str, exc.path))}"
    return ""


def crd_errors(schema: dict[str, Any], obj: Obj) -> list[str]:
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
    validator = jsonschema.Draft7Validator(schema)
    return [f"{e.message} at {'.'.join(map(str, e.path))}" for e in validator.iter_errors(body)]


def strict(schema: Any) -> Any:
    """A CRD's structural schema, made strict: an object with known properties and no
    `additionalProperties` or `x-kubernetes-preserve-unknown-fields` refuses other fields
    (the API server would drop them, kubectl --validate=strict refuses them). The top-level
    apiVersion, kind and metadata are checked separately."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.fixture(scope="session")
def crd_schema(crd_dir: Path) -> Callable[[Obj], dict[str, Any] | None]:
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(crd_dir.glob("*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = version["schema"]["openAPIV3Schema"]
                spec_schema = {
                    "type": "object",
                    "properties": {
                        k: v
                        for k, v in schema.get("properties", {}).items()
                        if k not in ("apiVersion", "kind", "metadata")
                    },
                }
                schemas[(f"{group}/{version['name']}", kind)] = strict(spec_schema)

    def lookup(obj: Obj) -> dict[str, Any] | None:
        group = obj["apiVersion"].rpartition("/")[0]
        if "." not in group or group.endswith(".k8s.io"):
            return None  # a built-in API group
        key = (obj["apiVersion"], obj["kind"])
        assert key in schemas, f"no CRD for {key} in {crd_dir}"
        return schemas[key]

    return lookup
