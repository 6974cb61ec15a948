"""The HTTP port from clients that are not ours: `buf curl` (Connect binary, unary and
server streaming; gRPC-Web), `curl` (Connect JSON, the page, CORS), against the real
MLflow server. And ListFeedback's pages, which keep every response within its limit."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from feedback.v1 import chat_service_pb2, common_pb2, feedback_service_pb2

from testbed.ports import PortReservation
from tests.integration.edge_calls import call, http_call
from tests.integration.service import Service, start_service, stop_service

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "proto" / "feedback_v1.binpb"
BUF = Path(sys.executable).parent / "buf"
ORIGIN = "https://app.example.com"


class Http:
    def __init__(self, service: Service, port: int) -> None:
        self.service = service
        self.url = f"http://127.0.0.1:{port}"

    async def buf_curl(self, protocol: str, method: str, body: dict[str, Any]) -> list[Any]:
        """`buf curl` with the API's descriptor set (no reflection on the HTTP port); the
        JSON documents it printed."""
        proc = await asyncio.to_thread(
            subprocess.run,
            [
                str(BUF),
                "curl",
                "--schema",
                str(SCHEMA),
                "--protocol",
                protocol,
                "-d",
                json.dumps(body),
                f"{self.url}/{method}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        documents, decoder, text = [], json.JSONDecoder(), proc.stdout.strip()
        while text:
            document, end = decoder.raw_decode(text)
            documents.append(document)
            text = text[end:].strip()
        if proc.returncode != 0:
            documents.append({"exit": proc.returncode, "stderr": proc.stderr})
        return documents

    async def curl(self, *args: str) -> tuple[int, dict[str, str], bytes]:
        """`curl -i`: the status, headers and body."""
        proc = await asyncio.to_thread(
            subprocess.run,
            [CURL, "-s", "-i", "--noproxy", "*", *args],
            capture_output=True,
            timeout=60,
            check=True,
        )
        head, _, body = proc.stdout.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        return int(lines[0].split()[1]), headers, body


CURL = shutil.which("curl") or "/usr/bin/curl"


@pytest.fixture(scope="module")
async def http(mlflow_sqlite: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Http]:
    with PortReservation() as port:
        service = await start_service(
            mlflow_sqlite.url,
            tmp_path_factory.mktemp("http-spool"),
            http_port=port.port,
            cors_origins=(ORIGIN,),
            token_secret="t" * 32,
            echo_delay_s=0.01,
        )
        yield Http(service, port.port)
        await stop_service(service)


async def test_connect_binary_unary_and_streaming_from_buf_curl(http: Http) -> None:
    [answer] = await http.buf_curl(
        "connect", "feedback.v1.ChatService/Chat", {"message": "What is MLflow?", "userId": "u1"}
    )
    assert answer["response"].startswith("You said: What is MLflow?")
    assert answer["traceId"].startswith("tr-") and answer["feedbackToken"].count(".") == 2
    events = await http.buf_curl(
        "connect", "feedback.v1.ChatService/StreamChat", {"message": "stream this please"}
    )
    deltas = [e["delta"]["content"] for e in events if "delta" in e]
    [completion] = [e["completion"] for e in events if "completion" in e]
    assert len(deltas) > 1 and "completion" in events[-1]
    assert "".join(deltas) == completion["response"]
    ack = await http.buf_curl(
        "connect",
        "feedback.v1.FeedbackService/LogFeedback",
        {
            "target": {"traceId": completion["traceId"]},
            "value": {"boolean": False},
            "rationale": "from buf curl",
        },
    )
    assert ack[0]["traceId"] == completion["traceId"], ack


async def test_grpc_web_unary_and_streaming_from_buf_curl(http: Http) -> None:
    events = await http.buf_curl(
        "grpcweb", "feedback.v1.ChatService/StreamChat", {"message": "over grpc-web"}
    )
    assert "completion" in events[-1] and any("delta" in e for e in events[:-1]), events
    trace_id = events[-1]["completion"]["traceId"]
    [listing] = await http.buf_curl(
        "grpcweb", "feedback.v1.FeedbackService/ListFeedback", {"target": {"traceId": trace_id}}
    )
    assert listing["traceId"] == trace_id


async def test_errors_reach_buf_curl_with_their_code_and_details(http: Http) -> None:
    for protocol in ("connect", "grpcweb"):
        *_, failure = await http.buf_curl(
            protocol, "feedback.v1.FeedbackService/LogFeedback", {"target": {"traceId": "tr-bad"}}
        )
        assert failure["exit"] != 0
        error = json.loads(failure["stderr"][failure["stderr"].index("{") :])
        assert error["code"] == "invalid_argument", error
        kinds = {d["type"] for d in error["details"]}
        assert {"google.rpc.BadRequest", "google.rpc.ErrorInfo"} <= kinds, error


async def test_connect_json_from_curl(http: Http) -> None:
    status, headers, body = await http.curl(
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-H",
        "connect-protocol-version: 1",
        "--data-binary",
        '{"message": "json please"}',
        f"{http.url}/feedback.v1.ChatService/Chat",
    )
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["response"].startswith("You said: json please")
    assert len(headers["x-request-id"]) == 32
    status, _, body = await http.curl(
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "--data-binary",
        '{"target": {"traceId": "nope"}, "value": {"boolean": true}}',
        f"{http.url}/feedback.v1.FeedbackService/LogFeedback",
    )
    error = json.loads(body)
    assert status == 400 and error["code"] == "invalid_argument", error
    assert error["message"] == "invalid request: target.trace_id"


async def test_the_page_and_its_files_are_served_with_a_strict_policy(http: Http) -> None:
    status, headers, body = await http.curl(f"{http.url}/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["x-content-type-options"] == "nosniff"
    index = body.decode()
    script = index.split('src="./', 1)[1].split('"', 1)[0]
    status, headers, body = await http.curl(f"{http.url}/{script}")
    assert status == 200 and headers["content-type"].startswith("text/javascript")
    assert "immutable" in headers["cache-control"] and len(body) > 1000
    status, headers, _ = await http.curl(f"{http.url}/favicon.svg")
    assert status == 200 and headers["content-type"].startswith("image/svg+xml")
    for path in ("/nope", "/assets/../../settings.py", "/index.html/..", "/static/index.html"):
        status, _, _ = await http.curl("--path-as-is", f"{http.url}{path}")
        assert status == 404, path


async def test_cors_answers_the_configured_origins_only(http: Http) -> None:
    preflight = [
        "-X",
        "OPTIONS",
        "-H",
        "access-control-request-method: POST",
        "-H",
        "access-control-request-headers: content-type, authorization",
    ]
    method = f"{http.url}/feedback.v1.FeedbackService/LogFeedback"
    status, headers, _ = await http.curl(*preflight, "-H", f"origin: {ORIGIN}", method)
    assert status == 204 and headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in headers["access-control-allow-headers"]
    assert headers["access-control-allow-methods"] == "POST"
    status, headers, _ = await http.curl(*preflight, "-H", "origin: https://evil.example", method)
    assert status == 403 and "access-control-allow-origin" not in headers
    for origin, allowed in ((ORIGIN, True), ("https://evil.example", False)):
        _, headers, _ = await http.curl(
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-H",
            f"origin: {origin}",
            "--data-binary",
            '{"message": "hi"}',
            f"{http.url}/feedback.v1.ChatService/Chat",
        )
        assert ("access-control-allow-origin" in headers) is allowed
        if allowed:
            assert "x-request-id" in headers["access-control-expose-headers"]


async def test_grpc_itself_is_sent_to_the_grpc_port(http: Http) -> None:
    status, _, body = await http.curl(
        "-X",
        "POST",
        "-H",
        "content-type: application/grpc",
        "--data-binary",
        "",
        f"{http.url}/feedback.v1.ChatService/Chat",
    )
    assert status == 415 and b"gRPC port" in body


# --- ListFeedback pages ---


async def test_list_feedback_pages_stay_within_the_response_limit(
    mlflow_sqlite: Any, tmp_path: Path
) -> None:
    limit = 64 * 1024
    service = await start_service(mlflow_sqlite.url, tmp_path / "spool", max_response_bytes=limit)
    try:
        trace_id = (await service.chat.Chat(_chat("pages"))).trace_id
        rationale = "r" * 8_000
        metadata = {f"k{i}": "v" * 1_000 for i in range(30)}  # ~40 KB per judgment
        written = []
        for i in range(5):
            ack = await service.feedback.LogFeedback(
                feedback_service_pb2.LogFeedbackRequest(
                    target=common_pb2.TraceRef(trace_id=trace_id),
                    name="big",
                    value=common_pb2.FeedbackValue(number=i),
                    rationale=rationale,
                    metadata=metadata,
                    source=common_pb2.Source(id=f"s{i}"),
                )
            )
            written.append(ack.assessment_id)
        for page_size, per_page in ((0, 1), (1, 1)):
            seen, token, pages = [], "", 0
            while True:
                request = feedback_service_pb2.ListFeedbackRequest(
                    target=common_pb2.TraceRef(trace_id=trace_id),
                    page_size=page_size,
                    page_token=token,
                )
                page = await service.feedback.ListFeedback(request)
                assert page.ByteSize() <= limit
                assert len(page.assessments) == per_page
                seen += [a.assessment_id for a in page.assessments]
                pages += 1
                token = page.next_page_token
                if not token:
                    break
            assert sorted(seen) == sorted(written) and pages == 5
        # A page token belongs to its target and is one of ours; a page holds 1 to 100.
        other = (await service.chat.Chat(_chat("other"))).trace_id
        first = await service.feedback.ListFeedback(
            feedback_service_pb2.ListFeedbackRequest(target=common_pb2.TraceRef(trace_id=trace_id))
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{service.app.port}")
        for target, size, token, field in (
            (other, 0, first.next_page_token, "page_token"),
            (trace_id, 0, "not-a-token", "page_token"),
            (trace_id, 101, "", "page_size"),
            (trace_id, -1, "", "page_size"),
        ):
            bad = feedback_service_pb2.ListFeedbackRequest(
                target=common_pb2.TraceRef(trace_id=target), page_size=size, page_token=token
            )
            reply = await asyncio.to_thread(
                call,
                "grpc",
                channel=channel,
                base_url="",
                method="/feedback.v1.FeedbackService/ListFeedback",
                request=bad,
            )
            assert reply.code == "INVALID_ARGUMENT" and reply.fields() == [field], reply
            reply.assert_clean()
        channel.close()
    finally:
        await stop_service(service)


def _chat(message: str) -> chat_service_pb2.ChatRequest:
    return chat_service_pb2.ChatRequest(message=message)


async def test_the_callers_deadline_holds_on_the_http_port(http: Http) -> None:
    """connect-timeout-ms is enforced (connectrpc only reads it): a stream still running
    at its deadline ends with DEADLINE_EXCEEDED, the trace ID in its trailers."""
    request = chat_service_pb2.StreamChatRequest(message=" ".join(["word"] * 60))
    reply = await asyncio.to_thread(
        http_call,
        http.url,
        "/feedback.v1.ChatService/StreamChat",
        request.SerializeToString(),
        protocol="connect-proto",
        streaming=True,
        headers={"connect-timeout-ms": "150"},
    )
    assert reply.code == "DEADLINE_EXCEEDED", reply
    reply.assert_clean()
    assert 0 < len(reply.messages) < 60  # some deltas came before the deadline
    assert reply.headers["x-mlflow-trace-id"].startswith("tr-")
