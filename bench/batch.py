"""BatchLogFeedback of 100 judgments against single LogFeedback calls, at C=16 (ghz).

Both send the same judgments (thumbs from 50 named users on the 64 traces LogFeedback
targets in the ingestion phase) to the same server, interleaved; the figure is judgments
acknowledged (durably spooled) per second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .common import load_avg, log
from .ghz import run_ghz
from .ingestion import LOG_FEEDBACK, feedback_requests

BATCH = "feedback.v1.FeedbackService/BatchLogFeedback"
BATCH_SIZE = 100
CONCURRENCY = 16


def measure(port: int, trace_ids: list[str], protoset: Path, *, seconds: float) -> dict[str, Any]:
    items = feedback_requests(trace_ids)
    batches = [
        {"requests": [items[(b * BATCH_SIZE + i) % len(items)] for i in range(BATCH_SIZE)]}
        for b in range(8)
    ]
    # Warm-up (not reported).
    run_ghz(port, BATCH, data=batches, concurrency=4, duration_s=1.0, protoset=protoset)
    single = run_ghz(
        port,
        LOG_FEEDBACK,
        data=items,
        concurrency=CONCURRENCY,
        duration_s=seconds,
        protoset=protoset,
    )
    batch = run_ghz(
        port,
        BATCH,
        data=batches,
        concurrency=CONCURRENCY,
        duration_s=seconds,
        protoset=protoset,
        timeout_s=60.0,
    )
    single_jps = single["rps"]
    batch_jps = batch["rps"] * BATCH_SIZE
    log(
        f"batch C={CONCURRENCY}: LogFeedback {single_jps:.0f} judgments/s, BatchLogFeedback "
        f"of {BATCH_SIZE}: {batch['rps']:.1f} calls/s = {batch_jps:.0f} judgments/s "
        f"(p99 {batch['p99_ms']:.0f} ms)"
    )
    return {
        "batch_size": BATCH_SIZE,
        "concurrency": CONCURRENCY,
        "seconds_per_run": seconds,
        "single": single,
        "batch": batch,
        "load_avg": load_avg(),
        "figures": {
            "single_judgments_per_s": round(single_jps, 1),
            "batch_judgments_per_s": round(batch_jps, 1),
            "batch_p99_ms": batch["p99_ms"],
            "judgments_ratio_c16": round(batch_jps / single_jps, 2) if single_jps else None,
        },
    }
