"""Waiting for a condition: one semantics, a blocking and an async flavour.

    value = poll(check, within_s=60)                 # blocking
    value = await poll_async(check, within_s=60)     # from a coroutine

`check` is called at once and then every `interval_s` seconds until it returns something
truthy, which is returned. When `within_s` has passed, the last (falsy) result is returned:
the caller decides whether that is a failure (``assert poll(...), "why"``) or a figure to
report. An exception raised by `check` propagates at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["poll", "poll_async"]

T = TypeVar("T")


def poll(check: Callable[[], T], within_s: float, *, interval_s: float = 0.25) -> T:
    """The first truthy result of `check`, or its last result once `within_s` has passed."""
    deadline = time.monotonic() + within_s
    while True:
        value = check()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval_s)


async def poll_async(check: Callable[[], T], within_s: float, *, interval_s: float = 0.25) -> T:
    """`poll` for coroutines: the blocking `check` runs in a worker thread, so that the event
    loop (and an in-process server on it) keeps running meanwhile."""
    deadline = time.monotonic() + within_s
    while True:
        value = await asyncio.to_thread(check)
        if value or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(interval_s)
