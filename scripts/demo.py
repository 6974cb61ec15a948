"""`make demo`: the seed's "collect human feedback" flow, as a client would replay it.

A chat turn, an end user's thumbs-up changed to a thumbs-down with a rationale
(`enduser_123`: the new vote supersedes the old one, one current vote per person), another
user's vote retracted, a developer's `accuracy_score` of 0.75, the expert's
`expected_response`, then the summary (current votes only), and what landed in MLflow
(superseded and retracted judgments kept, `valid=false`). With `--addr`, it talks to a
running service (`make run`); without, it starts a private stack (MLflow + feedback
server, via scripts/run.sh) on ports it reserves for them (testbed/ports.py) and stops it
afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
from feedback_client import FeedbackClient, IngestionState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testbed.health import grpc_serving  # noqa: E402
from testbed.poll import poll  # noqa: E402
from testbed.ports import PortReservation  # noqa: E402

QUESTION = "What is MLflow?"
USER_RATIONALE = "Missing details about MLflow's key features like Projects and Model Registry"
DEVELOPER_RATIONALE = (
    "This answer includes the core elements of ML lifecycle management, experiment tracking, "
    "packaging, and deployment. However, it does not mention the model registry, project "
    "packaging, integration with Generative AI and LLMs, or unique features available in "
    "Databricks-managed MLflow, which are now considered essential to a complete description "
    "of the platform."
)
EXPECTED_RESPONSE = (
    "MLflow is an open-source platform for managing the machine learning lifecycle, including "
    "experiment tracking, model registry, packaging, deployment, and evaluation. It supports "
    "classical ML, deep learning, and generative AI workflows. On Databricks, MLflow provides "
    "managed, secure, and scalable integration for easy collaboration and governance"
)


def wait_serving(addr: str, limit_s: float = 240.0) -> None:
    if not poll(lambda: grpc_serving(addr, timeout_s=2.0), limit_s, interval_s=0.5):
        raise SystemExit(f"the feedback server at {addr} did not become SERVING in {limit_s:.0f}s")


@contextlib.contextmanager
def private_stack() -> Iterator[tuple[str, str]]:
    """Starts MLflow + the feedback server with scripts/run.sh; yields (addr, tracking URI)."""
    var_dir = tempfile.mkdtemp(prefix="feedback-demo-")
    # run.sh binds both ports itself; they stay reserved until the stack is stopped.
    with PortReservation() as grpc_port, PortReservation() as mlflow_port:
        yield from _run_stack(var_dir, grpc_port.port, mlflow_port.port)


def _run_stack(var_dir: str, grpc_port: int, mlflow_port: int) -> Iterator[tuple[str, str]]:
    env = {
        **os.environ,
        "FEEDBACK_VAR_DIR": var_dir,
        "FEEDBACK_DATA_DIR": f"{var_dir}/data",
        "FEEDBACK_SERVER_PORT": str(grpc_port),
        "FEEDBACK_METRICS_PORT": "0",
        "FEEDBACK_HTTP_PORT": "0",
        "MLFLOW_PORT": str(mlflow_port),
        "MLFLOW_EXPERIMENT_NAME": "feedback-demo",
    }
    log = open(f"{var_dir}/stack.log", "w")  # noqa: SIM115 - closed below
    print(f"starting a private stack (logs: {var_dir}/stack.log) ...", flush=True)
    proc = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "run.sh")],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    addr = f"127.0.0.1:{grpc_port}"
    try:
        wait_serving(addr)
        yield addr, f"http://127.0.0.1:{mlflow_port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def show(title: str) -> None:
    print(f"\n== {title}")


def run_demo(addr: str, tracking_uri: str) -> None:
    with FeedbackClient(addr, timeout=30) as client:
        show("Step 1: a chat turn, traced in MLflow")
        answer = client.chat(QUESTION, user_id="enduser_123", session_id="demo-session")
        print(f"Response: {answer.response}")
        print(f"Trace ID: {answer.trace_id}   client request ID: {answer.client_request_id}")

        show("Step 2: the end user clicks thumbs-up, then changes their mind: thumbs-down")
        up = client.thumbs_up(answer.trace_id, user_id="enduser_123")
        ack = client.thumbs_down(answer.trace_id, rationale=USER_RATIONALE, user_id="enduser_123")
        print(
            f"thumbs-up {up.assessment_id}, then thumbs-down {ack.assessment_id} ({ack.state.name})"
        )
        print(f"the thumbs-down supersedes {ack.superseded_assessment_id}: one current vote each")

        show("Step 2b: another user votes thumbs-down, then takes it back")
        other = client.thumbs_down(answer.trace_id, user_id="enduser_456")
        taken = client.retract(answer.trace_id, user_id="enduser_456")
        print(f"assessment {other.assessment_id} retracted ({taken.state.name})")

        show("Step 3: a developer adds accuracy_score = 0.75 (the seed does it in the UI)")
        ack = client.feedback(
            answer.trace_id,
            "accuracy_score",
            0.75,
            rationale=DEVELOPER_RATIONALE,
            source_id="developer_1",
        )
        print(f"acknowledged: assessment {ack.assessment_id} ({ack.state.name})")

        show("Step 4: a domain expert gives the expected response")
        ack = client.expect(
            answer.trace_id, "expected_response", EXPECTED_RESPONSE, source_id="expert_1"
        )
        print(f"acknowledged: assessment {ack.assessment_id} ({ack.state.name})")

        show("What landed in MLflow (ListFeedback, once every judgment is stored)")
        deadline = time.monotonic() + 60
        while True:
            listing = client.list_feedback(answer.trace_id)
            stored = all(a.state is IngestionState.STORED for a in listing.assessments)
            if (stored and len(listing.assessments) >= 5) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for a in listing.assessments:
            value = (
                a.value
                if not isinstance(a.value, str) or len(a.value) < 60
                else a.value[:57] + "..."
            )
            status = (
                "retracted"
                if a.retracted
                else f"superseded by {a.superseded_by_assessment_id}"
                if a.superseded_by_assessment_id
                else "current"
            )
            print(
                f"  {a.kind.name.lower():<11} {a.name:<18} = {value!r:<40} "
                f"by {a.source.type.name}:{a.source.id:<12} [{a.state.name}, {status}]"
            )

        show("Summary of the last 24 hours (SummarizeFeedback)")
        summary = client.summarize()
        print(
            f"traces: {summary.total_traces}, with feedback: {summary.traces_with_feedback} "
            f"({summary.feedback_rate:.0%}), positive: {summary.positive_count}, "
            f"negative: {summary.negative_count} (positive rate {summary.positive_rate:.0%})"
        )
        for dimension, average in summary.average_ratings.items():
            print(f"  {dimension}: {average:.2f}/1.0")

    show("Read back from MLflow directly (mlflow.get_trace)")
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    trace = mlflow.get_trace(answer.trace_id)
    if trace is None:
        raise SystemExit("the trace is not in MLflow")
    overridden = {a.overrides for a in trace.info.assessments if a.overrides}
    for a in trace.info.assessments:
        state = "invalid" if a.valid is False or a.assessment_id in overridden else "valid"
        print(
            f"  {type(a).__name__:<11} {a.name:<24} source={a.source.source_type}:"
            f"{a.source.source_id:<12} {state:<7} overrides={a.overrides or '-'}"
        )
    print(f"\nOpen the MLflow UI at {tracking_uri} -> experiment -> Traces -> {answer.trace_id}")


def run_all(addr: str, tracking_uri: str) -> None:
    """The end-user and developer steps, then the expert review and the evaluation."""
    from demo_review import run_review_demo  # scripts/ is on sys.path when run as a script

    run_demo(addr, tracking_uri)
    with grpc.insecure_channel(addr) as channel:
        run_review_demo(channel, tracking_uri)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", help="a running feedback server (default: start a private stack)")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"),
        help="the MLflow server behind --addr",
    )
    args = parser.parse_args()
    if args.addr:
        wait_serving(args.addr)
        run_all(args.addr, args.tracking_uri)
    else:
        with private_stack() as (addr, tracking_uri):
            run_all(addr, tracking_uri)
    return 0


if __name__ == "__main__":
    sys.exit(main())
