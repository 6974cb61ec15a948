"""Spool acknowledgment benchmark: group commit vs one commit per judgment.

    .venv/bin/python bench/spool_bench.py [--judgments 2000] [--concurrency 1,16,64] [--dir DIR]

For each concurrency level, `concurrency` tasks enqueue single judgments back
to back (as concurrent LogFeedback calls do) into a fresh spool, once with
group commit and once with `max_batch=1` (one transaction and fsync per
judgment, the baseline), and the script prints throughput, ack latency
percentiles and the number of commits. Figures, not pass/fail: they depend on
the disk's fsync latency, so run it on the disk the spool will live on
(`--dir`, default a temporary folder under ./var/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from feedback_server.domain.model import Judgment, JudgmentKind, TraceTarget
from feedback_server.domain.spool import SPOOL_FILENAME, Spool
from feedback_server.metrics import SpoolMetrics
from prometheus_client import CollectorRegistry

from testbed.stats import percentile


@dataclass
class Result:
    mode: str
    concurrency: int
    judgments: int
    seconds: float
    latencies_ms: list[float]
    commits: int

    @property
    def throughput(self) -> float:
        return self.judgments / self.seconds

    def pct(self, p: float) -> float:
        value = percentile(self.latencies_ms, p)
        assert value is not None, "a run without judgments"
        return value


def _judgment(i: int, worker: int) -> Judgment:
    return Judgment(
        assessment_id=f"bench-{worker}-{i}",
        request_id=f"req-{worker}-{i}",
        kind=JudgmentKind.FEEDBACK,
        target=TraceTarget(trace_id=f"tr-{i % 500:032x}"),
        name="user_feedback",
        value=i % 2 == 0,
        rationale="benchmark judgment with a short rationale",
        metadata={"bench": "spool"},
        created_ms=int(time.time() * 1000),
    )


async def run_one(folder: Path, mode: str, concurrency: int, judgments: int) -> Result:
    folder.mkdir(parents=True, exist_ok=True)
    spool = Spool(
        folder / SPOOL_FILENAME,
        max_pending=10_000_000,
        max_batch=1 if mode == "baseline" else 1024,
        metrics=SpoolMetrics(CollectorRegistry()),
    )
    await spool.start()
    per_worker = max(1, judgments // concurrency)
    latencies: list[float] = []

    async def worker(w: int) -> None:
        for i in range(per_worker):
            j = _judgment(i, w)
            t0 = time.perf_counter()
            await spool.enqueue([j])
            latencies.append((time.perf_counter() - t0) * 1000)

    commits0 = spool.commits
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - t0
    commits = spool.commits - commits0
    await spool.close()
    return Result(mode, concurrency, per_worker * concurrency, elapsed, latencies, commits)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=2000, help="per run (default 2000)")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated levels")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the spool files")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    base = args.dir or Path("var/bench")
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="spool-bench-", dir=base))
    print(f"spool benchmark: {args.judgments} judgments per run, files in {root}")
    print(
        f"{'mode':<10}{'conc':>6}{'judgments':>11}{'acks/s':>10}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'commits':>9}{'per commit':>12}"
    )
    results: list[Result] = []
    try:
        for level in levels:
            for mode in ("group", "baseline"):
                r = await run_one(root / f"{mode}-{level}", mode, level, args.judgments)
                results.append(r)
                print(
                    f"{r.mode:<10}{r.concurrency:>6}{r.judgments:>11}{r.throughput:>10.0f}"
                    f"{r.pct(50):>9.2f}{r.pct(99):>9.2f}{r.commits:>9}"
                    f"{r.judgments / max(1, r.commits):>12.1f}"
                )
            group, baseline = results[-2], results[-1]
            print(
                f"{'':<10}{'':>6}  group commit: x{group.throughput / baseline.throughput:.1f} "
                f"throughput, p99 {group.pct(99):.2f} vs {baseline.pct(99):.2f} ms "
                f"(mean ack {statistics.fmean(group.latencies_ms):.2f} ms)"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
