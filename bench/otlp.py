"""What the OTLP export of the server's RPC spans costs: the same server with it off and on.

    .venv/bin/python -m bench.otlp              # 3 interleaved rounds
    .venv/bin/python -m bench.otlp --rounds 5

Two servers at once against one MLflow server (SQLite), each with its own spool; "on" has
FEEDBACK_OTLP_ENDPOINT pointing at a local OTLP/HTTP receiver (testbed/otlp_receiver.py,
in this process). Rounds alternate off-on / on-off, so that machine noise hits both alike.
Per round and server, each part starting once both servers' earlier judgments and traces
are all in MLflow:

- LogFeedback at C=16 for 6 s (ghz, closed loop): calls per second, p99, and the server's
  CPU per call (every thread, /proc);
- Chat, 600 calls at C=16 (the echo backend; exports deferred, FEEDBACK_EXPORT_MAX_PENDING
  10,000): calls per second, p50, CPU per turn during the burst.

Prints each round, the means and the on/off ratios; writes nothing to bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from testbed.feedback_server import FeedbackServerProcess
from testbed.mlflow_server import MlflowServer
from testbed.otlp_receiver import OtlpReceiver

from . import chat_cost, ingestion
from . import ghz as ghz_tool
from .common import WORK_BASE, Stack, chat_traces, feedback_server, group_cpu_s, log
from .drain import StoreCounter

CHAT_BURST = 600


Settled = list[tuple[FeedbackServerProcess, chat_cost.Exported]]


def _settle(every: Settled) -> None:
    """Until every server's judgments are stored and its traces exported (so that no
    server's background work runs while another is measured)."""
    for server, exported in every:
        while (server.metrics().get("feedback_spool_depth") or 0) > 0:
            time.sleep(0.3)
        exported.wait()


def _round(
    server: FeedbackServerProcess,
    exported: chat_cost.Exported,
    data: object,
    protoset: Path,
    every: Settled,
) -> dict[str, float]:
    pid = server.pid
    _settle(every)
    cpu0 = group_cpu_s([pid])[pid]
    lf = ghz_tool.run_ghz(
        server.port,
        ingestion.LOG_FEEDBACK,
        data=data,
        concurrency=16,
        duration_s=6,
        protoset=protoset,
    )
    cpu1 = group_cpu_s([pid])[pid]
    _settle(every)
    cpu2 = group_cpu_s([pid])[pid]
    chat = ghz_tool.run_ghz(
        server.port,
        chat_cost.CHAT,
        data={"message": "What does OTLP export cost?"},
        concurrency=16,
        total=CHAT_BURST,
        protoset=protoset,
    )
    cpu3 = group_cpu_s([pid])[pid]
    exported.add(chat)
    return {
        "log_feedback_rps": lf["rps"],
        "log_feedback_p99_ms": lf["p99_ms"],
        "log_feedback_cpu_ms_per_call": 1000 * (cpu1 - cpu0) / max(1, lf["ok"]),
        "chat_rps": chat["rps"],
        "chat_p50_ms": chat["p50_ms"],
        "chat_cpu_ms_per_turn": 1000 * (cpu3 - cpu2) / max(1, chat["ok"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ghz_tool.wait_install(ghz_tool.start_install())
    WORK_BASE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="otlp-", dir=WORK_BASE))
    with Stack() as stack, OtlpReceiver() as receiver:
        mlflow = MlflowServer.sqlite(work / "mlflow")
        stack.add(mlflow.close)
        mlflow.start()
        names = ("off", "on")
        experiments = {name: f"otlp-{name}-{uuid.uuid4().hex[:6]}" for name in names}
        otlp = {"off": {}, "on": {"FEEDBACK_OTLP_ENDPOINT": receiver.endpoint}}
        servers = {
            name: feedback_server(
                stack,
                work,
                name,
                tracking_uri=mlflow.url,
                experiment=experiments[name],
                env={**chat_cost.ENV, **otlp[name]},
                metrics=True,
            )
            for name in names
        }
        for server in servers.values():
            server.wait_serving(180)
        protoset = ghz_tool.write_protoset(work / "services.binpb")
        traces = {n: chat_traces(servers[n].port, 64) for n in names}
        data = {n: ingestion.feedback_requests(traces[n]) for n in names}
        counter = StoreCounter(mlflow.backend_store_uri)
        exported = {n: chat_cost.Exported(counter, experiments[n], 64) for n in names}
        rows: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                every = [(servers[n], exported[n]) for n in names]
                row = _round(servers[name], exported[name], data[name], protoset, every)
                log(f"round {r} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
                rows[name].append(row)
        time.sleep(6)  # the batch span processor's delay: the last spans arrive
        print(f"\nOTLP export off vs on; means over {args.rounds} rounds")
        for key in rows["off"][0]:
            off = statistics.mean(row[key] for row in rows["off"])
            on = statistics.mean(row[key] for row in rows["on"])
            print(f"  {key:30s} off {off:9.3f}   on {on:9.3f}   on/off {on / off:6.3f}")
        print(f"  spans received: {len(receiver.spans)} in {receiver.requests} OTLP requests")


if __name__ == "__main__":
    main()
