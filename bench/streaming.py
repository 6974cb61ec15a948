"""Streaming overhead: time to first delta and per-delta time of StreamChat.

Three ways of getting the same answer, measured in rounds (one of each per round,
so that machine noise hits all three alike), one stream at a time, paced so that
the service's trace exports keep up (as they must in a steady state):

- `direct`: `EchoBackend.stream()` called in-process (the baseline of the target);
- `bare_grpc`: a bare grpc.aio StreamChat over the same backend (bench/echo_server.py);
- `service`: the service's StreamChat (validation, interceptor, MLflow trace, export).

Time to first delta (TTFD) runs from the call to the first delta; the per-delta
time is (last delta - first delta) / (deltas - 1). The message has 54 words, so the
answer streams as 64 one-word deltas.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
from feedback.v1 import chat_service_pb2 as pb
from feedback.v1 import chat_service_pb2_grpc
from feedback_server.backends.base import ChatTurn
from feedback_server.backends.echo import EchoBackend

from .common import summarize_ms

MESSAGE = " ".join(f"w{i}" for i in range(54))


async def _timed(pieces: AsyncIterator[Any]) -> tuple[float, float, int]:
    """(time to the first piece, time per piece after it, pieces), from the call on."""
    t0 = time.perf_counter()
    first = last = 0.0
    n = 0
    async for _ in pieces:
        now = time.perf_counter()
        if n == 0:
            first = now
        last = now
        n += 1
    return first - t0, (last - first) / max(1, n - 1), n


async def _deltas(stub: Any) -> AsyncIterator[Any]:
    async for event in stub.StreamChat(pb.StreamChatRequest(message=MESSAGE)):
        if event.WhichOneof("event") == "delta":
            yield event


async def _grpc_stream(stub: Any) -> tuple[float, float, int]:
    return await _timed(_deltas(stub))


async def _direct_stream(backend: EchoBackend) -> tuple[float, float, int]:
    return await _timed(backend.stream(ChatTurn(MESSAGE, "direct")))


async def measure(
    service_port: int, bare_port: int, *, rounds: int, rate_hz: float, warmup: int = 10
) -> dict[str, Any]:
    backend = EchoBackend(0.0)
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{service_port}") as ch_service,
        grpc.aio.insecure_channel(f"127.0.0.1:{bare_port}") as ch_bare,
    ):
        stubs = {
            "service": chat_service_pb2_grpc.ChatServiceStub(ch_service),
            "bare_grpc": chat_service_pb2_grpc.ChatServiceStub(ch_bare),
        }
        samples: dict[str, dict[str, list[float]]] = {
            k: {"ttfd": [], "per_delta": []} for k in ("direct", "bare_grpc", "service")
        }
        deltas = {}
        period = 1.0 / rate_hz
        t_start = time.monotonic()
        for i in range(warmup + rounds):
            t_round = time.monotonic()
            results = {
                "direct": await _direct_stream(backend),
                "bare_grpc": await _grpc_stream(stubs["bare_grpc"]),
                "service": await _grpc_stream(stubs["service"]),
            }
            if i >= warmup:
                for name, (ttfd, per_delta, n) in results.items():
                    samples[name]["ttfd"].append(ttfd)
                    samples[name]["per_delta"].append(per_delta)
                    deltas[name] = n
            await asyncio.sleep(max(0.0, period - (time.monotonic() - t_round)))
        elapsed = time.monotonic() - t_start

    out: dict[str, Any] = {
        "rounds": rounds,
        "rate_hz": rate_hz,
        "elapsed_s": round(elapsed, 1),
        "deltas_per_stream": deltas,
    }
    for name, s in samples.items():
        out[name] = {"ttfd": summarize_ms(s["ttfd"]), "per_delta": summarize_ms(s["per_delta"])}
    med = {name: statistics.median(s["ttfd"]) * 1000 for name, s in samples.items()}
    med_pd = {name: statistics.median(s["per_delta"]) * 1000 for name, s in samples.items()}
    out["figures"] = {
        # What the service adds over calling the backend directly (the target, docs/performance.md).
        "ttfd_added_ms": round(med["service"] - med["direct"], 3),
        "ttfd_ratio_vs_direct": round(med["service"] / med["direct"], 1),
        # Split: gRPC transport, then the service's own code (validation, trace, interceptor).
        "ttfd_added_by_grpc_ms": round(med["bare_grpc"] - med["direct"], 3),
        "ttfd_added_by_service_code_ms": round(med["service"] - med["bare_grpc"], 3),
        "ttfd_ratio_vs_bare_grpc": round(med["service"] / med["bare_grpc"], 2),
        "per_delta_added_ms": round(med_pd["service"] - med_pd["direct"], 4),
        "per_delta_added_by_service_code_ms": round(med_pd["service"] - med_pd["bare_grpc"], 4),
        "per_delta_ratio_vs_bare_grpc": round(med_pd["service"] / med_pd["bare_grpc"], 2),
    }
    return out
