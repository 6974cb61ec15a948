"""`make run`'s script end to end: MLflow and the feedback server as real subprocesses.

`scripts/run.sh` runs on ports reserved for the test (testbed/ports.py) with its state in a
temporary folder; the test waits for
the gRPC health check, chats once, records a thumbs-up on the turn's trace through the
generated stubs, sees the assessment land in MLflow, then sends SIGTERM and expects both
processes to stop cleanly (the feedback server drains first, then MLflow).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from feedback.v1 import (
    chat_service_pb2,
    chat_service_pb2_grpc,
    common_pb2,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testbed.mlflow_server import tracking_client
from testbed.ports import PortReservation, port_is_free

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
RUN_SH = REPO / "scripts" / "run.sh"
#: MLflow alone needs 20-40 s on an idle 2-core machine and over 100 s on a loaded one.
STARTUP_TIMEOUT_S = 420.0
ASSESSMENT_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 120.0


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    log_path: Path
    mlflow_url: str
    grpc_address: str
    experiment: str
    page_url: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def child_pids(self) -> list[int]:
        """The MLflow and feedback server pids that run.sh reported (their own groups)."""
        return [
            int(p) for p in re.findall(r"\[run\] (?:MLflow|feedback server) pid (\d+)", self.log())
        ]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    # run.sh binds both ports itself; they stay reserved until the test is over.
    with (
        PortReservation() as mlflow_port,
        PortReservation() as grpc_port,
        PortReservation() as http_port,
    ):
        yield from _run_sh(tmp_path, mlflow_port.port, grpc_port.port, http_port.port)


def _run_sh(tmp_path: Path, mlflow_port: int, grpc_port: int, http_port: int) -> Iterator[Stack]:
    experiment = f"e2e-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "FEEDBACK_"))}
    env.update(
        MLFLOW_PORT=str(mlflow_port),
        FEEDBACK_SERVER_PORT=str(grpc_port),
        FEEDBACK_HTTP_PORT=str(http_port),
        FEEDBACK_METRICS_PORT="0",
        FEEDBACK_VAR_DIR=str(tmp_path / "var"),
        FEEDBACK_DATA_DIR=str(tmp_path / "data"),
        MLFLOW_EXPERIMENT_NAME=experiment,
        MLFLOW_STARTUP_TIMEOUT=str(int(STARTUP_TIMEOUT_S)),
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(RUN_SH)],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Stack(
        proc=proc,
        log_path=log_path,
        mlflow_url=f"http://127.0.0.1:{mlflow_port}",
        grpc_address=f"127.0.0.1:{grpc_port}",
        experiment=experiment,
        page_url=f"http://127.0.0.1:{http_port}/",
    )
    try:
        yield stack
    finally:
        if proc.poll() is None:  # the test failed before its own SIGTERM: let run.sh clean up
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_TIMEOUT_S)
        for pid in [*stack.child_pids(), proc.pid]:  # and make sure nothing outlives the test
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)


def wait_serving(stack: Stack, channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S + 60
    last: object = None
    while time.monotonic() < deadline:
        if stack.proc.poll() is not None:
            pytest.fail(
                f"run.sh exited with {stack.proc.returncode} during startup:\n{stack.log()}"
            )
        try:
            status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                return
            last = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        except grpc.RpcError as err:
            last = err.code()
        time.sleep(0.5)
    pytest.fail(f"gRPC health never SERVING (last: {last}):\n{stack.log()}")


def wait_assessment(stack: Stack, trace_id: str, assessment_id: str) -> object:
    import mlflow

    deadline = time.monotonic() + ASSESSMENT_TIMEOUT_S
    seen: list[str] = []
    with tracking_client(stack.mlflow_url, max_retries=1, timeout_s=10):
        while time.monotonic() < deadline:
            trace = mlflow.get_trace(trace_id, silent=True)
            if trace is not None:
                seen = [a.assessment_id for a in trace.info.assessments]
                for assessment in trace.info.assessments:
                    if assessment.assessment_id == assessment_id:
                        return trace
            time.sleep(1)
    pytest.fail(
        f"assessment {assessment_id} not on trace {trace_id} in MLflow within "
        f"{ASSESSMENT_TIMEOUT_S:.0f} s (seen: {seen}):\n{stack.log()}"
    )


def test_make_run_serves_chat_and_feedback_then_stops_cleanly(stack: Stack) -> None:
    with grpc.insecure_channel(stack.grpc_address) as channel:
        wait_serving(stack, channel)
        chat = chat_service_pb2_grpc.ChatServiceStub(channel)
        feedback = feedback_service_pb2_grpc.FeedbackServiceStub(channel)

        crid = f"e2e-{uuid.uuid4().hex[:16]}"
        answer = chat.Chat(
            chat_service_pb2.ChatRequest(
                message="What is MLflow?", client_request_id=crid, user_id="e2e-user"
            ),
            timeout=60,
        )
        assert answer.response
        assert re.fullmatch(r"tr-[0-9a-f]{32}", answer.trace_id)
        assert answer.client_request_id == crid
        # make run configures a token secret: the answer carries an end-user token (a JWT).
        assert answer.feedback_token.count(".") == 2

        # The web page, on the HTTP port that run.sh announced.
        assert stack.page_url in stack.log()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(stack.page_url, timeout=10) as page:
            assert page.status == 200
            assert page.headers["content-type"].startswith("text/html")
            assert b'<div id="root">' in page.read()

        request_id = uuid.uuid4().hex
        ack = feedback.LogFeedback(
            feedback_service_pb2.LogFeedbackRequest(
                target=common_pb2.TraceRef(trace_id=answer.trace_id),
                name="user_feedback",
                value=common_pb2.FeedbackValue(boolean=True),
                rationale="end-to-end",
                source=common_pb2.Source(type=common_pb2.SOURCE_TYPE_HUMAN, id="e2e-user"),
                request_id=request_id,
            ),
            timeout=60,
        )
        assert ack.assessment_id
        assert ack.trace_id == answer.trace_id
        assert ack.state in (common_pb2.INGESTION_STATE_STORED, common_pb2.INGESTION_STATE_QUEUED)

    trace = wait_assessment(stack, answer.trace_id, ack.assessment_id)
    info = trace.info  # type: ignore[attr-defined]
    assert info.client_request_id == crid
    [stored] = [a for a in info.assessments if a.assessment_id == ack.assessment_id]
    assert stored.name == "user_feedback"
    assert stored.value is True
    assert stored.rationale == "end-to-end"
    assert stored.source.source_id == "e2e-user"

    stack.proc.send_signal(signal.SIGTERM)
    try:
        code = stack.proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"run.sh still running {STOP_TIMEOUT_S:.0f} s after SIGTERM:\n{stack.log()}")
    log = stack.log()
    assert code == 0, log
    assert "the feedback server exited with status 0" in log, log
    assert "MLflow stopped" in log, log
    assert "killing" not in log, log
    for pid in stack.child_pids():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # no process of either group is left
    mlflow_port = int(stack.mlflow_url.rsplit(":", 1)[1])
    grpc_port = int(stack.grpc_address.rsplit(":", 1)[1])
    assert port_is_free(mlflow_port)
    assert port_is_free(grpc_port)
