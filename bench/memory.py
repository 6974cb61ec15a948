"""Memory: the server's RSS while 1,000 StreamChat streams are open at once.

The server runs with FEEDBACK_ECHO_DELAY_S, so each stream stays open for
(pieces - 1) x delay seconds. Streams are opened over several channels (one HTTP/2
connection allows `max_concurrent_streams` = 1,000 streams). RSS is read from
/proc while every stream has received its first delta and none has ended; the
baseline is the same process's RSS just before, warm (after a few streams) and idle.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
from feedback.v1 import chat_service_pb2 as pb
from feedback.v1 import chat_service_pb2_grpc

from .common import log, rss_mb


async def measure(
    port: int, pid: int, *, streams: int = 1000, channels: int = 4, open_timeout_s: float = 60
) -> dict[str, Any]:
    chans = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(channels)]
    try:
        stubs = [chat_service_pb2_grpc.ChatServiceStub(c) for c in chans]
        # Warm-up: a few streams (cancelled after their first delta), so that lazy imports
        # and caches are loaded before the idle baseline is read.
        for i in range(8):
            call = stubs[i % channels].StreamChat(pb.StreamChatRequest(message="warm up"))
            async for _ in call:
                break
            call.cancel()
        await asyncio.sleep(3.0)  # their traces are exported: every export slot is free again
        rss_idle = rss_mb(pid)

        opened = 0
        all_open = asyncio.Event()
        release = asyncio.Event()
        first_delta_s: list[float] = []
        failures: list[str] = []

        async def one(i: int) -> None:
            nonlocal opened
            t0 = time.perf_counter()
            call = stubs[i % channels].StreamChat(pb.StreamChatRequest(message=f"stream {i}"))
            try:
                async for event in call:
                    if event.WhichOneof("event") == "delta":
                        first_delta_s.append(time.perf_counter() - t0)
                        opened += 1
                        if opened == streams:
                            all_open.set()
                        break
                await release.wait()
            except grpc.aio.AioRpcError as exc:
                failures.append(exc.code().name)
            finally:
                call.cancel()

        t_open = time.monotonic()
        tasks = [asyncio.create_task(one(i)) for i in range(streams)]
        peak = rss_idle
        deadline = time.monotonic() + open_timeout_s
        while not all_open.is_set() and time.monotonic() < deadline and len(failures) == 0:
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.1)
        open_s = time.monotonic() - t_open
        rss_open = rss_mb(pid)
        # Hold them open a little, sampling.
        for _ in range(10):
            await asyncio.sleep(0.1)
            peak = max(peak, rss_mb(pid))
        still_open = opened
        log(f"memory: {opened}/{streams} streams open after {open_s:.1f}s, RSS {rss_open:.0f} MB")
        release.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for c in chans:
            await c.close()
    if still_open < streams:
        log(f"memory: only {still_open} streams opened ({failures[:3]})")
    first_delta_s.sort()
    return {
        "streams_requested": streams,
        "streams_open": still_open,
        "failures": len(failures),
        "open_all_s": round(open_s, 2),
        "rss_idle_mb": round(rss_idle, 1),
        "rss_open_mb": round(rss_open, 1),
        "rss_peak_mb": round(peak, 1),
        "kb_per_stream": round((peak - rss_idle) * 1024 / max(1, still_open), 1),
        "first_delta_p50_ms": round(first_delta_s[len(first_delta_s) // 2] * 1000, 1)
        if first_delta_s
        else None,
        "figures": {
            "rss_ratio_vs_idle": round(peak / rss_idle, 2),
            "rss_peak_mb": round(peak, 1),
        },
    }
