"""Shared plumbing of the benchmarks: servers, results, CPU and memory figures.

The servers (MLflow, PostgreSQL, the feedback server, the baselines) come from testbed/,
each in its own process group; `Stack` stops everything a run started, in reverse order,
whatever happens.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from testbed.feedback_server import FeedbackServerProcess
from testbed.health import grpc_serving
from testbed.processes import Process
from testbed.stats import percentile

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
#: Scratch space of one run (stores, spools, logs): gitignored, removed at the end.
WORK_BASE = ROOT / "var" / "bench"
#: The feedback servers' settings in every benchmark, unless a phase says otherwise.
SERVER_ENV = {
    "FEEDBACK_LOG_LEVEL": "WARNING",
    "FEEDBACK_SHUTDOWN_GRACE_S": "1",
    "FEEDBACK_SHUTDOWN_DELAY_S": "0",
}

__all__ = [
    "BIN",
    "RESULTS",
    "ROOT",
    "WORK_BASE",
    "CpuMeter",
    "PythonServer",
    "Stack",
    "chat_traces",
    "feedback_server",
    "load_avg",
    "log",
    "rss_mb",
    "serve_until_signalled",
    "summarize_ms",
    "write_result",
]

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """Count, mean and nearest-rank percentiles of a non-empty series of seconds, in ms."""
    ms = [s * 1000 for s in samples_s]
    if not ms:
        raise ValueError("no samples")
    out = {"n": len(ms), "mean_ms": round(statistics.fmean(ms), 4)}
    for pct in (50, 90, 99):
        out[f"p{pct}_ms"] = round(percentile(ms, pct) or 0.0, 4)
    return out


def write_result(name: str, payload: dict[str, Any]) -> Path:
    """Writes bench/results/<name>.json atomically (via a .tmp file, which git ignores)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgids: Sequence[int]) -> dict[int, float]:
    """CPU seconds (user + system) used so far by every live process of each process group."""
    totals = {pgid: 0.0 for pgid in pgids}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pgid = int(fields[2])
        if pgid in totals:
            totals[pgid] += (int(fields[11]) + int(fields[12])) / _TICKS
    return totals


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by one process (all its threads)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


class CpuMeter:
    """CPU used by process groups between `start()` and `stop()`, as % of one core."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups
        self._t0 = 0.0
        self._c0: dict[int, float] = {}

    def start(self) -> None:
        self._c0 = group_cpu_s(list(self.groups.values()))
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        c1 = group_cpu_s(list(self.groups.values()))
        wall = max(1e-9, time.monotonic() - self._t0)
        return {
            name: round(100 * (c1[pgid] - self._c0.get(pgid, 0.0)) / wall, 1)
            for name, pgid in self.groups.items()
        }


def rss_mb(pid: int) -> float:
    """Resident set size of one process, in MiB (from /proc, no psutil needed)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Stack:
    """Things to stop at the end of a phase, stopped in reverse order."""

    def __init__(self) -> None:
        self._stops: list[Callable[[], None]] = []

    def add(self, stop: Callable[[], None]) -> None:
        self._stops.append(stop)

    def close(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # pragma: no cover - best effort cleanup
                log(f"cleanup failed: {exc!r}")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def feedback_server(
    stack: Stack,
    work: Path,
    name: str,
    *,
    tracking_uri: str,
    experiment: str,
    env: dict[str, str] | None = None,
    **kwargs: Any,
) -> FeedbackServerProcess:
    """`feedback-server` with its own spool under `work`, spawned (not waited for: see
    `FeedbackServerProcess.wait_serving`) and closed by `stack` at the end; `kwargs` go to
    `FeedbackServerProcess` (``metrics=True``, ``port=`` for a second replica)."""
    kwargs.setdefault("metrics", False)
    server = FeedbackServerProcess(
        tracking_uri,
        work / f"{name}-data",
        experiment=experiment,
        log_path=work / f"{name}.log",
        env={**SERVER_ENV, **(env or {})},
        **kwargs,
    )
    stack.add(server.close)
    return server.spawn()


class PythonServer:
    """``python -m <module> --port 0 --port-file <file> <args>``: a baseline server of bench/,
    spawned at once and closed by `stack` at the end; `wait_serving` learns its port."""

    def __init__(self, stack: Stack, work: Path, name: str, module: str, *args: str) -> None:
        self.port_file = work / f"{name}.port"
        argv = [
            str(BIN / "python"),
            "-m",
            module,
            "--port",
            "0",
            "--port-file",
            str(self.port_file),
        ]
        self.proc = Process(
            name,
            [*argv, *args],
            work / f"{name}.log",
            env=dict(os.environ),
            cwd=ROOT,
        )
        stack.add(lambda: self.proc.stop(5))
        self.port = 0

    def wait_serving(self, within_s: float = 180.0) -> int:
        """The port it bound, once its gRPC health service answers SERVING."""
        self.port = self.proc.wait_ready(self._read_port, within_s, f"write {self.port_file}")
        self.proc.wait_ready(lambda: grpc_serving(f"127.0.0.1:{self.port}"), within_s, "serve")
        return self.port

    def _read_port(self) -> int | None:
        try:
            return int(self.port_file.read_text())
        except (OSError, ValueError):  # not there yet (it is renamed into place whole)
            return None


async def serve_until_signalled(
    port: int, port_file: Path | None, add_servicer: Callable[[grpc.aio.Server], None]
) -> None:
    """A bare grpc.aio baseline server (the servicer `add_servicer` registers, plus health)
    on 127.0.0.1:`port` (0: a port the system picks), until SIGTERM or SIGINT. The port it
    bound is written to `port_file` once it serves."""
    from grpc_health.v1.health import aio as health_aio

    server = grpc.aio.server()
    add_servicer(server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    if port_file is not None:
        tmp = port_file.with_suffix(".tmp")
        tmp.write_text(str(bound))
        tmp.replace(port_file)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1.0)


def chat_traces(port: int, n: int) -> list[str]:
    """`n` Chat turns through the service on `port`; their trace IDs."""
    from feedback.v1 import chat_service_pb2 as pb
    from feedback.v1 import chat_service_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = chat_service_pb2_grpc.ChatServiceStub(channel)
        return [
            stub.Chat(pb.ChatRequest(message=f"benchmark turn {i}"), timeout=60).trace_id
            for i in range(n)
        ]
