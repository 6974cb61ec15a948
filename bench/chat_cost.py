"""What a durable chat trace costs, for `python -m bench.ab` (one round of one server).

A turn is answered once its whole MLflow trace is recorded in the spool (group commit,
fsync); before, it was answered with the trace only in memory, handed to the export pool.
Figures, each part starting once the server's earlier traces are all in MLflow:

- `chat_burst_rps`, `chat_p50_ms`: 1,200 Chat calls at C=16 (ghz, closed loop). A revision
  that hands the trace to its export pool answers before ending the trace's spans: that
  work, and the export, happen after the burst, as long as its export bound
  (FEEDBACK_EXPORT_MAX_PENDING, 10,000 here) lets it defer them.
- `chat_burst_cpu_ms_per_turn`: the server's CPU (every thread, /proc) during the burst, per
  turn: what it did before answering (or while answering others).
- `chat_cpu_ms_per_turn`: its CPU from the burst's start until MLflow has all its traces,
  per turn: the whole cost of a turn, deferred work and export included, which is what
  bounds throughput once a burst outlasts the export bound.
- `chat_e2e_per_s`: turns per second from the burst's start until MLflow has them all (with
  one SQLite MLflow server, MLflow's own pace).
- `stream_completion_p50_ms`: StreamChat one at a time (60 streams of 64 deltas, the echo
  backend without delay): time to the completion message, which the durable record must
  precede; the price of one fsync per answered turn, in full.
- `paced_stream_completion_p50_ms`: the same with 20 ms between deltas (an LLM streaming
  about 50 tokens per second; 8 streams of 64 deltas), on a second server of the same
  revision.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from testbed.feedback_server import FeedbackServerProcess

from . import ghz as ghz_tool
from .common import group_cpu_s
from .drain import StoreCounter, wait_stable
from .streaming import MESSAGE

CHAT = "feedback.v1.ChatService/Chat"
STREAM_CHAT = "feedback.v1.ChatService/StreamChat"
#: Both revisions may keep this many ended turns waiting for their export.
ENV = {"FEEDBACK_EXPORT_MAX_PENDING": "10000"}
PACED_ENV = {**ENV, "FEEDBACK_ECHO_DELAY_S": "0.02"}
BURST = 1200


class Exported:
    """How many chat traces a server produced, and waiting until MLflow has them all."""

    def __init__(self, counter: StoreCounter, experiment: str, produced: int) -> None:
        self.counter = counter
        self.eid = counter.experiment_id(experiment)
        self.produced = produced

    def add(self, run: dict[str, Any]) -> None:
        self.produced += run["ok"] + run["cut_at_end"]  # a cancelled turn is traced too

    def wait(self) -> None:
        wait_stable(self.counter, self.eid, 0, self.produced, 300)


def measure(
    server: FeedbackServerProcess,
    exported: Exported,
    paced: FeedbackServerProcess,
    paced_exported: Exported,
    protoset: Path,
) -> dict[str, float]:
    data = {"message": MESSAGE}
    exported.wait()
    cpu0, t0 = group_cpu_s([server.pid])[server.pid], time.monotonic()
    chat = ghz_tool.run_ghz(
        server.port, CHAT, data=data, concurrency=16, total=BURST, protoset=protoset
    )
    cpu_burst = group_cpu_s([server.pid])[server.pid]
    exported.add(chat)
    exported.wait()
    cpu1, t1 = group_cpu_s([server.pid])[server.pid], time.monotonic()
    stream = ghz_tool.run_ghz(
        server.port, STREAM_CHAT, data=data, concurrency=1, total=60, protoset=protoset
    )
    exported.add(stream)
    paced_exported.wait()
    slow = ghz_tool.run_ghz(
        paced.port, STREAM_CHAT, data=data, concurrency=1, total=8, protoset=protoset
    )
    paced_exported.add(slow)
    return {
        "chat_burst_rps": chat["rps"],
        "chat_p50_ms": chat["p50_ms"],
        "chat_burst_cpu_ms_per_turn": 1000 * (cpu_burst - cpu0) / max(1, chat["ok"]),
        "chat_cpu_ms_per_turn": 1000 * (cpu1 - cpu0) / max(1, chat["ok"]),
        "chat_e2e_per_s": chat["ok"] / (t1 - t0),
        "stream_completion_p50_ms": stream["p50_ms"],
        "paced_stream_completion_p50_ms": slow["p50_ms"],
    }
