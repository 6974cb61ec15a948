"""Before/after: the server at another git revision (A) against the working tree (B).

    .venv/bin/python -m bench.ab 1b0529f            # 4 interleaved rounds
    .venv/bin/python -m bench.ab 1b0529f --rounds 6

Both servers run at once against one MLflow server (SQLite), each with its own spool; the
revision's `server/` is checked out into a scratch git worktree and put first on the
server's PYTHONPATH. Rounds alternate A-B / B-A, so that machine noise hits both alike.
Per round and server, each part starting once the server's earlier chat traces are all in
MLflow (no export backlog):

- Chat at C=16 for 5 s (ghz, closed loop): turns per second and latency, what a durable
  record of each trace costs the serving path (the export to MLflow runs meanwhile, in the
  background, in both);
- StreamChat one at a time (80 streams of 64 deltas): time to the completion message, which
  a durable trace must precede;
- LogFeedback and health Check at C=16 (ghz, closed loop), and their ratio;
- drain: 1,200 LogFeedback calls, then the time until the spool is empty and the server's
  CPU time per drained judgment (from /proc, every thread of the process).

Both servers may keep 10,000 ended turns waiting for their export
(FEEDBACK_EXPORT_MAX_PENDING), so that the chat figures measure the service, not
admission waiting for MLflow.

Prints each round and the means; writes nothing to bench/results/.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from testbed.feedback_server import FeedbackServerProcess
from testbed.mlflow_server import MlflowServer

from . import ghz as ghz_tool
from . import ingestion
from .common import ROOT, WORK_BASE, Stack, chat_traces, feedback_server, group_cpu_s, log
from .drain import StoreCounter, wait_stable
from .streaming import MESSAGE

CHAT = "feedback.v1.ChatService/Chat"
STREAM_CHAT = "feedback.v1.ChatService/StreamChat"
CHAT_ENV = {"FEEDBACK_EXPORT_MAX_PENDING": "10000"}


class Exported:
    """How many chat traces a server produced, and waiting until MLflow has them all."""

    def __init__(self, counter: StoreCounter, experiment: str, produced: int) -> None:
        self.counter = counter
        self.eid = counter.experiment_id(experiment)
        self.produced = produced

    def add(self, run: dict[str, Any]) -> None:
        self.produced += run["ok"] + run["cut_at_end"]  # a cancelled turn is traced too

    def wait(self) -> None:
        wait_stable(self.counter, self.eid, 0, self.produced, 300)


def _spool_depth(server: FeedbackServerProcess) -> float:
    depth = server.metrics().get("feedback_spool_depth")
    if depth is None:
        raise RuntimeError("feedback_spool_depth not exported")
    return depth


def _round(
    name: str, server: FeedbackServerProcess, data: Any, protoset: Path, exported: Exported
) -> dict[str, float]:
    port, pid = server.port, server.pid
    exported.wait()
    chat = ghz_tool.run_ghz(
        port, CHAT, data={"message": MESSAGE}, concurrency=16, duration_s=5, protoset=protoset
    )
    exported.add(chat)
    exported.wait()
    stream = ghz_tool.run_ghz(
        port, STREAM_CHAT, data={"message": MESSAGE}, concurrency=1, total=80, protoset=protoset
    )
    exported.add(stream)
    exported.wait()
    lf = ghz_tool.run_ghz(
        port, ingestion.LOG_FEEDBACK, data=data, concurrency=16, duration_s=6, protoset=protoset
    )
    hc = ghz_tool.run_ghz(
        port, ingestion.HEALTH_CHECK, data={}, concurrency=16, duration_s=4, protoset=protoset
    )
    while _spool_depth(server) > 0:  # start the drain measure from an empty spool
        time.sleep(0.5)
    ghz_tool.run_ghz(
        port, ingestion.LOG_FEEDBACK, data=data, concurrency=16, total=1200, protoset=protoset
    )
    depth = _spool_depth(server)
    cpu0, t0 = group_cpu_s([pid])[pid], time.monotonic()
    while _spool_depth(server) > 0:
        time.sleep(0.2)
    cpu1, t1 = group_cpu_s([pid])[pid], time.monotonic()
    row = {
        "chat_rps": chat["rps"],
        "chat_p50_ms": chat["p50_ms"],
        "chat_p99_ms": chat["p99_ms"],
        "stream_to_completion_p50_ms": stream["p50_ms"],
        "stream_to_completion_p99_ms": stream["p99_ms"],
        "log_feedback_rps": lf["rps"],
        "check_rps": hc["rps"],
        "ratio": lf["rps"] / hc["rps"],
        "log_feedback_p99_ms": lf["p99_ms"],
        "drain_per_s": depth / (t1 - t0),
        "cpu_ms_per_drained": 1000 * (cpu1 - cpu0) / depth,
    }
    log(
        f"{name}: Chat {row['chat_rps']:.0f}/s (p50 {row['chat_p50_ms']:.1f} ms), StreamChat to"
        f" completion p50 {row['stream_to_completion_p50_ms']:.1f} ms; LogFeedback"
        f" {row['log_feedback_rps']:.0f}/s (p99 {row['log_feedback_p99_ms']:.0f}"
        f" ms), Check {row['check_rps']:.0f}/s, ratio {row['ratio']:.3f}; drained {depth:.0f} at"
        f" {row['drain_per_s']:.1f}/s, {row['cpu_ms_per_drained']:.2f} ms CPU per judgment"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="git revision of A (the working tree is B)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    ghz_tool.wait_install(ghz_tool.start_install())
    WORK_BASE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ab-", dir=WORK_BASE))
    tree = work / "a-tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), args.revision], cwd=ROOT, check=True
    )
    try:
        with Stack() as stack:
            mlflow = MlflowServer.sqlite(work / "mlflow")
            stack.add(mlflow.close)
            mlflow.start()
            experiments = {name: f"ab-{name}-{uuid.uuid4().hex[:6]}" for name in ("A", "B")}
            servers = {
                name: feedback_server(
                    stack,
                    work,
                    name,
                    tracking_uri=mlflow.url,
                    experiment=experiments[name],
                    env={**CHAT_ENV, **env},
                    metrics=True,
                ).wait_serving(180)
                for name, env in (("A", {"PYTHONPATH": str(tree / "server")}), ("B", {}))
            }
            protoset = ghz_tool.write_protoset(work / "services.binpb")
            data = {
                name: ingestion.feedback_requests(chat_traces(server.port, 64))
                for name, server in servers.items()
            }
            counter = StoreCounter(mlflow.backend_store_uri)
            exported = {name: Exported(counter, experiments[name], 64) for name in servers}
            rows: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
            for r in range(args.rounds):
                for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                    rows[name].append(
                        _round(
                            f"round {r} {name}", servers[name], data[name], protoset, exported[name]
                        )
                    )
            print(f"\nA = {args.revision}, B = working tree; means over {args.rounds} rounds")
            for key in rows["A"][0]:
                a = statistics.mean(row[key] for row in rows["A"])
                b = statistics.mean(row[key] for row in rows["B"])
                print(f"  {key:24s} A {a:9.3f}   B {b:9.3f}   B/A {b / a:6.3f}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
