"""Shared plumbing of the benchmarks: subprocesses, ports, results, load snapshots.

Every process a benchmark starts runs in its own process group and is stopped
(SIGTERM, then SIGKILL to the whole group) by `Proc.stop`, which `Stack` calls
for everything it started, in reverse order, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
#: Scratch space of one run (stores, spools, logs): gitignored, removed at the end.
WORK_BASE = ROOT / "var" / "bench"

# testbed is importable from the repository root (python -m bench runs there).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from testbed.mlflow_server import free_port  # noqa: E402

__all__ = [
    "BIN",
    "RESULTS",
    "ROOT",
    "WORK_BASE",
    "CpuMeter",
    "Proc",
    "Stack",
    "chat_traces",
    "free_port",
    "load_avg",
    "log",
    "percentile",
    "rss_mb",
    "serve_until_signalled",
    "spawn_feedback_server",
    "start_feedback_server",
    "summarize_ms",
    "wait_listening",
    "wait_serving",
    "write_result",
]

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "mean_ms": round(statistics.fmean(ms), 4),
        "p50_ms": round(percentile(ms, 50), 4),
        "p90_ms": round(percentile(ms, 90), 4),
        "p99_ms": round(percentile(ms, 99), 4),
    }


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


class Proc:
    """One subprocess in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_bytes()[-chars:].decode("utf-8", errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)


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


def listening(pid: int, port: int) -> bool:
    """Whether process `pid` has a TCP socket listening on `port` (IPv4 or IPv6)."""
    inodes = set()
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/net/{name}") as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            continue
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def wait_listening(proc: Proc, port: int, timeout: float = 120.0) -> None:
    """Waits until this very process listens on `port` (a second server on a shared
    SO_REUSEPORT port: a health check could be answered by the first one)."""
    deadline = time.monotonic() + timeout
    while not listening(proc.pid, port):
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early; log:\n{proc.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not listening on {port} within {timeout:.0f}s")
        time.sleep(0.2)


def wait_serving(port: int, proc: Proc | None = None, timeout: float = 90.0) -> None:
    """Waits until the standard health service answers SERVING on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if proc is not None and not proc.alive():
                raise RuntimeError(f"{proc.name} exited early; log:\n{proc.tail()}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=2.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"127.0.0.1:{port} not SERVING within {timeout:.0f}s")
            time.sleep(0.2)


def spawn_feedback_server(
    stack: Stack,
    work: Path,
    name: str,
    *,
    tracking_uri: str,
    experiment: str,
    port: int | None = None,
    env: dict[str, str] | None = None,
    stop_timeout_s: float = 15.0,
) -> tuple[Proc, int]:
    """Starts `feedback-server` (the console script) with its own spool; see `wait_serving`."""
    port = port or free_port()
    data_dir = work / f"{name}-data"
    full_env = {
        **os.environ,
        "FEEDBACK_SERVER_HOST": "127.0.0.1",
        "FEEDBACK_SERVER_PORT": str(port),
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_EXPERIMENT_NAME": experiment,
        "FEEDBACK_DATA_DIR": str(data_dir),
        "FEEDBACK_METRICS_PORT": "0",
        "FEEDBACK_LOG_LEVEL": "WARNING",
        "FEEDBACK_SHUTDOWN_GRACE_S": "1",
        **(env or {}),
    }
    proc = Proc(name, [str(BIN / "feedback-server")], work / f"{name}.log", full_env)
    stack.add(lambda: proc.stop(stop_timeout_s))
    return proc, port


def start_feedback_server(stack: Stack, work: Path, name: str, **kwargs: Any) -> tuple[Proc, int]:
    proc, port = spawn_feedback_server(stack, work, name, **kwargs)
    wait_serving(port, proc)
    return proc, port


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        log(f"{label}: {time.monotonic() - t0:.1f}s")


async def serve_until_signalled(port: int, add_servicer: Callable[[grpc.aio.Server], None]) -> None:
    """A bare grpc.aio baseline server (the servicer `add_servicer` registers, plus health)
    on 127.0.0.1:`port`, until SIGTERM or SIGINT."""
    from grpc_health.v1.health import aio as health_aio

    server = grpc.aio.server()
    add_servicer(server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
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
