"""The web page in a real browser: Debian's Chromium driven by Playwright (playwright-core).

`clients/web/e2e/drive.mjs` launches Chromium headless, does what a user does and prints what
the page showed as JSON; these tests assert on it and save a full-page screenshot under
pytest's tmp dir (the path is printed; `-s` shows it).

- `test_page_renders_its_form`: the shipped build (server/feedback_server/static/) served by
  Python's http.server on a free port: the form renders, with its labels, and nothing can be
  rated before an answer arrived. Proves the browser harness itself works.
- `test_page_streams_an_answer_and_changes_a_vote`: the whole path. MLflow and the feedback
  server with its HTTP port (Connect protocol + the page at `/`, feedback tokens on); the
  browser asks a question, sees the answer stream in, votes 👎 with a comment, changes it to
  👍, and MLflow then holds exactly one valid 👍 `user_feedback` of that user on that trace,
  superseding the 👎 (kept, valid=false).

Chromium is installed with apt when missing (testbed/chromium.py); the npm packages come
from clients/web/package-lock.json (`npm ci` on first use).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from feedback_server.servicers.feedback import FeedbackServicer
from feedback_server.settings import Settings

from testbed.chromium import chromium_version, ensure_chromium
from testbed.mlflow_server import MlflowServer, tracking_client
from testbed.ports import PortReservation
from tests.e2e.test_web_page_build import ROOT, STATIC, WEB, ensure_web_toolchain

pytestmark = pytest.mark.e2e

DRIVER = WEB / "e2e" / "drive.mjs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
USER = "web-e2e-user"
QUESTION = "What is MLflow?"
COMMENT = "Too vague: it does not say what MLflow tracks."
#: The server's HTTP port (Connect protocol, gRPC-Web and the page at `/`) is a setting.
HAS_HTTP_PORT = "http_port" in Settings.model_fields
#: Supersession (a user's new vote overrides the old one in MLflow) comes with the votes
#: work, whose RetractFeedback is served by the same change.
SUPERSEDES = not FeedbackServicer.RetractFeedback.__module__.endswith("_pb2_grpc")
SERVER_START_TIMEOUT_S = 120.0
ASSESSMENT_TIMEOUT_S = 90.0


@pytest.fixture(scope="module")
def chromium() -> str:
    ensure_web_toolchain()
    path = ensure_chromium()
    print(f"browser: {chromium_version(path)}")
    return str(path)


def drive(chromium: str, mode: str, url: str, screenshot: Path, **options: Any) -> dict[str, Any]:
    """Runs the Playwright driver; returns its report (fails the test with it on error)."""
    args = {"mode": mode, "url": url, "chromium": chromium, "screenshot": str(screenshot)}
    proc = subprocess.run(
        ["node", str(DRIVER), json.dumps({**args, **options})],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    print(f"screenshot: {report.get('screenshot', screenshot)}")
    if proc.returncode != 0 or "error" in report:
        pytest.fail(
            f"the browser driver failed ({proc.returncode}): {report.get('error')}\n"
            f"report: {json.dumps(report, indent=1)[:6000]}\nstderr: {proc.stderr[-4000:]}"
        )
    return report


def assert_screenshot(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), f"{path} is not a PNG"
    assert len(data) > 10_000, f"{path} is suspiciously small ({len(data)} bytes): a blank page?"


@contextlib.contextmanager
def static_server(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.timeout(1200)
def test_page_renders_its_form(chromium: str, tmp_path: Path) -> None:
    screenshot = tmp_path / "web-page-form.png"
    with static_server(STATIC) as url:
        report = drive(chromium, "render", url, screenshot)
    assert report["status"] == 200
    assert report["consoleErrors"] == []
    form = report["form"]
    assert form["title"].startswith("Ask the assistant")
    assert form["heading"] == "Ask the assistant"
    assert form["user"] == "enduser_123"
    assert form["question"] == 1  # the question box, found by its label
    assert form["chat"] == "idle"
    # Nothing to send and nothing to rate yet: every control but the inputs is disabled.
    assert form["ask"] == {"count": 1, "enabled": False}
    assert form["up"] == {"count": 1, "enabled": False}
    assert form["down"] == {"count": 1, "enabled": False}
    assert form["comment"] == {"count": 1, "enabled": False}
    assert_screenshot(screenshot)


# ----- the whole path: browser -> feedback server (HTTP port) -> MLflow ----------------------


@contextlib.contextmanager
def feedback_server(mlflow: MlflowServer, tmp_path: Path) -> Iterator[str]:
    """The feedback server as a subprocess with its HTTP port; yields the page's URL."""
    with PortReservation() as grpc_port, PortReservation() as http_port:
        yield from _feedback_server(mlflow, tmp_path, grpc_port.port, http_port.port)


def _feedback_server(
    mlflow: MlflowServer, tmp_path: Path, grpc_port: int, http_port: int
) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FEEDBACK_"))}
    env.update(
        MLFLOW_TRACKING_URI=mlflow.url,
        MLFLOW_EXPERIMENT_NAME=f"web-e2e-{uuid.uuid4().hex[:8]}",
        FEEDBACK_SERVER_HOST="127.0.0.1",
        FEEDBACK_SERVER_PORT=str(grpc_port),
        FEEDBACK_HTTP_PORT=str(http_port),
        FEEDBACK_METRICS_PORT="0",
        FEEDBACK_DATA_DIR=str(tmp_path / "data"),
        # Tokens on: the page must send the completion's token with its votes.
        FEEDBACK_TOKEN_SECRET=secrets.token_hex(32),
        # Pieces 50 ms apart, so that the page shows several before the completion.
        FEEDBACK_ECHO_DELAY_S="0.05",
    )
    log_path = tmp_path / "feedback-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "feedback-server")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{http_port}/"
    try:
        _wait_for_page(proc, url, log_path)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_for_page(proc: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    last: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = log_path.read_text()
            pytest.fail(f"the feedback server exited with {proc.returncode}:\n{log}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = response.status
        except (OSError, urllib.error.URLError) as exc:
            last = exc
        time.sleep(0.3)
    pytest.fail(f"{url} did not answer 200 (last: {last}):\n{log_path.read_text()[-6000:]}")


def _user_feedback(mlflow_url: str, trace_id: str) -> list[Any]:
    """This user's `user_feedback` assessments on the trace once both votes are in MLflow."""
    import mlflow

    deadline = time.monotonic() + ASSESSMENT_TIMEOUT_S
    mine: list[Any] = []
    with tracking_client(mlflow_url, max_retries=1, timeout_s=10):
        while time.monotonic() < deadline:
            trace = mlflow.get_trace(trace_id, silent=True)
            if trace is not None:
                mine = [
                    a
                    for a in trace.info.assessments
                    if a.name == "user_feedback" and a.source.source_id == USER
                ]
                if len(mine) >= 2 and any(a.valid is not False for a in mine):
                    return mine
            time.sleep(1)
    pytest.fail(f"both votes not in MLflow within {ASSESSMENT_TIMEOUT_S:.0f} s (seen: {mine})")


@pytest.mark.timeout(1200)
@pytest.mark.skipif(
    not HAS_HTTP_PORT,
    reason="feedback_server.settings.Settings has no `http_port` (FEEDBACK_HTTP_PORT): the "
    "server does not serve the Connect protocol and the page over HTTP yet",
)
def test_page_streams_an_answer_and_changes_a_vote(
    chromium: str, mlflow_sqlite: MlflowServer, tmp_path: Path
) -> None:
    screenshot = tmp_path / "web-page-feedback.png"
    with feedback_server(mlflow_sqlite, tmp_path) as url:
        report = drive(
            chromium, "feedback", url, screenshot, user=USER, question=QUESTION, comment=COMMENT
        )
    assert report["consoleErrors"] == [], report["consoleErrors"]
    assert not report["before"]["up"]["enabled"] and not report["before"]["down"]["enabled"]
    assert report["chat"] == "answered", report.get("chatError")

    # The answer streamed in: several different texts on screen before the completion, and
    # no vote possible while it streamed.
    streaming = [c for c in report["answerChanges"] if c["chat"] == "streaming"]
    texts = {c["text"] for c in streaming} - {"", "…"}
    assert len(texts) > 1, f"the answer did not stream: {report['answerChanges']}"
    assert all(c["upDisabled"] for c in streaming), report["answerChanges"]
    assert report["answer"].startswith(f"You said: {QUESTION}"), report["answer"]
    trace_id = report["traceId"]
    assert re.fullmatch(r"tr-[0-9a-f]{32}", trace_id), trace_id
    assert report["after"]["up"]["enabled"] and report["after"]["down"]["enabled"]

    # The page said so, and shows the 👍 as the current vote.
    assert "Feedback received" in report["downStatus"] and "👎" in report["downStatus"]
    assert "Feedback received" in report["upStatus"] and "👍" in report["upStatus"]
    assert report["pressed"] == {"up": "true", "down": "false"}

    # What went over the wire: the Connect protocol with JSON, the token with each vote.
    requests = report["requests"]
    [chat] = [r for r in requests if r["path"] == "/feedback.v1.ChatService/StreamChat"]
    assert chat["headers"]["content-type"] == "application/connect+json"
    votes = [r for r in requests if r["path"] == "/feedback.v1.FeedbackService/LogFeedback"]
    assert len(votes) == 2, requests
    tokens = {v["headers"].get("authorization", "") for v in votes}
    assert len(tokens) == 1 and re.fullmatch(r"Bearer \S+", tokens.pop()), votes
    bodies = [json.loads(v["body"]) for v in votes]
    assert [b["value"] for b in bodies] == [{"boolean": False}, {"boolean": True}]
    assert bodies[0]["requestId"] != bodies[1]["requestId"]
    assert all(b["target"] == {"traceId": trace_id} for b in bodies)

    # In MLflow: exactly one current 👍 of this user, superseding the 👎 (kept, invalid).
    mine = _user_feedback(mlflow_sqlite.url, trace_id)
    valid = [a for a in mine if a.valid is not False]
    invalid = [a for a in mine if a.valid is False]
    if not SUPERSEDES:
        assert sorted(a.value for a in valid) == [False, True], [(a.value, a.valid) for a in mine]
        assert_screenshot(screenshot)
        pytest.xfail("this build stores both votes: supersession is not served yet")
    assert len(valid) == 1 and len(invalid) == 1, [(a.value, a.valid) for a in mine]
    [up], [down] = valid, invalid
    assert up.value is True and down.value is False
    assert down.rationale == COMMENT
    assert up.overrides == down.assessment_id
    assert up.source.source_type == "HUMAN"
    assert_screenshot(screenshot)
