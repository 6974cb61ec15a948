"""ghz, the Go gRPC load generator: a pinned version installed into var/tools (gitignored).

Why ghz and not a Python load generator: on a 2-core machine the load generator
shares the CPU with the server under test. A grpc.aio client spends about as
much CPU per call as the server it measures, so it would halve what the server
can show; ghz (Go) spends a fraction of that, and `--cpus 1` caps it to one
core, so the server keeps the other. Both sides of every ratio are driven by
the same ghz settings, so what ghz costs cancels out of the ratios.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ROOT, log

GHZ_VERSION = "v0.120.0"
GHZ_MODULE = "github.com/bojand/ghz/cmd/ghz"
TOOLS_DIR = Path(os.environ.get("FEEDBACK_TOOLS_DIR", ROOT / "var" / "tools"))
GHZ_DIR = TOOLS_DIR / "go" / f"ghz-{GHZ_VERSION}"
GHZ = GHZ_DIR / "ghz"


def ghz_installed() -> bool:
    return GHZ.is_file() and os.access(GHZ, os.X_OK)


def install_command() -> list[str]:
    return ["go", "install", f"{GHZ_MODULE}@{GHZ_VERSION}"]


def start_install() -> subprocess.Popen[bytes] | None:
    """Starts `go install` of the pinned ghz in the background (None when installed).

    The install (module downloads, then a compile of about 1.5 CPU-minutes) runs during
    the benchmark's set-up (MLflow and PostgreSQL start-up) and, at nice 19
    (`deprioritize`), behind the phases that do not need ghz; `wait_install` is called
    before the first phase that does."""
    if ghz_installed():
        return None
    if shutil.which("go") is None:
        raise RuntimeError("ghz is not installed and `go` is not on PATH (Go 1.22+ builds it)")
    GHZ_DIR.parent.mkdir(parents=True, exist_ok=True)
    script = (
        "set -euo pipefail\n"
        'exec 9>"$1/.ghz.lock"; flock 9\n'
        '[ -x "$2/ghz" ] && exit 0\n'
        'tmp="$2.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"\n'
        'GOBIN="$tmp" GOFLAGS=-mod=mod go install "$3"\n'
        'rm -rf "$2"; mv "$tmp" "$2"\n'
    )
    log(f"installing ghz {GHZ_VERSION} into {GHZ_DIR} (background)")
    out = (GHZ_DIR.parent / "ghz-install.log").open("ab")
    argv = ["bash", "-c", script, "_"]
    return subprocess.Popen(
        [*argv, str(GHZ_DIR.parent), str(GHZ_DIR), f"{GHZ_MODULE}@{GHZ_VERSION}"],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def deprioritize(proc: subprocess.Popen[bytes] | None) -> None:
    """Once the measurements start, the install (its own process group) runs at nice 19:
    it gets the CPU only when the measurements leave it idle."""
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PGRP, proc.pid, 19)


def wait_install(proc: subprocess.Popen[bytes] | None, timeout: float = 600.0) -> None:
    if proc is not None:
        t0 = time.monotonic()
        code = proc.wait(timeout=timeout)
        log(f"ghz install finished in {time.monotonic() - t0:.1f}s more (exit {code})")
    if not ghz_installed():
        tail = (GHZ_DIR.parent / "ghz-install.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"ghz {GHZ_VERSION} could not be installed:\n{tail}")


def write_protoset(path: Path) -> Path:
    """A FileDescriptorSet of the services ghz calls, built from the Python descriptors
    (no .proto files or server reflection needed), dependencies first."""
    from feedback.v1 import chat_service_pb2, feedback_service_pb2
    from google.protobuf import descriptor_pb2
    from grpc_health.v1 import health_pb2

    out = descriptor_pb2.FileDescriptorSet()
    seen: set[str] = set()

    def add(fd: Any) -> None:
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            add(dep)
        proto = out.file.add()
        fd.CopyToProto(proto)

    for module in (health_pb2, chat_service_pb2, feedback_service_pb2):
        add(module.DESCRIPTOR)
    path.write_bytes(out.SerializeToString())
    return path


def run_ghz(
    port: int,
    call: str,
    *,
    data: Any,
    concurrency: int,
    protoset: Path,
    duration_s: float | None = None,
    total: int | None = None,
    connections: int = 1,
    cpus: int = 1,
    timeout_s: float = 20.0,
    rps: float | None = None,
    tls: tuple[Path, Path, Path] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One ghz run: `concurrency` workers, each one call at a time, for `duration_s`
    seconds or `total` calls; closed loop (as fast as answers come), or open loop at
    `rps` calls per second.

    `data` is one request message (JSON, protojson names) or a list of messages,
    which ghz sends round-robin. Returns rps (successful calls per second), latency
    percentiles in ms, status counts and the CPU ghz itself used (% of one core).
    Calls still in flight when a timed run ends are cancelled by ghz and reported
    under `cut_at_end`, not as errors. `tls`: (CA, client certificate, client key) files
    for mTLS; `metadata`: sent with every call (e.g. an `authorization` header)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(data, fh)
        data_file = fh.name
    limit = ["--total", str(total)] if total else ["--duration", f"{duration_s}s"]
    transport = ["--insecure"]
    if tls is not None:
        transport = ["--cacert", str(tls[0]), "--cert", str(tls[1]), "--key", str(tls[2])]
    argv = [
        str(GHZ),
        *transport,
        *(["--metadata", json.dumps(metadata)] if metadata else []),
        "--protoset",
        str(protoset),
        "--call",
        call,
        "--data-file",
        data_file,
        "--concurrency",
        str(concurrency),
        "--connections",
        str(connections),
        *limit,
        *(["--rps", str(max(1, round(rps)))] if rps else []),
        "--cpus",
        str(cpus),
        "--timeout",
        f"{timeout_s}s",
        "--format",
        "json",
        f"127.0.0.1:{port}",
    ]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=(duration_s or 0) + (timeout_s * 4 if total else 60),
            check=False,
        )
    finally:
        os.unlink(data_file)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not proc.stdout.strip():
        raise RuntimeError(f"ghz failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    dist = report.get("latencyDistribution") or []
    lat = {int(d["percentage"]): d["latency"] / 1e6 for d in dist}
    statuses = dict(report.get("statusCodeDistribution") or {})
    ok = int(statuses.pop("OK", 0))
    cut = 0
    if not total:
        # ghz cancels the calls in flight when the duration ends (at most one per worker).
        for code in ("Unavailable", "Canceled"):
            n = min(int(statuses.get(code, 0)), concurrency - cut)
            if n:
                cut += n
                statuses[code] -= n
                if not statuses[code]:
                    del statuses[code]
    total_s = report["total"] / 1e9
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {
        "call": call,
        "concurrency": concurrency,
        "connections": connections,
        "duration_s": round(total_s, 3),
        "ok": ok,
        "errors": statuses,
        "cut_at_end": cut,
        "rps": round(ok / total_s, 1) if total_s else 0.0,
        "p50_ms": round(lat.get(50, float("nan")), 3),
        "p90_ms": round(lat.get(90, float("nan")), 3),
        "p99_ms": round(lat.get(99, float("nan")), 3),
        "mean_ms": round(report["average"] / 1e6, 3),
        "ghz_cpu_pct": round(100 * cpu / wall, 1),
    }
