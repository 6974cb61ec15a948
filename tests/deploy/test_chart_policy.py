"""What the chart must do (issue: deploy it in a service mesh), one test per requirement, on
the rendered objects: each fails when the templates drop what it checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml
from feedback.v1 import chat_service_pb2, feedback_service_pb2, review_service_pb2
from feedback_client._review_types import REVIEW_SESSION_METADATA_KEY
from feedback_server.settings import Settings
from google.protobuf.descriptor import Descriptor

from tests.deploy.conftest import (
    CHART,
    NAMESPACE,
    RELEASE,
    REQUIRED,
    Obj,
    env_of,
    find,
    server_container,
    values_yaml,
)

Render = Callable[..., list[Obj]]
FULLNAME = f"{RELEASE}-feedback-service"
HEADLESS = f"{FULLNAME}-headless"
HOST = f"{FULLNAME}.{NAMESPACE}.svc.cluster.local"
DATA_DIR = "/var/lib/feedback"


def pod_spec(objects: list[Obj]) -> Obj:
    spec: Obj = find(objects, "StatefulSet")["spec"]["template"]["spec"]
    return spec


def pod_annotations(objects: list[Obj]) -> dict[str, str]:
    meta = find(objects, "StatefulSet")["spec"]["template"]["metadata"]
    return dict(meta.get("annotations", {}))


def service(objects: list[Obj], name: str) -> Obj:
    return find(objects, "Service", name)


def mount_of(objects: list[Obj], path: str) -> tuple[Obj, Obj]:
    """(volumeMount, volume) of the server container holding `path`."""
    container = server_container(objects)
    for mount in container["volumeMounts"]:
        if PurePosixPath(path).is_relative_to(mount["mountPath"]):
            volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
            return mount, volumes.get(mount["name"], {"name": mount["name"]})
    raise AssertionError(f"nothing mounted at {path}")


# --- the StatefulSet and its storage -------------------------------------------------


def test_a_statefulset_with_a_volume_per_replica_for_the_spool(render: Render) -> None:
    objects = render()
    assert not [o for o in objects if o["kind"] in ("Deployment", "ReplicaSet", "DaemonSet")]
    sts = find(objects, "StatefulSet")
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert env_of(objects)["FEEDBACK_DATA_DIR"] == DATA_DIR
    mount, _ = mount_of(objects, DATA_DIR)
    assert mount["name"] == claim["metadata"]["name"] and not mount.get("readOnly")
    # The volumes (and what their spools still hold) outlive a scale-down and the release.
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
    }
    assert sts["spec"]["replicas"] == 2


def test_the_values_say_the_spool_needs_a_local_disk_not_nfs() -> None:
    text = (CHART / "values.yaml").read_text()
    block = text[: text.index("persistence:")].rsplit("\n\n", 1)[-1]
    assert "NFS" in block and "local disk" in block
    assert "not NFS" in (CHART / "README.md").read_text()


def test_without_persistence_the_spool_is_an_emptydir(render: Render) -> None:
    objects = render("linkerd-tls.yaml")
    sts = find(objects, "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    _, volume = mount_of(objects, DATA_DIR)
    assert "emptyDir" in volume


def test_spool_budget_is_80_percent_of_the_volume_unless_set(render: Render) -> None:
    assert env_of(render())["FEEDBACK_SPOOL_MAX_BYTES"] == str(2 * 1024**3 * 4 // 5)
    assert env_of(render(**{"persistence.size": "500M"}))["FEEDBACK_SPOOL_MAX_BYTES"] == str(
        400_000_000
    )
    assert env_of(render("mesh-istio.yaml"))["FEEDBACK_SPOOL_MAX_BYTES"] == str(4 * 1024**3)


# --- Services --------------------------------------------------------------------------


def test_headless_service_is_the_statefulsets_service(render: Render) -> None:
    objects = render()
    headless = service(objects, HEADLESS)
    assert headless["spec"]["clusterIP"] == "None"
    assert find(objects, "StatefulSet")["spec"]["serviceName"] == HEADLESS
    assert {p["name"] for p in headless["spec"]["ports"]} == {"grpc", "http", "metrics"}


def test_services_declare_app_protocols(render: Render) -> None:
    for name in (FULLNAME, HEADLESS):
        ports = {p["name"]: p for p in service(render(), name)["spec"]["ports"]}
        assert ports["grpc"]["appProtocol"] == "grpc"
        assert ports["http"]["appProtocol"] == "http"
    # TLS at the server: a mesh sees TLS, not cleartext HTTP/2.
    ports = {p["name"]: p for p in service(render("tls-made.yaml"), FULLNAME)["spec"]["ports"]}
    assert ports["grpc"]["appProtocol"] == "https" and ports["http"]["appProtocol"] == "https"
    # No HTTP port when it is off, on the Service and the container alike.
    objects = render("linkerd-tls.yaml")
    assert [p["name"] for p in service(objects, FULLNAME)["spec"]["ports"]] == ["grpc"]
    assert "http" not in {p["name"] for p in server_container(objects)["ports"]}
    assert env_of(objects)["FEEDBACK_HTTP_PORT"] == "0"


def test_services_select_the_pods_and_target_their_ports(render: Render) -> None:
    for scenario in ((), ("mesh-istio.yaml",), ("linkerd-tls.yaml",)):
        objects = render(*scenario)
        pod_labels = find(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
        container_ports = {
            p["name"]: p["containerPort"] for p in server_container(objects)["ports"]
        }
        for svc in (o for o in objects if o["kind"] == "Service"):
            assert svc["spec"]["selector"].items() <= pod_labels.items()
            for port in svc["spec"]["ports"]:
                assert port["targetPort"] in container_ports
                assert port["port"] == container_ports[port["targetPort"]]
        env = env_of(objects)
        assert env["FEEDBACK_SERVER_HOST"] == "0.0.0.0"
        assert env["FEEDBACK_SERVER_PORT"] == str(container_ports["grpc"])
        assert env["FEEDBACK_METRICS_PORT"] == str(container_ports["metrics"])


# --- probes and lifecycle --------------------------------------------------------------


def test_builtin_grpc_probes_on_the_health_service(render: Render) -> None:
    container = server_container(render(**{"server.grpcPort": "6000"}))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": 6000, "service": ""}, probe
        assert container[probe]["periodSeconds"] >= 1
    assert (
        container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"]
        >= 60
    ), "start-up gets at least a minute"
    # Liveness is not hair-trigger: a short NOT_SERVING (a full disk) is readiness's business.
    liveness = container["livenessProbe"]
    assert liveness["failureThreshold"] * liveness["periodSeconds"] >= 30


def test_with_tls_at_the_server_the_probes_ask_health_over_tls(render: Render) -> None:
    container = server_container(render("linkerd-tls.yaml"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        assert command[0] == "feedback-healthcheck"
        assert "--addr=127.0.0.1:50051" in command
        assert "--ca=/etc/feedback/tls/ca.crt" in command
        assert "--server-name=feedback.example.com" in command
    # A self-signed certificate from the values: trusted as itself, verified by the host name.
    command = server_container(render("tls-made.yaml"))["startupProbe"]["exec"]["command"]
    assert not [c for c in command if c.startswith("--ca")]
    assert f"--server-name={HOST}" in command


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, 5 + 10 + 20 + 5),
        # The flush follows a longer grace (the server bounds it by 2 x the grace).
        ({"shutdown.delaySeconds": "12", "shutdown.graceSeconds": "30"}, 12 + 30 + 60 + 5),
    ],
)
def test_termination_grace_is_drain_delay_plus_grace_plus_flush(
    render: Render, values: dict[str, str], expected: int
) -> None:
    objects = render(**values)
    defaults = values_yaml()["shutdown"]
    shutdown = {k: int(values.get(f"shutdown.{k}", v)) for k, v in defaults.items()}
    shutdown["exportFlushSeconds"] = max(
        shutdown["exportFlushSeconds"], 2 * shutdown["graceSeconds"]
    )
    assert pod_spec(objects)["terminationGracePeriodSeconds"] == expected == sum(shutdown.values())
    # What the server does on SIGTERM (App.stop): the delay, the grace for calls in flight,
    # then at most the grace twice more (unanswered turns' traces; exports and drain writes).
    server = Settings()
    assert (defaults["delaySeconds"], defaults["graceSeconds"]) == (
        server.shutdown_delay_s,
        server.shutdown_grace_s,
    )
    assert defaults["exportFlushSeconds"] >= 2 * server.shutdown_grace_s
    env = env_of(objects)
    assert env["FEEDBACK_SHUTDOWN_DELAY_S"] == str(shutdown["delaySeconds"])
    assert env["FEEDBACK_SHUTDOWN_GRACE_S"] == str(shutdown["graceSeconds"])


def test_no_prestop_on_the_server_and_the_proxies_outlive_its_shutdown(render: Render) -> None:
    """The server delays its own stop (health NOT_SERVING, still serving); a preStop would only
    postpone that. The mesh proxies must stay up through the drain and the last exports."""
    for scenario in ((), ("mesh-istio.yaml",), ("linkerd-tls.yaml",)):
        assert "lifecycle" not in server_container(render(*scenario))
    objects = render("linkerd-tls.yaml")
    grace = pod_spec(objects)["terminationGracePeriodSeconds"]
    wait = int(pod_annotations(objects)["config.alpha.linkerd.io/proxy-wait-before-exit-seconds"])
    assert wait == 5 + 10 + 20 < grace
    objects = render("mesh-istio.yaml")
    proxy = yaml.safe_load(pod_annotations(objects)["proxy.istio.io/config"])
    assert proxy == {"holdApplicationUntilProxyStarts": True, "terminationDrainDuration": "35s"}


def test_pod_disruption_budget_covers_the_pods(render: Render) -> None:
    objects = render()
    pdb = find(objects, "PodDisruptionBudget")
    pod_labels = find(objects, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1


def test_resources_are_requested_and_memory_is_limited(render: Render) -> None:
    resources = server_container(render())["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"]


# --- security --------------------------------------------------------------------------


def test_security_context_is_locked_down(render: Render) -> None:
    for scenario in ((), ("mesh-istio.yaml",), ("linkerd-tls.yaml",)):
        objects = render(*scenario)
        pod, container = pod_spec(objects), server_container(objects)
        context = {**pod["securityContext"], **container["securityContext"]}
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] != 0
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert "add" not in container["securityContext"]["capabilities"]
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        # With a read-only root, the server writes to its volume and /tmp only.
        _, tmp = mount_of(objects, "/tmp")
        assert "emptyDir" in tmp and tmp["emptyDir"]["sizeLimit"]


def test_no_service_links_in_the_servers_environment(render: Render) -> None:
    """A Service named feedback-server would inject FEEDBACK_SERVER_PORT=tcp://..."""
    assert pod_spec(render())["enableServiceLinks"] is False


def known_settings() -> set[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names |= set(getattr(alias, "choices", [])) or {f"FEEDBACK_{name.upper()}"}
    return names


def test_every_variable_set_is_a_setting_of_the_server(render: Render) -> None:
    for scenario in ((), ("mesh-istio.yaml",), ("linkerd-tls.yaml",), ("tls-made.yaml",)):
        objects = render(*scenario)
        extra = {e["name"] for e in server_container(objects)["env"]} - known_settings()
        # mesh-istio.yaml adds one through server.extraEnv, itself a real setting.
        assert extra == set(), f"{scenario}: not settings of the server: {extra}"


def test_configuration_comes_from_the_values(render: Render) -> None:
    env = env_of(render())
    assert env["MLFLOW_TRACKING_URI"] == REQUIRED["mlflow.trackingUri"]
    assert env["MLFLOW_EXPERIMENT_NAME"] == "feedback-service"
    assert env["FEEDBACK_LOG_FORMAT"] == "json"
    env = env_of(render("mesh-istio.yaml"))
    assert env["MLFLOW_EXPERIMENT_NAME"] == "prod-feedback"
    assert env["FEEDBACK_CORS_ORIGINS"] == "https://app.example.com,https://admin.example.com"
    assert env["FEEDBACK_CHAT_BACKEND"] == "openai"
    assert env["FEEDBACK_OPENAI_MODEL"] == "llama-3.1-8b-instruct"
    assert env["FEEDBACK_DRAIN_CONCURRENCY"] == "16"
    env_from = server_container(render("mesh-istio.yaml"))["envFrom"]
    assert {"secretRef": {"name": "mlflow-credentials"}} in env_from


def secret_data(objects: list[Obj], name: str) -> dict[str, str]:
    import base64

    secret = find(objects, "Secret", name)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def secret_ref(env: dict[str, Any], name: str) -> tuple[str, str]:
    ref = env[name]["secretKeyRef"]
    return ref["name"], ref["key"]


def test_credentials_come_from_secrets_never_from_plain_env(render: Render) -> None:
    objects = render("mesh-istio.yaml")
    env = env_of(objects)
    for variable, secret, key, value in [
        ("FEEDBACK_AUTH_TOKEN", f"{FULLNAME}-auth", "token", "service-credential-given"),
        ("OPENAI_API_KEY", f"{FULLNAME}-openai", "api-key", "sk-test-key"),
    ]:
        assert secret_ref(env, variable) == (secret, key)
        assert secret_data(objects, secret)[key] == value
    # The signing secret is a file from its own Secret, the same for every replica.
    path = env["FEEDBACK_TOKEN_SECRET_FILE"]
    mount, volume = mount_of(objects, path)
    assert mount["readOnly"] is True
    token_secret = volume["secret"]["secretName"]
    assert secret_data(objects, token_secret)[PurePosixPath(path).name] == "signing-secret-given"
    plain = yaml.safe_dump(server_container(objects))
    for value in ("service-credential-given", "signing-secret-given", "sk-test-key"):
        assert value not in plain


def test_existing_secrets_are_used_and_none_is_made(render: Render) -> None:
    objects = render("linkerd-tls.yaml")
    env = env_of(objects)
    assert [o for o in objects if o["kind"] == "Secret"] == []
    assert secret_ref(env, "FEEDBACK_AUTH_TOKEN") == ("feedback-credential", "token")
    assert secret_ref(env, "OPENAI_API_KEY") == ("openai", "api-key")
    volumes = {v["name"]: v for v in pod_spec(objects)["volumes"]}
    for variable, secret in [
        ("FEEDBACK_TOKEN_SECRET_FILE", "feedback-token-signing"),
        ("FEEDBACK_TLS_CERT_FILE", "feedback-tls"),
        ("FEEDBACK_TLS_KEY_FILE", "feedback-tls"),
        ("FEEDBACK_TLS_CLIENT_CA_FILE", "feedback-client-ca"),
    ]:
        mount, _ = mount_of(objects, env[variable])
        assert volumes[mount["name"]]["secret"]["secretName"] == secret, variable


def test_chart_made_secrets_are_random_kept_and_complete(render: Render) -> None:
    objects = render()
    auth = secret_data(objects, f"{FULLNAME}-auth")["token"]
    signing = secret_data(objects, f"{FULLNAME}-feedback-tokens")["secret"]
    assert len(auth) >= 32 and len(signing) >= 32 and auth != signing
    for secret in (o for o in objects if o["kind"] == "Secret"):
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    objects = render("tls-made.yaml")
    tls = find(objects, "Secret", f"{FULLNAME}-tls")
    assert tls["type"] == "kubernetes.io/tls"
    assert set(secret_data(objects, f"{FULLNAME}-tls")) == {"tls.crt", "tls.key"}
    env = env_of(objects)
    assert "FEEDBACK_AUTH_TOKEN" not in env and "FEEDBACK_TOKEN_SECRET_FILE" not in env


def test_image_tag_defaults_to_the_app_version_and_a_digest_pins_it(render: Render) -> None:
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert server_container(render())["image"] == f"localhost/feedback-server:{app_version}"
    image = server_container(render("mesh-istio.yaml"))["image"]
    assert re.fullmatch(r"localhost/feedback-server@sha256:[0-9a-f]{64}", image)


# --- Prometheus ------------------------------------------------------------------------

#: The alert of the issue, with X the threshold.
POSITIVE_RATE = (
    'sum(rate(feedback_judgments_accepted_total{name="user_feedback",value_class="positive"}[1h]))'
    ' / sum(rate(feedback_judgments_accepted_total{name="user_feedback",'
    'value_class=~"positive|negative"}[1h])) < X'
)


def test_service_monitor_scrapes_the_headless_services_metrics_port(render: Render) -> None:
    objects = render("mesh-istio.yaml")
    monitor = find(objects, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    chosen = [
        s
        for s in objects
        if s["kind"] == "Service" and selector.items() <= s["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in chosen] == [HEADLESS], "one Service: no double scrape"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in chosen[0]["spec"]["ports"]}
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    # Istio: the scrape goes around the sidecar.
    annotations = pod_annotations(objects)
    assert annotations["traffic.sidecar.istio.io/excludeInboundPorts"] == "9464"


def test_prometheus_rule_has_the_positive_rate_alert(render: Render) -> None:
    rule = find(render("mesh-istio.yaml"), "PrometheusRule")
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    alert = alerts["FeedbackPositiveRateLow"]
    expr = " ".join(alert["expr"].split())
    ratio, _, guard = expr.partition(" and ")
    selector = f'namespace="{NAMESPACE}",service="{HEADLESS}",'
    assert ratio.replace(selector, "") == POSITIVE_RATE.replace("X", "0.6")
    assert guard.startswith("sum(increase(") and guard.endswith(">= 20")
    assert alert["for"] == "30m" and alert["labels"]["severity"] == "warning"
    assert {"FeedbackSpoolBacklog", "FeedbackDeadLetters"} <= set(alerts)
    # The threshold and the name come from the values.
    rule = find(
        render(
            "mesh-istio.yaml",
            **{
                "metrics.prometheusRule.positiveRate.threshold": "0.8",
                "metrics.prometheusRule.positiveRate.feedbackName": "answer_quality",
            },
        ),
        "PrometheusRule",
    )
    expr = " ".join(rule["spec"]["groups"][0]["rules"][0]["expr"].split())
    assert expr.partition(" and ")[0].replace(selector, "") == POSITIVE_RATE.replace(
        "X", "0.8"
    ).replace("user_feedback", "answer_quality")


# --- Istio -----------------------------------------------------------------------------


def test_destination_rule_hashes_review_sessions_to_one_replica(render: Render) -> None:
    rule = find(render("mesh-istio.yaml"), "DestinationRule")
    assert rule["spec"]["host"] == HOST
    hashing = rule["spec"]["trafficPolicy"]["loadBalancer"]["consistentHash"]
    assert (
        hashing
        == {"httpHeaderName": REVIEW_SESSION_METADATA_KEY}
        == {"httpHeaderName": "x-review-session"}
    )


def methods() -> dict[str, Descriptor]:
    """'/feedback.v1.Service/Method' -> its request message, for every RPC of the API."""
    out = {}
    for module in (chat_service_pb2, feedback_service_pb2, review_service_pb2):
        for svc in module.DESCRIPTOR.services_by_name.values():
            for method in svc.methods:
                out[f"/{svc.full_name}/{method.name}"] = method.input_type
    return out


def carries_request_id(message: Descriptor) -> bool:
    """A write made idempotent by request_id: its own, or each of its repeated requests'."""
    if "request_id" in message.fields_by_name:
        return True
    return any(
        f.message_type is not None
        and f.is_repeated
        and "request_id" in f.message_type.fields_by_name
        for f in message.fields
    )


def route_paths(route: Obj, every: list[str]) -> set[str]:
    paths: set[str] = set()
    for match in route.get("match") or [{"uri": {"prefix": "/"}}]:
        uri = match["uri"]
        if "exact" in uri:
            assert uri["exact"] in every, f"{uri['exact']} is no RPC of the API"
            paths.add(uri["exact"])
        else:
            paths |= {p for p in every if p.startswith(uri["prefix"])}
    return paths


def test_virtual_service_retries_only_idempotent_writes(render: Render) -> None:
    service_ = find(render("mesh-istio.yaml"), "VirtualService")
    assert service_["spec"]["hosts"] == [HOST]
    api = methods()
    unrouted = list(api)
    retried: set[str] = set()
    for route in service_["spec"]["http"]:
        # Istio retries a route that says nothing: every route must say.
        assert "retries" in route, f"route {route.get('name')} leaves Istio's default retries"
        assert all(d["destination"]["host"] == HOST for d in route["route"])
        paths = route_paths(route, unrouted)
        unrouted = [p for p in unrouted if p not in paths]
        if route["retries"]["attempts"] > 0:
            retried |= paths
            conditions = set(route["retries"]["retryOn"].split(","))
            assert conditions <= {
                "unavailable",
                "cancelled",
                "connect-failure",
                "refused-stream",
                "reset",
            }
            assert not conditions & {"deadline-exceeded", "internal", "resource-exhausted", "5xx"}
    assert unrouted == [], "every RPC has a route"
    assert "/feedback.v1.ChatService/Chat" not in retried
    assert "/feedback.v1.ChatService/StreamChat" not in retried
    writes = {p for p, message in api.items() if carries_request_id(message)}
    assert retried == writes
    assert "/feedback.v1.FeedbackService/LogFeedback" in retried
    # The last route catches everything else, without retries.
    last = service_["spec"]["http"][-1]
    assert "match" not in last and last["retries"] == {"attempts": 0}


# --- Linkerd ---------------------------------------------------------------------------


def test_linkerd_annotations(render: Render) -> None:
    annotations = pod_annotations(render("linkerd-tls.yaml"))
    assert annotations["linkerd.io/inject"] == "enabled"
    assert annotations["config.linkerd.io/proxy-await"] == "enabled"
    assert "sidecar.istio.io/inject" not in annotations
    assert not [a for a in pod_annotations(render()) if "linkerd" in a or "istio" in a]
