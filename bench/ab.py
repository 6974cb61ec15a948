"""Before/after: the server at another git revision (A) against the working tree (B).

    .venv/bin/python -m bench.ab 1b0529f            # 4 interleaved rounds
    .venv/bin/python -m bench.ab 1b0529f --rounds 6

Both servers run at once against one MLflow server (SQLite), each with its own spool; the
revision's `server/` is checked out into a scratch git worktree and put first on the
server's PYTHONPATH. Rounds alternate A-B / B-A, so that machine noise hits both alike.
Per round and server:

- the chat figures of `bench.chat_cost` (what a durable trace costs a turn: Chat burst,
  CPU per turn with its export, StreamChat time to completion, with and without a paced
  backend; a second server per revision serves the paced streams);
- LogFeedback and health Check at C=16 (ghz, closed loop), and their ratio; LogFeedback's
  p99 offered 100/s (open loop);
- drain: 1,200 LogFeedback calls, then the time until the spool is empty and the server's
  CPU time per drained judgment (from /proc, every process of its group, its drain worker
  included; and the serving process alone), and the operations per spool commit during
  the LogFeedback run.

`--env B:FEEDBACK_SPOOL_SYNC=normal` (repeatable) sets a variable for one side's servers.

`--parts chat` or `--parts feedback` runs only one of the two.

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

from . import chat_cost, ingestion
from . import ghz as ghz_tool
from .common import (
    ROOT,
    WORK_BASE,
    Stack,
    chat_traces,
    feedback_server,
    group_cpu_s,
    log,
    process_cpu_s,
)
from .drain import StoreCounter


def _spool_depth(server: FeedbackServerProcess) -> float:
    depth = server.metrics().get("feedback_spool_depth")
    if depth is None:
        raise RuntimeError("feedback_spool_depth not exported")
    return depth


def _feedback_round(
    name: str, server: FeedbackServerProcess, data: Any, protoset: Path
) -> dict[str, float]:
    port, pid = server.port, server.pid
    before = server.metrics()
    lf = ghz_tool.run_ghz(
        port, ingestion.LOG_FEEDBACK, data=data, concurrency=16, duration_s=6, protoset=protoset
    )
    after = server.metrics()
    slow = ghz_tool.run_ghz(  # open loop at a modest rate: the tail, not the saturation
        port,
        ingestion.LOG_FEEDBACK,
        data=data,
        concurrency=16,
        duration_s=5,
        rps=100,
        protoset=protoset,
    )
    batch = "feedback_spool_commit_batch_size"
    commits = after.get(f"{batch}_count", 0.0) - before.get(f"{batch}_count", 0.0)
    ops = after.get(f"{batch}_sum", 0.0) - before.get(f"{batch}_sum", 0.0)
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
    own0 = process_cpu_s(pid)
    while _spool_depth(server) > 0:
        time.sleep(0.2)
    cpu1, t1 = group_cpu_s([pid])[pid], time.monotonic()
    own1 = process_cpu_s(pid)
    row = {
        "log_feedback_rps": lf["rps"],
        "check_rps": hc["rps"],
        "ratio": lf["rps"] / hc["rps"],
        "log_feedback_p99_ms": lf["p99_ms"],
        "p99_ms_at_100rps": slow["p99_ms"],
        "drain_per_s": depth / (t1 - t0),
        "cpu_ms_per_drained": 1000 * (cpu1 - cpu0) / depth,
        # The serving process alone (without a drain worker process, if it has one).
        "serving_cpu_ms_per_drained": 1000 * (own1 - own0) / depth,
        "commit_batch_size": ops / commits if commits else 0.0,
    }
    log(
        f"{name}: LogFeedback {row['log_feedback_rps']:.0f}/s (p99 {row['log_feedback_p99_ms']:.0f}"
        f" ms; {row['p99_ms_at_100rps']:.1f} ms at 100/s), Check {row['check_rps']:.0f}/s,"
        f" ratio {row['ratio']:.3f}; drained {depth:.0f} at"
        f" {row['drain_per_s']:.1f}/s, {row['cpu_ms_per_drained']:.2f} ms CPU per judgment"
        f" ({row['serving_cpu_ms_per_drained']:.2f} in the serving process); commits of"
        f" {row['commit_batch_size']:.1f} operations"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="git revision of A (the working tree is B)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--parts", default="chat,feedback", help="chat, feedback or both")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="SIDE:KEY=VALUE",
        help="an environment variable for A's or B's servers, e.g. B:FEEDBACK_SPOOL_SYNC=normal",
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
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
            trees: dict[str, dict[str, str]] = {"A": {"PYTHONPATH": str(tree / "server")}, "B": {}}
            for item in args.env:
                side, _, pair = item.partition(":")
                key, _, value = pair.partition("=")
                trees[side][key] = value
            names = [f"{n}{kind}" for n in "AB" for kind in ("", "-paced")]
            experiments = {name: f"ab-{name}-{uuid.uuid4().hex[:6]}" for name in names}
            servers = {
                name: feedback_server(
                    stack,
                    work,
                    name,
                    tracking_uri=mlflow.url,
                    experiment=experiments[name],
                    env={
                        **(chat_cost.PACED_ENV if name.endswith("paced") else chat_cost.ENV),
                        **trees[name[0]],
                    },
                    metrics=True,
                )
                for name in names
            }
            for server in servers.values():
                server.wait_serving(180)
            protoset = ghz_tool.write_protoset(work / "services.binpb")
            # 64 traces for LogFeedback to target; one turn on each paced server (it streams
            # for 1.3 s) so that its experiment exists.
            made = {n: 1 if n.endswith("paced") else 64 for n in servers}
            traces = {n: chat_traces(servers[n].port, k) for n, k in made.items()}
            data = {n: ingestion.feedback_requests(traces[n]) for n in ("A", "B")}
            counter = StoreCounter(mlflow.backend_store_uri)
            exported = {n: chat_cost.Exported(counter, experiments[n], made[n]) for n in servers}
            rows: dict[str, list[dict[str, float]]] = {"A": [], "B": []}
            for r in range(args.rounds):
                for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                    row: dict[str, float] = {}
                    if "chat" in parts:
                        paced = f"{name}-paced"
                        row |= chat_cost.measure(
                            servers[name], exported[name], servers[paced], exported[paced], protoset
                        )
                        log(
                            f"round {r} {name}: "
                            + ", ".join(f"{k} {v:.2f}" for k, v in row.items())
                        )
                    if "feedback" in parts:
                        row |= _feedback_round(
                            f"round {r} {name}", servers[name], data[name], protoset
                        )
                    rows[name].append(row)
            print(f"\nA = {args.revision}, B = working tree; means over {args.rounds} rounds")
            for key in rows["A"][0]:  # a mean of each figure, and the ratio
                a = statistics.mean(row[key] for row in rows["A"])
                b = statistics.mean(row[key] for row in rows["B"])
                print(f"  {key:32s} A {a:9.3f}   B {b:9.3f}   B/A {b / a:6.3f}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
