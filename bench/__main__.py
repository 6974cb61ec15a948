"""`make bench`: every benchmark of the service in one run, figures as ratios.

    .venv/bin/python -m bench            # the full run (< 10 minutes on 2 cores)
    .venv/bin/python -m bench --quick    # shorter runs, for trying changes
    .venv/bin/python -m bench --phases streaming,memory

Writes bench/results/<phase>.json (one per phase), bench/results/summary.json (the
figures, the targets and whether each holds) and bench/results/bench.png, and
prints the summary table. Everything it starts (MLflow servers, PostgreSQL, feedback
servers, the baselines, ghz) runs on 127.0.0.1 (PostgreSQL on a Unix socket) and is
stopped at the end; scratch data goes to var/bench/ and is removed. The phases live in
bench/phases.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from typing import Any

from . import chart
from . import ghz as ghz_tool
from .common import (
    RESULTS,
    WORK_BASE,
    Stack,
    load_avg,
    log,
    write_result,
)
from .phases import PHASES, Durations, Run, run_phases

#: The performance targets (docs/performance.md): (phase, figure, comparison, threshold,
#: description).
TARGETS: list[tuple[str, str, str, float, str]] = [
    (
        "ingestion",
        "rps_ratio_c16",
        ">=",
        0.6,
        "LogFeedback >= 0.6 x health Check at C=16, MLflow draining (sync full)",
    ),
    (
        "ingestion",
        "rps_ratio_c16_normal",
        ">=",
        0.8,
        "LogFeedback >= 0.8 x health Check at C=16, MLflow draining (sync normal)",
    ),
    (
        "ingestion",
        "log_feedback_p99_ms_c16",
        "<=",
        20.0,
        "LogFeedback p99 <= 20 ms at C=16, closed loop (sync full)",
    ),
    (
        "ingestion",
        "log_feedback_p99_ms_c16_normal",
        "<=",
        20.0,
        "LogFeedback p99 <= 20 ms at C=16, closed loop (sync normal)",
    ),
    (
        "ingestion",
        "log_feedback_p99_ms_at_100rps",
        "<=",
        5.0,
        "LogFeedback p99 <= 5 ms offered 100/s, open loop (sync full)",
    ),
    (
        "ingestion",
        "log_feedback_p99_ms_at_100rps_normal",
        "<=",
        5.0,
        "LogFeedback p99 <= 5 ms offered 100/s, open loop (sync normal)",
    ),
    ("seed", "rps_ratio_c16", ">=", 20.0, "LogFeedback ack >= 20 x the seed design at C=16"),
    ("seed", "rps_ratio_c16_normal", ">=", 20.0, "(same, sync normal)"),
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
    (
        "edge_secured",
        "rps_ratio",
        ">=",
        0.8,
        "LogFeedback rps, mTLS + feedback token >= 0.8 x plaintext, no auth",
    ),
    (
        "edge_secured",
        "p99_ratio",
        ">=",
        0.8,
        "LogFeedback p99, plaintext / (mTLS + token) >= 0.8",
    ),
    (
        "edge_oversized",
        "check_p99_ratio_900kb",
        "<=",
        2.0,
        "health Check p99 with 4 clients sending 900 KB values <= 2 x idle",
    ),
    (
        "edge_oversized",
        "check_p99_ratio_3800kb",
        "<=",
        2.0,
        "health Check p99 with 4 clients sending 3.8 MB values <= 2 x idle",
    ),
    ("batch", "judgments_ratio_c16", ">=", 5.0, "BatchLogFeedback of 100 >= 5 x LogFeedback, C=16"),
    (
        "summaries",
        "ratio_vs_seed_10k",
        ">=",
        100.0,
        "SummarizeFeedback >= 100 x the seed's code, 10k",
    ),
    ("summaries", "ratio_vs_seed_100k", ">=", 100.0, "(same, 100k traces; seed's time estimated)"),
    ("summaries", "exact_100k", ">=", 1.0, "100k traces summarized exactly (1 = every figure)"),
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
    t_start = time.monotonic()
    load_at_start = load_avg()
    log(f"phases {phases}; load average {load_at_start} on {os.cpu_count()} CPUs")

    work = WORK_BASE / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    with Stack() as stack:
        if not args.keep:
            stack.add(lambda: shutil.rmtree(work, ignore_errors=True))
        run = Run(phases, Durations(args.quick), work, stack)
        run_phases(run)
    report(run.results, phases, args.quick, time.monotonic() - t_start, load_at_start)
    return 0


def report(
    results: dict[str, dict[str, Any]],
    phases: list[str],
    quick: bool,
    elapsed: float,
    load_at_start: list[float],
) -> None:
    """The summary: the chart and summary files after a full run, and the printed table."""
    targets = evaluate(results)
    subtitle = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load {load_at_start[0]:.1f}"
        f"{', quick' if quick else ''}"
    )
    if set(phases) == set(PHASES):
        chart.render(results, RESULTS / "bench.png", subtitle)
    summary = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "make bench" + (" (--quick)" if quick else ""),
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


if __name__ == "__main__":
    sys.exit(main())
