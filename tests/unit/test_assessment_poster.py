"""The gateway's lean assessment writer against a fake HTTP server: keep-alive reuse, a
connection closed by the server, auth headers, and errors raised the way MLflow's own
client raises them (so the gateway classifies them the same way)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from feedback_server.mlflow_gateway.calls import describe, http_status, is_not_found, is_transient
from feedback_server.mlflow_gateway.poster import AssessmentPoster
from mlflow.entities import AssessmentSource, Feedback
from mlflow.exceptions import MlflowException, RestException
from mlflow.utils.rest_utils import MlflowHostCreds


class _Fake(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Set by tests: (status, body) answers in order; "drop" closes without answering.
    script: list[Any] = []
    seen: list[dict[str, Any]] = []
    connections: set[int] = set()

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        type(self).seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        type(self).connections.add(self.client_address[1])  # one port per connection
        answer = type(self).script.pop(0) if type(self).script else (200, b'{"assessment": {}}')
        if answer == "drop":
            self.close_connection = True
            return
        status, payload = answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[ThreadingHTTPServer]:
    _Fake.script, _Fake.seen, _Fake.connections = [], [], set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _poster(server: ThreadingHTTPServer, **creds: Any) -> AssessmentPoster:
    host = f"http://127.0.0.1:{server.server_address[1]}"
    return AssessmentPoster(MlflowHostCreds(host, **creds), {"User-Agent": "t"}, 5.0)


def _feedback(aid: str = "a-1") -> Feedback:
    f = Feedback(
        name="user_feedback",
        value=True,
        source=AssessmentSource(source_type="HUMAN", source_id="u"),
        rationale="r",
    )
    f.assessment_id = aid
    return f


def test_posts_mlflows_create_assessment_body_over_one_connection(
    fake: ThreadingHTTPServer,
) -> None:
    poster = _poster(fake)
    poster.create("tr-1", _feedback("a-1"))
    poster.create("tr-1", _feedback("a-2"))
    assert [s["path"] for s in _Fake.seen] == ["/api/3.0/mlflow/traces/tr-1/assessments"] * 2
    body = _Fake.seen[0]["body"]["assessment"]
    assert body["assessment_id"] == "a-1"
    assert body["trace_id"] == "tr-1"
    assert body["feedback"] == {"value": True}
    assert body["source"] == {"source_type": "HUMAN", "source_id": "u"}
    assert _Fake.seen[0]["headers"]["User-Agent"] == "t"
    assert "Authorization" not in _Fake.seen[0]["headers"]
    assert len(_Fake.connections) == 1  # kept alive


def test_a_connection_closed_by_the_server_is_retried_once_on_a_new_one(
    fake: ThreadingHTTPServer,
) -> None:
    poster = _poster(fake)
    poster.create("tr-1", _feedback("a-1"))
    _Fake.script = ["drop"]  # the kept-alive connection dies under the next request
    poster.create("tr-1", _feedback("a-2"))
    assert [s["body"]["assessment"]["assessment_id"] for s in _Fake.seen] == ["a-1", "a-2", "a-2"]
    assert len(_Fake.connections) == 2


def test_a_fresh_connection_failing_is_not_retried(fake: ThreadingHTTPServer) -> None:
    poster = _poster(fake)
    _Fake.script = ["drop"]
    with pytest.raises(OSError) as info:
        poster.create("tr-1", _feedback())
    assert is_transient(info.value)
    assert len(_Fake.seen) == 1


@pytest.mark.parametrize(
    ("creds", "expected"),
    [
        ({"token": "tok"}, "Bearer tok"),
        ({"username": "u", "password": "p"}, "Basic dTpw"),
    ],
)
def test_auth_headers(fake: ThreadingHTTPServer, creds: dict[str, str], expected: str) -> None:
    _poster(fake, **creds).create("tr-1", _feedback())
    assert _Fake.seen[0]["headers"]["Authorization"] == expected


def test_errors_are_raised_as_mlflows_client_raises_them(fake: ThreadingHTTPServer) -> None:
    poster = _poster(fake)
    not_found = json.dumps({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no trace"})
    _Fake.script = [
        (404, not_found.encode()),
        (500, json.dumps({"error_code": "INTERNAL_ERROR", "message": "x"}).encode()),
        (400, json.dumps({"error_code": "INVALID_PARAMETER_VALUE", "message": "x"}).encode()),
        (502, b"<html>bad gateway</html>"),
    ]
    with pytest.raises(RestException) as e1:
        poster.create("tr-1", _feedback())
    assert is_not_found(e1.value)
    with pytest.raises(RestException) as e2:
        poster.create("tr-1", _feedback())
    assert is_transient(e2.value) and not is_not_found(e2.value)
    with pytest.raises(RestException) as e3:
        poster.create("tr-1", _feedback())
    assert not is_transient(e3.value)
    with pytest.raises(MlflowException) as e4:
        poster.create("tr-1", _feedback())
    assert not isinstance(e4.value, RestException) and is_transient(e4.value)
    poster.create("tr-1", _feedback())  # the connection is still usable


@pytest.mark.parametrize(
    ("status", "body", "transient"),
    [
        (401, b"You are not authenticated.", False),  # MLflow's basic-auth app
        (403, b"Permission denied", False),
        (403, json.dumps({"error_code": "PERMISSION_DENIED", "message": "no"}).encode(), False),
        (413, b"<html>request entity too large</html>", False),  # a proxy in front
        (429, b"slow down", True),
        (503, b"<html>service unavailable</html>", True),
    ],
)
def test_lasting_refusals_are_told_apart_from_outages(
    fake: ThreadingHTTPServer, status: int, body: bytes, transient: bool
) -> None:
    _Fake.script = [(status, body)]
    with pytest.raises(MlflowException) as info:
        _poster(fake).create("tr-1", _feedback())
    assert http_status(info.value) == status
    assert is_transient(info.value) is transient
    assert not is_not_found(info.value)
    reason = describe(info.value)
    assert (f"HTTP {status}" in reason) is not transient  # a dead letter names the refusal


def test_refused_connection_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    poster = AssessmentPoster(MlflowHostCreds(f"http://127.0.0.1:{port}"), {}, 2.0)
    with pytest.raises(OSError) as info:
        poster.create("tr-1", _feedback())
    assert is_transient(info.value)


@pytest.mark.parametrize(
    "creds",
    [{"aws_sigv4": True}, {"client_cert_path": "/x.pem"}, {"use_databricks_sdk": True}],
)
def test_other_set_ups_keep_mlflows_client(creds: dict[str, Any]) -> None:
    from mlflow.store.tracking.rest_store import RestStore

    class _Client:
        store = RestStore(lambda: MlflowHostCreds("http://127.0.0.1:9", **creds))

    assert AssessmentPoster.for_client(_Client(), 1.0) is None  # type: ignore[arg-type]
    _Client.store = RestStore(lambda: MlflowHostCreds("http://127.0.0.1:9"))
    assert AssessmentPoster.for_client(_Client(), 1.0) is not None  # type: ignore[arg-type]


def test_a_proxy_keeps_mlflows_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.store.tracking.rest_store import RestStore

    class _Client:
        store = RestStore(lambda: MlflowHostCreds("http://mlflow.internal:5000"))

    for name in ("no_proxy", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert AssessmentPoster.for_client(_Client(), 1.0) is None  # type: ignore[arg-type]
    monkeypatch.setenv("NO_PROXY", "mlflow.internal")
    assert AssessmentPoster.for_client(_Client(), 1.0) is not None  # type: ignore[arg-type]
