"""TLS on both ports, and client certificates (mTLS), with certificates made by the test
(testbed/tls.py), against the real MLflow server: the Python clients (sync and async) and
`buf curl` connect with the right certificates and are refused without them."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from feedback_client import AsyncFeedbackClient, FeedbackClient, FeedbackError, TlsOptions
from feedback_server.app import exposure_warnings
from feedback_server.settings import Settings

from testbed.ports import PortReservation
from testbed.tls import Pki
from tests.integration.edge_calls import http_call
from tests.integration.service import Service, start_service, stop_service

ROOT = Path(__file__).resolve().parents[2]
BUF = Path(sys.executable).parent / "buf"
CHAT = "/feedback.v1.ChatService/Chat"


class TlsServer:
    def __init__(self, service: Service, http_port: int, pki: Pki) -> None:
        self.service = service
        self.grpc = f"127.0.0.1:{service.app.port}"
        self.https = f"https://127.0.0.1:{http_port}"
        self.pki = pki

    def context(self, *, client: bool = False, stranger: bool = False) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        if client:
            context.load_cert_chain(self.pki.client_cert, self.pki.client_key)
        if stranger:
            context.load_cert_chain(self.pki.stranger_cert, self.pki.stranger_key)
        return context

    def http_chat(self, context: ssl.SSLContext | None, url: str | None = None) -> str:
        reply = http_call(
            url or self.https,
            CHAT,
            b'{"message": "over TLS"}',
            protocol="connect-json",
            context=context,
            timeout=20,
        )
        assert reply.code == "OK", reply
        return str(json.loads(reply.messages[0])["traceId"])


async def _server(mlflow: Any, folder: Path, *, mtls: bool) -> tuple[Service, int, Pki]:
    pki = Pki.create(folder / "pki")
    with PortReservation() as http:
        service = await start_service(
            mlflow.url,
            folder / "spool",
            http_port=http.port,
            tls_cert_file=pki.server_cert,
            tls_key_file=pki.server_key,
            tls_client_ca_file=pki.ca if mtls else None,
        )
        return service, http.port, pki


@pytest.fixture(scope="module")
async def tls(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TlsServer]:
    service, port, pki = await _server(mlflow_sqlite, tmp_path_factory.mktemp("tls"), mtls=False)
    yield TlsServer(service, port, pki)
    await stop_service(service)


@pytest.fixture(scope="module")
async def mtls(
    mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TlsServer]:
    service, port, pki = await _server(mlflow_sqlite, tmp_path_factory.mktemp("mtls"), mtls=True)
    yield TlsServer(service, port, pki)
    await stop_service(service)


def sync_chat(address: str, tls: TlsOptions | None) -> str:
    with FeedbackClient(address, tls=tls, timeout=10) as client:
        return client.chat("over TLS").trace_id


async def test_tls_on_the_grpc_port(tls: TlsServer) -> None:
    trace_id = await asyncio.to_thread(sync_chat, tls.grpc, TlsOptions(ca=tls.pki.ca))
    assert trace_id.startswith("tr-")
    async with AsyncFeedbackClient(tls.grpc, tls=TlsOptions(ca=tls.pki.ca.read_bytes())) as client:
        assert (await client.chat("async over TLS")).trace_id.startswith("tr-")
    # The name in the certificate, when the target is not it.
    named = TlsOptions(ca=tls.pki.ca, server_name="localhost")
    assert (await asyncio.to_thread(sync_chat, tls.grpc, named)).startswith("tr-")
    for refused in (
        None,
        TlsOptions(ca=tls.pki.stranger_cert),
        TlsOptions(ca=tls.pki.ca, server_name="not-in-the-cert"),
    ):
        with pytest.raises(FeedbackError) as info:
            await asyncio.to_thread(sync_chat, tls.grpc, refused)
        assert info.value.code == grpc.StatusCode.UNAVAILABLE


async def test_tls_on_the_http_port(tls: TlsServer) -> None:
    assert (await asyncio.to_thread(tls.http_chat, tls.context())).startswith("tr-")
    with pytest.raises(OSError):  # plaintext to a TLS port, or a server we cannot verify
        await asyncio.to_thread(tls.http_chat, None, tls.https.replace("https", "http"))
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        await asyncio.to_thread(tls.http_chat, ssl.create_default_context())


async def test_mtls_on_the_grpc_port(mtls: TlsServer) -> None:
    with_cert = TlsOptions(ca=mtls.pki.ca, cert=mtls.pki.client_cert, key=mtls.pki.client_key)
    assert (await asyncio.to_thread(sync_chat, mtls.grpc, with_cert)).startswith("tr-")
    stranger = TlsOptions(ca=mtls.pki.ca, cert=mtls.pki.stranger_cert, key=mtls.pki.stranger_key)
    for refused in (TlsOptions(ca=mtls.pki.ca), stranger):
        with pytest.raises(FeedbackError) as info:
            await asyncio.to_thread(sync_chat, mtls.grpc, refused)
        assert info.value.code == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(ValueError, match="go together"):
        TlsOptions(cert=mtls.pki.client_cert)


async def test_mtls_on_the_http_port(mtls: TlsServer) -> None:
    assert (await asyncio.to_thread(mtls.http_chat, mtls.context(client=True))).startswith("tr-")
    for context in (mtls.context(), mtls.context(stranger=True)):
        with pytest.raises(OSError):  # the handshake fails (or the server hangs up)
            await asyncio.to_thread(mtls.http_chat, context)


async def test_buf_curl_over_mtls(mtls: TlsServer) -> None:
    base = [
        str(BUF),
        "curl",
        "--schema",
        str(ROOT / "proto" / "feedback_v1.binpb"),
        "--cacert",
        str(mtls.pki.ca),
        "-d",
        '{"message": "buf over mTLS"}',
    ]
    for protocol in ("connect", "grpcweb"):
        ok = await asyncio.to_thread(
            subprocess.run,
            [
                *base,
                "--protocol",
                protocol,
                "--cert",
                str(mtls.pki.client_cert),
                "--key",
                str(mtls.pki.client_key),
                f"{mtls.https}{CHAT}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["traceId"].startswith("tr-")
    refused = await asyncio.to_thread(
        subprocess.run,
        [*base, f"{mtls.https}{CHAT}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0


def test_listening_beyond_loopback_without_tls_or_credential_is_warned_about(
    tmp_path: Path,
) -> None:
    pki = Pki.create(tmp_path)
    assert exposure_warnings(Settings(host="127.0.0.1")) == []
    assert exposure_warnings(Settings(host="::1")) == []
    warnings = exposure_warnings(Settings(host="0.0.0.0"))
    assert len(warnings) == 2
    assert "without TLS" in warnings[0] and "FEEDBACK_AUTH_TOKEN" in warnings[1]
    secured = Settings(
        host="0.0.0.0", auth_token="x", tls_cert_file=pki.server_cert, tls_key_file=pki.server_key
    )
    assert exposure_warnings(secured) == []
    with pytest.raises(ValueError, match="go together"):
        Settings(tls_cert_file=pki.server_cert)
