"""`feedback-healthcheck` (deploy/healthcheck.py), the image's exec probe when the server
terminates TLS: run as the kubelet runs it, against a real gRPC server with the standard
health service, in plaintext, TLS and mTLS, with certificates made here."""

from __future__ import annotations

import contextlib
import datetime
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from tests.deploy.conftest import REPO

HEALTHCHECK = REPO / "deploy" / "healthcheck.py"
SERVER_NAME = "feedback.feedback.svc.cluster.local"


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _ca(path: Path, cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, and a pod certificate it signed for the Service's name, valid for server and
    client authentication (what the chart asks of a certificate used with mTLS)."""
    d = tmp_path_factory.mktemp("pki")
    ca_key, ca_cert = _ca(d / "ca.crt", "feedback test CA")
    _ca(d / "other-ca.crt", "another CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("feedback"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (d / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Pki(d / "ca.crt", d / "tls.crt", _write_key(d / "tls.key", key), d / "other-ca.crt")


@dataclass
class Server:
    port: int
    health: health.HealthServicer


@contextlib.contextmanager
def serve(credentials: grpc.ServerCredentials | None) -> Iterator[Server]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    try:
        yield Server(port, servicer)
    finally:
        server.stop(None)


@pytest.fixture
def plain() -> Iterator[Server]:
    with serve(None) as server:
        yield server


def tls_credentials(pki: Pki, client_auth: bool) -> grpc.ServerCredentials:
    pair = [(pki.key.read_bytes(), pki.cert.read_bytes())]
    roots = pki.ca.read_bytes() if client_auth else None
    return grpc.ssl_server_credentials(pair, roots, require_client_auth=client_auth)


def probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), "--timeout", "5", *args],
        capture_output=True,
        text=True,
        env=env or {},
        timeout=60,
    )


def test_plaintext_serving_not_serving_and_unreachable(plain: Server) -> None:
    addr = f"--addr=127.0.0.1:{plain.port}"
    out = probe(addr)
    assert (out.returncode, out.stdout.strip()) == (0, "SERVING")
    plain.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    out = probe(addr)
    assert (out.returncode, out.stdout.strip()) == (1, "NOT_SERVING")
    out = probe(addr, "--service=feedback.v1.Unknown")
    assert out.returncode == 2 and "NOT_FOUND" in out.stderr
    plain.health.set("", health_pb2.HealthCheckResponse.SERVING)
    # The port comes from the server's own setting when --addr is not given.
    assert probe(env={"FEEDBACK_SERVER_PORT": str(plain.port)}).returncode == 0
    out = probe("--addr=127.0.0.1:1")
    assert out.returncode == 2 and "UNAVAILABLE" in out.stderr


def test_wait_retries_until_serving(plain: Server) -> None:
    plain.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    process = subprocess.Popen(
        [sys.executable, str(HEALTHCHECK), f"--addr=127.0.0.1:{plain.port}", "--wait=30"],
        stdout=subprocess.PIPE,
        text=True,
        env={},
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=1.5)
        plain.health.set("", health_pb2.HealthCheckResponse.SERVING)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("client_auth", [False, True])
def test_tls_as_the_chart_runs_it(pki: Pki, client_auth: bool) -> None:
    """With the settings' variables the chart sets: TLS on, verified against ca.crt and the
    name; with mTLS the pod's own certificate is presented."""
    with serve(tls_credentials(pki, client_auth)) as running:
        env = {"FEEDBACK_TLS_CERT_FILE": str(pki.cert), "FEEDBACK_TLS_KEY_FILE": str(pki.key)}
        if client_auth:
            env["FEEDBACK_TLS_CLIENT_CA_FILE"] = str(pki.ca)
        addr = f"--addr=127.0.0.1:{running.port}"
        ok = probe(addr, f"--ca={pki.ca}", f"--server-name={SERVER_NAME}", env=env)
        assert (ok.returncode, ok.stdout.strip()) == (0, "SERVING"), ok.stderr
        # The checks are real: another issuer, another name, plaintext, or (mTLS) no client
        # certificate are refused.
        refused = [
            [f"--ca={pki.other_ca}", f"--server-name={SERVER_NAME}"],
            [f"--ca={pki.ca}", "--server-name=other.example.com"],
            ["--no-tls"],
        ]
        if client_auth:
            refused.append([f"--ca={pki.ca}", f"--server-name={SERVER_NAME}", "--no-client-cert"])
        for args in refused:
            out = probe(addr, *args, env=env)
            assert out.returncode == 2, (args, out.stdout, out.stderr)


def test_unreadable_certificate_is_its_own_status(tmp_path: Path) -> None:
    out = probe(env={"FEEDBACK_TLS_CERT_FILE": str(tmp_path / "missing.crt")})
    assert out.returncode == 3
    assert "missing.crt" in out.stderr
