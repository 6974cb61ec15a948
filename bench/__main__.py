"""`make bench`: every benchmark of the service in one run, figures as ratios.

    .venv/bin/python -m bench            # the full run (< 10 minutes on 2 cores)
    .venv/bin/python -m bench --quick    # shorter runs, for trying changes
    .venv/bin/python -m bench --phases streaming,memory

Writes bench/results/<phase>.json (one per phase), bench/results/summary.json (the
figures, the targets and whether each holds) and bench/results/bench.png, and
prints the summary table. Everything it starts (MLflow servers, PostgreSQL, feedback
servers, the baselines, ghz) runs on 127.0.0.1 and is stopped at the end; scratch
data goes to var/bench/ and is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from testbed.feedback_server import FeedbackServerProcess
from testbed.processes import kill_group

from . import chart, drain, ingestion, memory, streaming
from . import ghz as ghz_tool
from .common import (
    BIN,
    RESULTS,
    ROOT,
    WORK_BASE,
    CpuMeter,
    PythonServer,
    Stack,
    chat_traces,
    feedback_server,
    load_avg,
    log,
    write_result,
)
from .phases import DRAIN_ENV, Durations, _niced_mlflow_server_class, _stalled

#: In running order: the phases that need ghz come last, so that a first run's ghz
#: install (downloads, then a compile at nice 19) overlaps the others.
PHASES = (
    "streaming",
    "memory",
    "drain_sqlite",
    "drain_postgresql",
    "ingestion",
    "scale",
    "seed",
)
NEEDS_GHZ = {"ingestion", "scale", "seed"}
NEEDS_POSTGRES = {"drain_postgresql"}

#: The issue's targets: (figure path in the results, comparison, threshold, description).
TARGETS: list[tuple[str, str, str, float, str]] = [
    ("ingestion", "rps_ratio_c16", ">=", 0.5, "LogFeedback >= 0.5 x health Check rps at C=16"),
    (
        "ingestion",
        "log_feedback_p99_ms_c16",
        "<=",
        20.0,
        "LogFeedback p99 <= 20 ms at C=16, closed loop (saturated)",
    ),
    (
        "ingestion",
        "log_feedback_p99_ms_at_half_check",
        "<=",
        20.0,
        "LogFeedback p99 <= 20 ms at C=16, offered 0.5 x Check rps",
    ),
    ("seed", "rps_ratio_c16", ">=", 20.0, "LogFeedback ack >= 20 x the seed design at C=16"),
    ("drain_sqlite", "traces_ratio", ">=", 0.9, "traces reaching MLflow >= 90% ceiling, SQLite"),
    ("drain_sqlite", "judgments_ratio", ">=", 0.9, "judgments drained >= 90% ceiling, SQLite"),
    (
        "drain_postgresql",
        "traces_ratio",
        ">=",
        0.9,
        "traces reaching MLflow >= 90% ceiling, PostgreSQL",
    ),
    (
        "drain_postgresql",
        "judgments_ratio",
        ">=",
        0.9,
        "judgments drained >= 90% ceiling, PostgreSQL",
    ),
    ("streaming", "ttfd_added_ms", "<=", 1.0, "StreamChat adds <= 1 ms to time to first delta"),
    (
        "streaming",
        "ttfd_added_by_service_code_ms",
        "<=",
        1.0,
        "(same, gRPC transport excluded: service vs bare grpc.aio)",
    ),
    ("memory", "rss_peak_mb", "<=", 300.0, "1,000 open streams in <= 300 MB RSS"),
]


def evaluate(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for phase, key, op, threshold, text in TARGETS:
        value = results.get(phase, {}).get("figures", {}).get(key)
        holds = None
        if value is not None:
            holds = value >= threshold if op == ">=" else value <= threshold
        rows.append(
            {
                "target": text,
                "figure": f"{phase}.{key}",
                "value": value,
                "op": op,
                "threshold": threshold,
                "holds": holds,
            }
        )
    return rows


def print_table(results: dict[str, dict[str, Any]], targets: list[dict[str, Any]]) -> None:
    lines = ["", "Figures (ratios against baselines measured in this run)", "-" * 78]
    for phase in PHASES:
        figures = results.get(phase, {}).get("figures")
        if not figures:
            continue
        lines.append(f"{phase}:")
        for key, value in figures.items():
            lines.append(f"  {key:44s} {value}")
    lines += ["", "Targets", "-" * 78]
    for row in targets:
        mark = {True: "HOLDS", False: "MISSED", None: "n/a"}[row["holds"]]
        lines.append(f"  [{mark:6s}] {row['target']:52s} {row['value']}")
    print("\n".join(lines), flush=True)


def markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (bench/results/summary.md, for docs/performance.md)."""
    m = summary["machine"]
    lines = [
        f"Run of {summary['date']}: `{summary['command']}`, {summary['elapsed_s']:.0f} s, "
        f"{m['cpus']} CPUs, load average {m['load_avg_at_start'][0]:.1f} at start, "
        f"{m['load_avg_at_end'][0]:.1f} at end.",
        "",
        "| Target | Figure | Value | Holds |",
        "|---|---|---|---|",
    ]
    for row in summary["targets"]:
        mark = {True: "yes", False: "**no**", None: "n/a"}[row["holds"]]
        lines.append(f"| {row['target']} | `{row['figure']}` | {row['value']} | {mark} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (for development)")
    parser.add_argument("--phases", default=",".join(PHASES), help="comma-separated subset")
    parser.add_argument("--keep", action="store_true", help="keep var/bench/run-* (logs)")
    args = parser.parse_args(argv)
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {sorted(unknown)}")
    dur = Durations(args.quick)
    t_start = time.monotonic()
    load_at_start = load_avg()
    log(f"phases {phases}; load average {load_at_start} on {os.cpu_count()} CPUs")

    from testbed.mlflow_server import MlflowServer
    from testbed.postgres import PostgresServer

    _NicedMlflowServer = _niced_mlflow_server_class()

    work = WORK_BASE / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    protoset = ghz_tool.write_protoset(work / "services.binpb")
    ghz_install = ghz_tool.start_install() if NEEDS_GHZ & set(phases) else None
    results: dict[str, dict[str, Any]] = {}
    suffix = uuid.uuid4().hex[:6]
    setup = ThreadPoolExecutor(4)

    with Stack() as stack:
        if not args.keep:
            stack.add(lambda: shutil.rmtree(work, ignore_errors=True))
        stack.add(lambda: setup.shutdown(wait=True))
        if ghz_install is not None:
            stack.add(lambda: kill_group(ghz_install))

        # ---- set-up, in parallel: MLflow servers, PostgreSQL, every server process --------
        ml_sqlite = MlflowServer.sqlite(work / "mlflow-sqlite")
        stack.add(ml_sqlite.close)
        f_sqlite = setup.submit(ml_sqlite.start)
        f_pg = None
        pg: PostgresServer | None = None
        pg_mlflow: Any = None
        if NEEDS_POSTGRES & set(phases):
            pg = PostgresServer()
            stack.add(pg.stop)
            pg_mlflow = _NicedMlflowServer(pg.uri, work / "mlflow-pg", startup_timeout_s=600)
            stack.add(pg_mlflow.close)

            def start_pg_mlflow() -> Any:
                # Installed (on a fresh machine) and started at nice 19, so that it yields
                # to the other set-up work; MLflow gets its normal priority back before
                # it is measured.
                assert pg is not None
                subprocess.run(
                    [
                        "nice",
                        "-n",
                        "19",
                        str(BIN / "python"),
                        "-m",
                        "testbed.postgres",
                        "ensure",
                    ],
                    cwd=ROOT,
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                pg.start()
                return pg_mlflow.start()

            f_pg = setup.submit(start_pg_mlflow)

        url = ml_sqlite.url
        procs: dict[str, FeedbackServerProcess] = {}
        bare: PythonServer | None = None
        if {"streaming", "ingestion", "scale"} & set(phases):
            procs["main"] = feedback_server(
                stack, work, "server-main", tracking_uri=url, experiment=f"bench-main-{suffix}"
            )
        if "streaming" in phases:
            bare = PythonServer(stack, work, "bare-echo", "bench.echo_server")
        if "memory" in phases:
            procs["memory"] = feedback_server(
                stack,
                work,
                "server-memory",
                tracking_uri=url,
                experiment=f"bench-memory-{suffix}",
                env={
                    # Each stream stays open (pieces - 1) x 3 s = 30 s. Otherwise the
                    # defaults (up to 1,024 open turns).
                    "FEEDBACK_ECHO_DELAY_S": "3",
                },
            )
        if "drain_sqlite" in phases:
            procs["drain_sqlite"] = feedback_server(
                stack,
                work,
                "server-drain-sqlite",
                tracking_uri=url,
                experiment=f"bench-drain-{suffix}",
                env=DRAIN_ENV,
            )
        if "drain_postgresql" in phases:
            # It serves before its MLflow server is up (MLflow is resolved lazily).
            procs["drain_postgresql"] = feedback_server(
                stack,
                work,
                "server-drain-pg",
                tracking_uri=pg_mlflow.url,
                experiment=f"bench-drain-pg-{suffix}",
                env=DRAIN_ENV,
            )
        for server in procs.values():
            server.wait_serving(180)
        if bare is not None:
            bare.wait_serving()
        f_sqlite.result()
        if f_pg is not None:
            # Its start-up must not overlap a measurement; a failure only skips its phase.
            with contextlib.suppress(Exception):
                f_pg.result()
        log(f"MLflow (SQLite) at {url}; servers up: {sorted(procs)}")
        ghz_tool.deprioritize(ghz_install)

        trace_ids: list[str] = []

        def groups(*names: str) -> dict[str, int]:
            out = {n: procs[n].pid for n in names if n in procs}
            if ml_sqlite.pid:
                out["mlflow"] = ml_sqlite.pid
            return out

        # ---- 3. streaming overhead ---------------------------------------------------------
        if "streaming" in phases:
            log("phase streaming")
            assert bare is not None
            res = asyncio.run(
                streaming.measure(
                    procs["main"].port, bare.port, rounds=dur.stream_rounds, rate_hz=6.0
                )
            )
            res["load_avg"] = load_avg()
            bare.proc.stop(5)
            results["streaming"] = res
            write_result("streaming", res)

        # ---- 5a. memory with 1,000 open streams ----------------------------------------------
        if "memory" in phases:
            log("phase memory")
            server = procs["memory"]
            res = asyncio.run(memory.measure(server.port, server.pid, streams=dur.streams))
            res["settings"] = {"FEEDBACK_ECHO_DELAY_S": 3}
            res["load_avg"] = load_avg()
            server.stop(3)  # its 1,000 cancelled turns' exports are abandoned
            results["memory"] = res
            write_result("memory", res)

        if "main" in procs:
            # LogFeedback's targets, made after the streaming phase so that their exports
            # do not run behind it (they finish during the wait below).
            trace_ids = chat_traces(procs["main"].port, 64)
        if {"drain_sqlite", "drain_postgresql"} & set(phases) and "main" in procs:
            # The main server's chat turns are still being exported to the SQLite MLflow:
            # wait, so that the drain phases measure MLflow alone.
            sqlite_counter = drain.StoreCounter(ml_sqlite.backend_store_uri)
            eid = sqlite_counter.experiment_id(f"bench-main-{suffix}")
            t_wait = time.monotonic()
            drain.wait_stable(sqlite_counter, eid, 0, 10**9, 120)
            log(f"main server's exports done after {time.monotonic() - t_wait:.1f}s more")

        # ---- 4. export and drain on SQLite and PostgreSQL --------------------------------------
        for store in ("sqlite", "postgresql"):
            phase = f"drain_{store}"
            if phase not in phases:
                continue
            log(f"phase {phase}")
            service = procs[phase]
            if store == "sqlite":
                server = ml_sqlite
                counter = drain.StoreCounter(server.backend_store_uri)
                experiment = f"bench-drain-{suffix}"
            else:
                assert f_pg is not None and pg is not None
                try:
                    server = f_pg.result()
                except Exception as exc:
                    log(f"skipping {phase}: PostgreSQL or its MLflow server did not start: {exc}")
                    results[phase] = {"error": str(exc)[-2000:]}
                    continue
                server.renice(0)
                counter = drain.StoreCounter(server.backend_store_uri, pg.libpq_uri)
                experiment = f"bench-drain-pg-{suffix}"
            res = drain.measure(
                store=store,
                counter=counter,
                tracking_uri=server.url,
                experiment=experiment,
                service_port=service.port,
                work=work,
                warm_s=dur.drain_warm_s,
                window_s=dur.drain_window_s,
            )
            res["load_avg"] = load_avg()
            service.stop(3)
            if store == "postgresql":  # not needed any more: no CPU or disk for the phases after
                server.stop()
                assert pg is not None
                pg.stop()
            results[phase] = res
            write_result(phase, res)

        if NEEDS_GHZ & set(phases):
            ghz_tool.wait_install(ghz_install)

        # ---- 1. ingestion vs the framework ceiling --------------------------------------------
        if "ingestion" in phases:
            log("phase ingestion")
            meter = CpuMeter(groups("main"))
            res = ingestion.framework(
                procs["main"].port,
                trace_ids,
                protoset,
                seconds=dur.run_s,
                meter=meter,
                stall_mlflow=lambda: _stalled(ml_sqlite.pid),
            )
            results["ingestion"] = res
            write_result("ingestion", res)

        # ---- 5b. one and two server processes on one port -------------------------------------
        if "scale" in phases:
            log("phase scale")
            port = procs["main"].port
            one = ingestion.scale_point(
                port, trace_ids, protoset, seconds=dur.run_s, meter=CpuMeter(groups("main"))
            )
            second = feedback_server(
                stack,
                work,
                "server-second",
                tracking_uri=url,
                experiment=f"bench-main-{suffix}",
                port=port,
            ).wait_serving()
            time.sleep(1.0)
            meter = CpuMeter(groups("main") | {"second": second.pid})
            two = ingestion.scale_point(port, trace_ids, protoset, seconds=dur.run_s, meter=meter)
            second.stop(3)
            res = {
                "one_process": one,
                "two_processes": two,
                "figures": {
                    "log_feedback_ratio": round(
                        two["log_feedback"]["rps"] / one["log_feedback"]["rps"], 2
                    ),
                    "health_ratio": round(
                        two["health_check"]["rps"] / one["health_check"]["rps"], 2
                    ),
                    "log_feedback_rps_1": one["log_feedback"]["rps"],
                    "log_feedback_rps_2": two["log_feedback"]["rps"],
                },
            }
            results["scale"] = res
            write_result("scale", res)
        if "main" in procs:
            procs["main"].stop(3)  # its drain backlog is dropped with its scratch spool

        # ---- 2. ingestion vs the seed's design ------------------------------------------------
        if "seed" in phases:
            log("phase seed")
            seed_server = PythonServer(
                stack,
                work,
                "seed",
                "bench.seed_server",
                "--tracking-uri",
                url,
                "--experiment",
                f"bench-main-{suffix}",
            )
            port = seed_server.wait_serving()
            if "ingestion" not in results:  # its figures are the other side of the ratio
                raise SystemExit("the seed phase needs the ingestion phase (same run)")
            meter = CpuMeter({"seed": seed_server.proc.pid, "mlflow": ml_sqlite.pid or 0})
            res = ingestion.seed(
                port, trace_ids, protoset, results["ingestion"], seconds=dur.run_s, meter=meter
            )
            seed_server.proc.stop(5)
            results["seed"] = res
            write_result("seed", res)

    elapsed = time.monotonic() - t_start
    targets = evaluate(results)
    subtitle = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load {load_at_start[0]:.1f}"
        f"{', quick' if args.quick else ''}"
    )
    if set(phases) == set(PHASES):
        chart.render(results, RESULTS / "bench.png", subtitle)
    summary = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "make bench" + (" (--quick)" if args.quick else ""),
        "elapsed_s": round(elapsed, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_start": load_at_start,
            "load_avg_at_end": load_avg(),
        },
        "ghz": ghz_tool.GHZ_VERSION,
        "phases": phases,
        "figures": {p: results[p].get("figures") for p in results},
        "targets": targets,
    }
    if set(phases) == set(PHASES):
        write_result("summary", summary)
        (RESULTS / "summary.md").write_text(markdown(summary))
    print_table(results, targets)
    print(f"\nmake bench took {elapsed:.0f} s; results in {RESULTS}", flush=True)
    json.dumps(summary)  # fail loudly here, not in a reader, if something is not JSON
    return 0


if __name__ == "__main__":
    sys.exit(main())
