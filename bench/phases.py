"""The phases of `make bench` (bench/__main__.py runs them), one function per figure group.

`Run` holds what the phases share: the servers started by `set_up`, the trace IDs that
LogFeedback targets, the results so far, and the `Stack` that stops everything at the end.
Each phase writes bench/results/<phase>.json and stops what it alone needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from testbed.feedback_server import FeedbackServerProcess
from testbed.mlflow_server import MlflowServer
from testbed.postgres import PostgresServer
from testbed.processes import kill_group
from testbed.tls import Pki

from . import batch, drain, edge, ingestion, memory, streaming, summary
from . import ghz as ghz_tool
from .common import (
    BIN,
    ROOT,
    CpuMeter,
    PythonServer,
    Stack,
    chat_traces,
    feedback_server,
    load_avg,
    log,
    write_result,
)

#: In running order: the phases that need ghz come last, so that a first run's ghz
#: install (downloads, then a compile at nice 19) overlaps the others.
PHASES = (
    "streaming",
    "memory",
    "drain_sqlite",
    "drain_postgresql",
    "ingestion",
    "scale",
    "batch",
    "seed",
    "edge_secured",
    "edge_oversized",
    "summaries",
)
NEEDS_GHZ = {"ingestion", "scale", "batch", "seed", "edge_secured", "edge_oversized"}
NEEDS_POSTGRES = {"drain_postgresql"}

#: The drain servers keep at most 32 finished turns waiting for export (default 256), so
#: that the backlog left after the trace measurement is gone within seconds; the export
#: rate itself depends on FEEDBACK_EXPORT_WORKERS, not on this bound.
DRAIN_ENV = {"FEEDBACK_EXPORT_MAX_PENDING": "32"}
#: The durability level `normal` (the default is `full`).
NORMAL_ENV = {"FEEDBACK_SPOOL_SYNC": "normal"}
#: Each stream of the memory phase stays open (pieces - 1) x 3 s = 30 s. Otherwise the
#: defaults (up to 1,024 open turns).
MEMORY_ENV = {"FEEDBACK_ECHO_DELAY_S": "3"}
#: The secured side of edge_secured: feedback tokens on, their rate limit out of the way
#: (one token carries the whole load), and a service credential (unused by the load).
SECURED_ENV = {
    "FEEDBACK_TOKEN_SECRET": "bench-" + "0" * 58,
    "FEEDBACK_TOKEN_RATE_PER_MIN": "10000000",
    "FEEDBACK_AUTH_TOKEN": "bench-service-credential",
}


class Durations:
    def __init__(self, quick: bool) -> None:
        #: The largest summary the seed's code is run on in full (larger: estimated).
        self.summary_seed_max = 1_000 if quick else 10_000
        self.run_s = 3.0 if quick else 5.0
        self.stream_rounds = 60 if quick else 120
        self.drain_warm_s = 2.0 if quick else 3.0
        self.drain_window_s = 5.0 if quick else 8.0
        self.streams = 1000


class NicedMlflowServer(MlflowServer):
    """An MLflow server started at nice 19 (`renice(0)` before measuring it)."""

    def command(self) -> list[str]:
        return ["nice", "-n", "19", *super().command()]

    def renice(self, niceness: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PGRP, self.pid, niceness)


@contextlib.contextmanager
def _stalled(server: MlflowServer) -> Iterator[None]:
    """MLflow's processes stopped (SIGSTOP) for the duration, continued whatever happens."""
    import signal

    server.signal_group(signal.SIGSTOP)
    try:
        yield
    finally:
        server.signal_group(signal.SIGCONT)


class Run:
    """One `make bench` run: its phases, scratch directory and everything it started."""

    def __init__(self, phases: list[str], dur: Durations, work: Path, stack: Stack) -> None:
        self.phases = phases
        self.dur = dur
        self.work = work
        self.stack = stack
        self.suffix = uuid.uuid4().hex[:6]
        self.results: dict[str, dict[str, Any]] = {}
        # Shut down after everything it may still be starting has been stopped.
        self.setup = ThreadPoolExecutor(4)
        stack.add(lambda: self.setup.shutdown(wait=True))
        self.protoset = ghz_tool.write_protoset(work / "services.binpb")
        self.ghz_install = ghz_tool.start_install() if self.wants(*NEEDS_GHZ) else None
        if self.ghz_install is not None:
            ghz_install = self.ghz_install
            stack.add(lambda: kill_group(ghz_install))
        self.ml_sqlite = MlflowServer.sqlite(work / "mlflow-sqlite")
        stack.add(self.ml_sqlite.close)
        self.pg: PostgresServer | None = None
        self.pg_mlflow: NicedMlflowServer | None = None
        self.pg_started: Future[MlflowServer] | None = None
        self.servers: dict[str, FeedbackServerProcess] = {}
        self.bare: PythonServer | None = None
        self.trace_ids: list[str] = []
        self.pki: Pki | None = None

    def wants(self, *phases: str) -> bool:
        """Whether any of `phases` runs."""
        return bool(set(phases) & set(self.phases))

    def experiment(self, name: str) -> str:
        return f"bench-{name}-{self.suffix}"

    def record(self, phase: str, res: dict[str, Any]) -> None:
        self.results[phase] = res
        write_result(phase, res)

    def groups(self, *names: str) -> dict[str, int]:
        """Process groups for a `CpuMeter`: the named feedback servers and the SQLite MLflow."""
        out = {n: self.servers[n].pid for n in names if n in self.servers}
        if self.ml_sqlite.pid:
            out["mlflow"] = self.ml_sqlite.pid
        return out


# ---- set-up, in parallel: MLflow servers, PostgreSQL, every server process ---------------


def set_up(run: Run) -> None:
    sqlite_started = run.setup.submit(run.ml_sqlite.start)
    if run.wants(*NEEDS_POSTGRES):
        run.pg = PostgresServer()
        run.stack.add(run.pg.stop)
        run.pg_mlflow = NicedMlflowServer(run.pg.uri, run.work / "mlflow-pg", startup_timeout_s=600)
        run.stack.add(run.pg_mlflow.close)
        run.pg_started = run.setup.submit(_start_pg_mlflow, run.pg, run.pg_mlflow)
    _spawn_servers(run)
    for server in run.servers.values():
        server.wait_serving(180)
    if run.bare is not None:
        run.bare.wait_serving()
    sqlite_started.result()
    if run.pg_started is not None:
        # Its start-up must not overlap a measurement; a failure only skips its phase.
        with contextlib.suppress(Exception):
            run.pg_started.result()
    log(f"MLflow (SQLite) at {run.ml_sqlite.url}; servers up: {sorted(run.servers)}")
    ghz_tool.deprioritize(run.ghz_install)


def _start_pg_mlflow(pg: PostgresServer, server: NicedMlflowServer) -> MlflowServer:
    # Installed (on a fresh machine) and started at nice 19, so that it yields to the other
    # set-up work; MLflow gets its normal priority back before it is measured.
    subprocess.run(
        ["nice", "-n", "19", str(BIN / "python"), "-m", "testbed.postgres", "ensure"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pg.start()
    return server.start()


def _spawn_servers(run: Run) -> None:
    """Every feedback server and baseline the phases need, spawned side by side."""
    url = run.ml_sqlite.url

    def spawn(key: str, name: str, experiment: str, **kwargs: Any) -> None:
        run.servers[key] = feedback_server(
            run.stack, run.work, name, experiment=run.experiment(experiment), **kwargs
        )

    if run.wants("streaming", "ingestion", "scale", "batch"):
        spawn("main", "server-main", "main", tracking_uri=url, metrics=True)
    if run.wants("ingestion"):
        # The same server with FEEDBACK_SPOOL_SYNC=normal (no fsync per commit).
        spawn(
            "main_normal",
            "server-main-normal",
            "main-normal",
            tracking_uri=url,
            env=NORMAL_ENV,
            metrics=True,
        )
    if run.wants("streaming"):
        run.bare = PythonServer(run.stack, run.work, "bare-echo", "bench.echo_server")
    if run.wants("memory"):
        spawn("memory", "server-memory", "memory", tracking_uri=url, env=MEMORY_ENV)
    if run.wants("drain_sqlite"):
        spawn("drain_sqlite", "server-drain-sqlite", "drain", tracking_uri=url, env=DRAIN_ENV)
    if run.wants("edge_secured"):
        run.pki = Pki.create(run.work / "pki")
        spawn("edge_plain", "server-edge-plain", "edge-plain", tracking_uri=url)
        spawn(
            "edge_secured",
            "server-edge-secured",
            "edge-secured",
            tracking_uri=url,
            env=SECURED_ENV,
            pki=run.pki,
        )
    if run.wants("edge_oversized"):
        spawn("edge_oversized", "server-edge-oversized", "edge-oversized", tracking_uri=url)
    if run.wants("drain_postgresql"):
        # It serves before its MLflow server is up (MLflow is resolved lazily).
        assert run.pg_mlflow is not None
        spawn(
            "drain_postgresql",
            "server-drain-pg",
            "drain-pg",
            tracking_uri=run.pg_mlflow.url,
            env=DRAIN_ENV,
        )


# ---- 3. streaming overhead -------------------------------------------------------------------


def streaming_phase(run: Run) -> None:
    log("phase streaming")
    assert run.bare is not None
    res = asyncio.run(
        streaming.measure(
            run.servers["main"].port, run.bare.port, rounds=run.dur.stream_rounds, rate_hz=6.0
        )
    )
    res["load_avg"] = load_avg()
    run.bare.proc.stop(5)
    run.record("streaming", res)


# ---- 5a. memory with 1,000 open streams ------------------------------------------------------


def memory_phase(run: Run) -> None:
    log("phase memory")
    server = run.servers["memory"]
    res = asyncio.run(memory.measure(server.port, server.pid, streams=run.dur.streams))
    res["settings"] = {"FEEDBACK_ECHO_DELAY_S": 3}
    res["load_avg"] = load_avg()
    server.stop(3)  # its 1,000 cancelled turns' exports are abandoned
    run.record("memory", res)


def feedback_targets(run: Run) -> None:
    """LogFeedback's targets, made after the streaming phase so that their exports do not
    run behind it; before the drain phases, wait until they are exported (so that those
    measure MLflow alone)."""
    if "main" not in run.servers:
        return
    run.trace_ids = chat_traces(run.servers["main"].port, 64)
    if run.wants("drain_sqlite", "drain_postgresql"):
        counter = drain.StoreCounter(run.ml_sqlite.backend_store_uri)
        eid = counter.experiment_id(run.experiment("main"))
        t_wait = time.monotonic()
        drain.wait_stable(counter, eid, 0, 10**9, 120)
        log(f"main server's exports done after {time.monotonic() - t_wait:.1f}s more")


# ---- 4. export and drain on SQLite and PostgreSQL ----------------------------------------------


def drain_phase(run: Run, store: str) -> None:
    phase = f"drain_{store}"
    log(f"phase {phase}")
    service = run.servers[phase]
    server: MlflowServer
    if store == "sqlite":
        server = run.ml_sqlite
        counter = drain.StoreCounter(server.backend_store_uri)
        experiment = run.experiment("drain")
    else:
        assert run.pg_started is not None and run.pg is not None and run.pg_mlflow is not None
        try:
            run.pg_started.result()
        except Exception as exc:
            log(f"skipping {phase}: PostgreSQL or its MLflow server did not start: {exc}")
            run.results[phase] = {"error": str(exc)[-2000:]}
            return
        server = run.pg_mlflow
        run.pg_mlflow.renice(0)
        counter = drain.StoreCounter(server.backend_store_uri, run.pg.libpq_uri)
        experiment = run.experiment("drain-pg")
    res = drain.measure(
        store=store,
        counter=counter,
        tracking_uri=server.url,
        experiment=experiment,
        service_port=service.port,
        work=run.work,
        warm_s=run.dur.drain_warm_s,
        window_s=run.dur.drain_window_s,
    )
    res["load_avg"] = load_avg()
    service.stop(3)
    if run.pg is not None and store == "postgresql":
        # Not needed any more: no CPU or disk for the phases after.
        server.stop()
        run.pg.stop()
    run.record(phase, res)


# ---- 1. ingestion vs the framework ceiling -----------------------------------------------------


def ingestion_phase(run: Run) -> None:
    """LogFeedback against Check on the same server, at FEEDBACK_SPOOL_SYNC=full (the
    default; also with MLflow stalled) and then normal (figures suffixed `_normal`)."""
    log("phase ingestion")
    main = run.servers["main"]
    res = ingestion.framework(
        main.port,
        run.trace_ids,
        run.protoset,
        seconds=run.dur.run_s,
        meter=CpuMeter(run.groups("main")),
        stall_mlflow=lambda: _stalled(run.ml_sqlite),
        metrics=main.metrics,
    )
    normal = run.servers["main_normal"]
    log("ingestion, FEEDBACK_SPOOL_SYNC=normal")
    res_normal = ingestion.framework(
        normal.port,
        chat_traces(normal.port, 64),
        run.protoset,
        seconds=run.dur.run_s,
        meter=CpuMeter(run.groups("main_normal")),
        concurrencies=(16, 64),
        at_half_check=False,
        metrics=normal.metrics,
    )
    normal.stop(3)
    res["runs_normal"] = res_normal["runs"]
    res["figures"] |= {f"{k}_normal": v for k, v in res_normal["figures"].items()}
    run.record("ingestion", res)


# ---- 5b. one and two server processes on one port ----------------------------------------------


def scale_phase(run: Run) -> None:
    log("phase scale")
    port = run.servers["main"].port
    one = ingestion.scale_point(
        port, run.trace_ids, run.protoset, seconds=run.dur.run_s, meter=CpuMeter(run.groups("main"))
    )
    second = feedback_server(
        run.stack,
        run.work,
        "server-second",
        tracking_uri=run.ml_sqlite.url,
        experiment=run.experiment("main"),
        port=port,
    ).wait_serving()
    time.sleep(1.0)
    meter = CpuMeter(run.groups("main") | {"second": second.pid})
    two = ingestion.scale_point(
        port, run.trace_ids, run.protoset, seconds=run.dur.run_s, meter=meter
    )
    second.stop(3)
    res = {
        "one_process": one,
        "two_processes": two,
        "figures": {
            "log_feedback_ratio": round(two["log_feedback"]["rps"] / one["log_feedback"]["rps"], 2),
            "health_ratio": round(two["health_check"]["rps"] / one["health_check"]["rps"], 2),
            "log_feedback_rps_1": one["log_feedback"]["rps"],
            "log_feedback_rps_2": two["log_feedback"]["rps"],
        },
    }
    run.record("scale", res)


# ---- 6. BatchLogFeedback against single calls ----------------------------------------------------


def batch_phase(run: Run) -> None:
    log("phase batch")
    res = batch.measure(
        run.servers["main"].port, run.trace_ids, run.protoset, seconds=run.dur.run_s
    )
    run.record("batch", res)


# ---- 7. SummarizeFeedback at 1k, 10k, 100k traces --------------------------------------------


def summary_phase(run: Run) -> None:
    log("phase summaries")
    res = summary.measure(run.stack, run.work, seed_max=run.dur.summary_seed_max)
    run.record("summaries", res)


# ---- 2. ingestion vs the seed's design ---------------------------------------------------------


def seed_phase(run: Run) -> None:
    log("phase seed")
    seed_server = PythonServer(
        run.stack,
        run.work,
        "seed",
        "bench.seed_server",
        "--tracking-uri",
        run.ml_sqlite.url,
        "--experiment",
        run.experiment("main"),
    )
    port = seed_server.wait_serving()
    if "ingestion" not in run.results:  # its figures are the other side of the ratio
        raise SystemExit("the seed phase needs the ingestion phase (same run)")
    meter = CpuMeter({"seed": seed_server.proc.pid, "mlflow": run.ml_sqlite.pid or 0})
    res = ingestion.seed(
        port,
        run.trace_ids,
        run.protoset,
        run.results["ingestion"],
        seconds=run.dur.run_s,
        meter=meter,
    )
    seed_server.proc.stop(5)
    run.record("seed", res)


# ---- 6. the trusted edge: mTLS + feedback tokens; oversized input ----------------------------


def edge_secured_phase(run: Run) -> None:
    log("phase edge_secured")
    assert run.pki is not None
    plain, secure = run.servers["edge_plain"], run.servers["edge_secured"]
    res = edge.secured(
        plain.port,
        secure.port,
        run.pki,
        run.protoset,
        credential=SECURED_ENV["FEEDBACK_AUTH_TOKEN"],
        seconds=run.dur.run_s,
        stall_mlflow=lambda: _stalled(run.ml_sqlite),
        meter=CpuMeter(run.groups("edge_plain", "edge_secured")),
    )
    plain.stop(3)
    secure.stop(3)
    run.record("edge_secured", res)


def edge_oversized_phase(run: Run) -> None:
    log("phase edge_oversized")
    server = run.servers["edge_oversized"]
    res = edge.oversized(
        server.port,
        run.protoset,
        seconds=run.dur.run_s,
        meter=CpuMeter(run.groups("edge_oversized")),
    )
    server.stop(3)
    run.record("edge_oversized", res)


def run_phases(run: Run) -> None:
    """Every selected phase, in the order of `PHASES` (with the steps between them)."""
    set_up(run)
    if run.wants("streaming"):
        streaming_phase(run)
    if run.wants("memory"):
        memory_phase(run)
    feedback_targets(run)
    for store in ("sqlite", "postgresql"):
        if run.wants(f"drain_{store}"):
            drain_phase(run, store)
    if run.wants(*NEEDS_GHZ):
        ghz_tool.wait_install(run.ghz_install)
    if run.wants("ingestion"):
        ingestion_phase(run)
    if run.wants("scale"):
        scale_phase(run)
    if run.wants("batch"):
        batch_phase(run)
    if "main" in run.servers:
        run.servers["main"].stop(3)  # its drain backlog is dropped with its scratch spool
    if run.wants("seed"):
        seed_phase(run)
    if run.wants("edge_secured"):
        edge_secured_phase(run)
    if run.wants("edge_oversized"):
        edge_oversized_phase(run)
    if run.wants("summaries"):
        summary_phase(run)
