"""Retry pacing shared by the drainer and the trace exporter, their polling loop, and how both
stop.

`Backoff` gives the delay before attempt N+1 (exponential, capped, with jitter). `Outage`
pauses all dispatching while MLflow is unreachable: consecutive `UNAVAILABLE` answers
pause for the backoff of the outage's round, so an outage costs one probe per period
instead of one call per queued item. Both run on the monotonic clock (domain/clock.py):
a step of the wall clock changes no pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterable

from .clock import Clock

log = logging.getLogger(__name__)


class Backoff:
    def __init__(self, base_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.base_s = base_s
        self.max_s = max_s
        self._rng = rng or random.Random()

    def delay_s(self, attempt: int) -> float:
        """Exponential in `attempt` (1-based), capped, with jitter in [50%, 100%]."""
        exp = self.base_s * (2.0 ** min(max(attempt, 1) - 1, 60))
        capped = min(self.max_s, exp)
        return capped * (0.5 + 0.5 * self._rng.random())


class Outage:
    """The pause of all dispatching while MLflow does not answer."""

    def __init__(self, backoff: Backoff, clock: Clock) -> None:
        self._backoff = backoff
        self._clock = clock
        self._until = 0.0  # monotonic
        self.rounds = 0  # consecutive probing rounds that failed

    def remaining_s(self) -> float:
        return max(0.0, self._until - self._clock.monotonic())

    def answered(self) -> None:
        """MLflow answered (anything but UNAVAILABLE): the outage is over."""
        self.rounds = 0

    def unavailable(self) -> None:
        """An UNAVAILABLE answer: a new probing round failed, unless one is paused already
        (failures of one round do not escalate)."""
        if self.remaining_s() <= 0:
            self.rounds += 1
            self.pause(self._backoff.delay_s(self.rounds))

    def pause(self, seconds: float) -> None:
        self._until = max(self._until, self._clock.monotonic() + seconds)


async def finish_or_cancel(tasks: Iterable[asyncio.Task[None]], grace_s: float) -> int:
    """Gives `tasks` (writes or exports in flight) `grace_s` to finish, cancels the others;
    returns how many were cancelled. What they were doing stays in the spool for next time."""
    running = list(tasks)
    if not running:
        return 0
    _, pending = await asyncio.wait(running, timeout=max(0.0, grace_s))
    for task in pending:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    return len(pending)


async def poll_loop(
    what: str,
    poll: Callable[[], Awaitable[float]],
    wake: asyncio.Event,
    stopping: Callable[[], bool],
    interval_s: float,
) -> None:
    """Calls `poll` (which returns how long to sleep) until `stopping()`; `wake` cuts a sleep
    short. A failing poll is logged and retried after `interval_s`."""
    while not stopping():
        wake.clear()
        try:
            delay = await poll()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s poll failed", what)
            delay = interval_s
        if stopping():
            break
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)
