"""bench/results/bench.png: every figure of the latest run against its target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _bars(
    ax: Any,
    labels: list[str],
    values: list[float | None],
    target: float | None,
    title: str,
    ylabel: str,
    *,
    higher_is_better: bool = True,
    fmt: str = "{:.2f}",
) -> None:
    vals = [v if v is not None else 0.0 for v in values]
    colors = []
    for v in values:
        if v is None or target is None:
            colors.append("#999999")
        elif (v >= target) if higher_is_better else (v <= target):
            colors.append("#2e7d32")
        else:
            colors.append("#c62828")
    bars = ax.bar(labels, vals, color=colors)
    for bar, v in zip(bars, values, strict=True):
        ax.annotate(
            "n/a" if v is None else fmt.format(v),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    if target is not None:
        ax.axhline(target, color="#333333", linestyle="--", linewidth=1)
        ax.annotate(
            f"target {'>=' if higher_is_better else '<='} {target:g}",
            (0.99, target),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=7,
            color="#333333",
        )
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.margins(y=0.2)


def render(results: dict[str, dict[str, Any]], path: Path, subtitle: str) -> Path:
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    ing = results.get("ingestion", {}).get("figures", {})
    _bars(
        axes[0][0],
        ["C=1", "C=16", "C=64", "C=16\nMLflow\nstalled"],
        [
            ing.get("rps_ratio_c1"),
            ing.get("rps_ratio_c16"),
            ing.get("rps_ratio_c64"),
            ing.get("rps_ratio_c16_mlflow_stalled"),
        ],
        0.5,
        "1. LogFeedback / health Check throughput",
        "ratio",
    )
    seed = results.get("seed", {}).get("figures", {})
    _bars(
        axes[0][1],
        ["C=1", "C=16", "C=64", "C=16\nack path\nalone"],
        [
            seed.get("rps_ratio_c1"),
            seed.get("rps_ratio_c16"),
            seed.get("rps_ratio_c64"),
            seed.get("rps_ratio_c16_ack_path_alone"),
        ],
        20,
        "2. LogFeedback ack / seed design (log_feedback in handler)",
        "x",
        fmt="{:.1f}",
    )
    st = results.get("streaming", {}).get("figures", {})
    _bars(
        axes[0][2],
        ["TTFD added\nvs direct", "of which\ngRPC", "of which\nservice code", "per delta\nadded"],
        [
            st.get("ttfd_added_ms"),
            st.get("ttfd_added_by_grpc_ms"),
            st.get("ttfd_added_by_service_code_ms"),
            st.get("per_delta_added_ms"),
        ],
        1.0,
        "3. StreamChat over EchoBackend called directly (median)",
        "ms",
        higher_is_better=False,
        fmt="{:.2f}",
    )
    labels, values = [], []
    for store in ("sqlite", "postgresql"):
        d = results.get(f"drain_{store}", {}).get("figures", {})
        labels += [f"{store}\ntraces", f"{store}\njudgments"]
        values += [d.get("traces_ratio"), d.get("judgments_ratio")]
    _bars(axes[1][0], labels, values, 0.9, "4. Reaching MLflow / MLflow's direct ceiling", "ratio")
    mem = results.get("memory", {})
    _bars(
        axes[1][1],
        ["idle", f"{mem.get('streams_open', 0)} streams\nopen (peak)"],
        [mem.get("rss_idle_mb"), mem.get("rss_peak_mb")],
        300,
        "5a. Server RSS",
        "MiB",
        higher_is_better=False,
        fmt="{:.0f}",
    )
    sc = results.get("scale", {}).get("figures", {})
    _bars(
        axes[1][2],
        ["LogFeedback", "health Check"],
        [sc.get("log_feedback_ratio"), sc.get("health_ratio")],
        None,
        "5b. Throughput, 2 server processes / 1 (same port)",
        "ratio",
    )
    fig.suptitle(f"Feedback service benchmarks — {subtitle}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
