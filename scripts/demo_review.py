"""The seed's expert review (steps 5 and 6) against a running service: label schemas,
the `quickstart_review` session filled with the thumbs-down traces of the last 24 hours,
an expert's labels, and an evaluation of the app against the expert's expected response.

    run_review_demo(channel, tracking_uri)   # from scripts/demo.py, after run_demo()

Standalone: ``python scripts/demo_review.py [--addr HOST:PORT --tracking-uri URI]``
(without --addr it starts a private stack like `make demo`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import grpc
from feedback_client import (
    Categorical,
    EvaluationProgress,
    FeedbackClient,
    FeedbackError,
    FreeText,
    IngestionState,
    Label,
    LabelSchemaType,
    Text,
)

SESSION = "quickstart_review"
EXPERT = "expert_1"
QUESTION = "What is MLflow?"
EXPECTED_RESPONSES = {
    QUESTION: (
        "MLflow is an open-source platform for managing the machine learning lifecycle, "
        "including experiment tracking, model registry, packaging, deployment, and evaluation. "
        "It supports classical ML, deep learning, and generative AI workflows. On Databricks, "
        "MLflow provides managed, secure, and scalable integration for easy collaboration and "
        "governance"
    ),
}


def show(title: str) -> None:
    print(f"\n== {title}")


def _clip(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _wait_stored(client: FeedbackClient, trace_id: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        listing = client.list_feedback(trace_id)
        if listing.assessments and all(
            a.state is IngestionState.STORED for a in listing.assessments
        ):
            return
        time.sleep(0.5)


def run_review_demo(channel: grpc.Channel, tracking_uri: str) -> None:
    """The expert-review steps of the seed, printed as they happen."""
    client = FeedbackClient(channel=channel, timeout=60)

    show("Step 5: define what experts answer (label schemas, stored in MLflow)")
    accuracy = client.create_label_schema(
        "response_accuracy",
        Categorical(["Accurate", "Partially Accurate", "Inaccurate"]),
        instructions="Is the response factually accurate?",
        enable_comment=True,
    )
    expected = client.create_label_schema(
        "expected_response",
        FreeText(),
        type=LabelSchemaType.EXPECTATION,
        instructions="What would be the ideal response?",
    )
    for schema in (accuracy, expected):
        print(
            f"  {schema.name:<18} {schema.type.name.lower():<11} "
            f"{type(schema.input).__name__:<11} id={schema.schema_id}"
        )

    show(f"Step 5: a review session {SESSION!r} (an MLflow review queue)")
    session = client.create_review_session(SESSION, [accuracy.name, expected.name], [EXPERT])
    print(f"  session id={session.session_id} reviewers={list(session.reviewers)}")

    show("Step 5: send the thumbs-down traces of the last 24 hours for review")
    added = client.add_session_items_matching(SESSION, feedback_value=False)
    if not added.items:
        print("  (no thumbs-down yet: a chat turn and an end user's thumbs-down first)")
        answer = client.chat(QUESTION, user_id="enduser_123")
        client.thumbs_down(answer.trace_id, rationale="Missing key features", user_id="enduser_123")
        _wait_stored(client, answer.trace_id)
        added = client.add_session_items_matching(SESSION, feedback_value=False)
    for item in added.items:
        print(f"  {item.trace_id}  {item.status.name.lower()}")
    print(f"  matched {added.matched_count} trace(s) with user_feedback = false")

    show(f"Step 5: the expert {EXPERT!r} works through the session")
    while True:
        task = client.next_item(SESSION, EXPERT)
        item = task.item
        if item is None:
            print("  no pending item left")
            break
        given = [
            f"{a.name}={a.value!r} by {a.source.id}"
            for a in item.assessments
            if a.name == "user_feedback" and a.valid  # current votes (not changed, not retracted)
        ]
        print(f"  item {item.trace_id}")
        print(f"    request : {_clip(item.request)}")
        print(f"    response: {_clip(item.response)}")
        print(f"    feedback already given: {', '.join(given) or 'none'}")
        ideal = EXPECTED_RESPONSES.get(item.request)
        if ideal is None:
            client.decline_item(SESSION, EXPERT, item.trace_id)
            print("    -> declined (outside the expert's domain)")
            continue
        try:
            client.submit_labels(
                SESSION,
                EXPERT,
                item.trace_id,
                {"response_accuracy": "Purple"},
            )
        except FeedbackError as error:
            fields = ", ".join(f"{v.field}: {v.description}" for v in error.field_violations)
            print(f"    a typo is refused: {error.code.name} ({fields})")
        result = client.submit_labels(
            SESSION,
            EXPERT,
            item.trace_id,
            {
                "response_accuracy": Label(
                    "Partially Accurate", comment="It misses the model registry and evaluation."
                ),
                "expected_response": Text(ideal),
            },
        )
        labels = ", ".join(f"{r.name} ({r.kind.name.lower()})" for r in result.results)
        print(f"    -> labeled: {labels}; item {result.status.name.lower()}")

    progress = client.session_progress(SESSION)
    print(
        f"  progress: {progress.total_count} items, {progress.complete_count} complete, "
        f"{progress.declined_count} declined, {progress.pending_count} pending"
    )
    for reviewer in progress.reviewers:
        print(
            f"    {reviewer.reviewer}: {reviewer.complete_count} complete, "
            f"{reviewer.declined_count} declined"
        )

    show("Step 6: evaluate the app against the expert's expected_response (token F1 >= 0.5)")

    def on_progress(p: EvaluationProgress) -> None:
        i = p.item
        print(
            f"  [{p.done_count}/{p.total_count}] {i.source_trace_id} -> {i.trace_id or '-'} "
            f"{i.status.name.lower()} score={i.score:.2f} passed={i.passed}"
        )

    result = client.evaluate_session(SESSION, on_progress=on_progress)
    print(
        f"  pass rate {result.pass_rate:.0%} ({result.passed_count}/{result.scored_count} "
        f"scored, {result.skipped_count} skipped, {result.failed_count} failed); "
        f"scores logged as feedback {result.feedback_name!r} on the new traces"
    )
    for item in result.items[:3]:
        if item.rationale:
            print(f"    {item.trace_id}: {item.rationale}")

    show("Read back from MLflow directly")
    _read_back(tracking_uri, session.session_id, [i.trace_id for i in result.items if i.trace_id])
    print(f"\nOpen the MLflow UI at {tracking_uri} -> experiment -> Labeling / Traces")


def _read_back(tracking_uri: str, queue_id: str, eval_traces: list[str]) -> None:
    import mlflow
    from mlflow.tracing.client import TracingClient

    mlflow.set_tracking_uri(tracking_uri)
    items: Any = TracingClient(tracking_uri)._list_review_queue_items(queue_id)
    for item in items:
        print(f"  review queue item {item.item_id}: {item.status} by {item.completed_by or '-'}")
        trace = mlflow.get_trace(item.item_id)
        found = trace.info.assessments if trace else []
        # MLflow returns no `valid` for an expectation: a marker overriding it says it is not.
        overridden = {a.overrides for a in found if a.overrides}
        for a in found:
            if a.name.startswith(("response_accuracy", "expected_response")):
                state = "superseded" if a.assessment_id in overridden else "current"
                if ":" in a.name:  # the service's marker (`<name>:superseded`)
                    state = "marker"
                print(
                    f"    {type(a).__name__:<11} {a.name:<28} = {_clip(str(a.value), 30)!r} "
                    f"source={a.source.source_type}:{a.source.source_id} [{state}]"
                    + (f" overrides={a.overrides}" if a.overrides else "")
                )
    deadline = time.monotonic() + 60
    for trace_id in eval_traces:
        while True:
            trace = mlflow.get_trace(trace_id, silent=True)
            found = trace.info.assessments if trace else []
            scores = [a for a in found if a.name == "correctness"]
            if scores or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for a in scores:
            print(
                f"  new trace {trace_id}: Feedback correctness = {a.value:.2f} "
                f"source={a.source.source_type}:{a.source.source_id} passed={a.metadata['passed']}"
            )


def main() -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from demo import private_stack, wait_serving

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", help="a running feedback server (default: a private stack)")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"),
        help="the MLflow server behind --addr",
    )
    args = parser.parse_args()
    if args.addr:
        wait_serving(args.addr)
        with grpc.insecure_channel(args.addr) as channel:
            run_review_demo(channel, args.tracking_uri)
    else:
        with private_stack() as (addr, tracking_uri), grpc.insecure_channel(addr) as channel:
            run_review_demo(channel, tracking_uri)
    return 0


if __name__ == "__main__":
    sys.exit(main())
