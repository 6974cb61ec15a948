"""MLflow's own ceiling: N threads calling the MLflow client directly, no service in between.

    python -m bench.mlflow_direct traces   --uri URL --experiment NAME --threads N --seconds T
    python -m bench.mlflow_direct feedback --uri URL --experiment NAME --threads N --seconds T \
        --trace-ids FILE

`traces` ends a two-span trace per iteration (the shape of a chat turn: an AGENT root
and a CHAT_MODEL child, synchronous export) and `feedback` calls `mlflow.log_feedback`
on the given traces round-robin. It prints ``START`` when the threads start (the caller
measures what reaches MLflow's store from then on) and, at the end, one JSON line with
its own counts. The client settings are the service's (no HTTP retries, synchronous
trace export), so both sides pay the same client cost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mlflow_direct")
    parser.add_argument("mode", choices=["traces", "feedback"])
    parser.add_argument("--uri", required=True)
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--trace-ids", help="file with one trace ID per line (feedback mode)")
    args = parser.parse_args(argv)

    import mlflow
    from mlflow.entities import AssessmentSource, SpanType

    logger_names = ("mlflow", "urllib3")
    import logging

    for name in logger_names:
        logging.getLogger(name).setLevel(logging.ERROR)

    mlflow.set_tracking_uri(args.uri)
    experiment_id = mlflow.set_experiment(args.experiment).experiment_id
    trace_ids: list[str] = []
    if args.mode == "feedback":
        with open(args.trace_ids) as fh:
            trace_ids = [line.strip() for line in fh if line.strip()]
        if not trace_ids:
            raise SystemExit("no trace IDs")

    stop = threading.Event()
    ok = [0] * args.threads
    failed = [0] * args.threads
    source = AssessmentSource(source_type="HUMAN", source_id="bench")

    def one_trace(i: int, n: int) -> None:
        message = f"direct trace {i}-{n}"
        root = mlflow.start_span_no_context(
            name="Chat",
            span_type=SpanType.AGENT,
            inputs={"message": message},
            metadata={"feedback.rpc": "Chat", "feedback.backend": "echo"},
            experiment_id=experiment_id,
        )
        child = mlflow.start_span_no_context(
            name="echo",
            span_type=SpanType.CHAT_MODEL,
            parent_span=root,
            inputs={"messages": [{"role": "user", "content": message}]},
        )
        answer = {"response": f"You said: {message}"}
        child.end(outputs=answer)
        root.end(outputs=answer)

    def one_feedback(i: int, n: int) -> None:
        trace_id = trace_ids[(i * 7919 + n) % len(trace_ids)]
        mlflow.log_feedback(trace_id=trace_id, name="user_feedback", value=True, source=source)

    work = one_trace if args.mode == "traces" else one_feedback

    def worker(i: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                work(i, n)
                ok[i] += 1
            except Exception:
                failed[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.threads)]
    print("START", flush=True)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    elapsed = time.monotonic() - t0
    print(
        json.dumps(
            {
                "mode": args.mode,
                "threads": args.threads,
                "seconds": round(elapsed, 3),
                "ok": sum(ok),
                "failed": sum(failed),
                "rate": round(sum(ok) / elapsed, 2),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
