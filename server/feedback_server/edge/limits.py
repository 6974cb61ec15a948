"""The edge's limits, shared by both ports: calls in flight, and writes per feedback token.

Protocol-neutral. Both refuse at once with `ResourceExhausted` and a retry delay (the
status table adds it as `google.rpc.RetryInfo`); neither queues.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from ..errors import ResourceExhausted


class CallLimiter:
    """At most `max_calls` calls in flight on the gRPC and HTTP ports together."""

    def __init__(self, max_calls: int) -> None:
        self.max_calls = max_calls
        self.in_flight = 0

    def acquire(self) -> None:
        if self.in_flight >= self.max_calls:
            raise ResourceExhausted(
                f"the server is handling its maximum of {self.max_calls} calls; retry later",
                retry_after_s=0.5,
            )
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1


class TokenRateLimiter:
    """A token bucket per feedback token: `per_minute` calls, refilled evenly (a burst of
    `per_minute`, then one every 60/`per_minute` seconds). Per replica, in memory; buckets
    of expired tokens are forgotten, and at most `max_buckets` are kept (oldest first out)."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_buckets: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._capacity = float(per_minute)
        self._refill_per_s = per_minute / 60.0
        self._max = max_buckets
        self._clock = clock
        # token id -> (tokens left, last refill time, expiry as wall-clock time)
        self._buckets: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    def spend(self, token_id: str, expires_at: float) -> None:
        """Takes one call from the token's bucket; `ResourceExhausted` when it is empty."""
        now = self._clock()
        left, last, _ = self._buckets.pop(token_id, (self._capacity, now, expires_at))
        left = min(self._capacity, left + (now - last) * self._refill_per_s)
        if left < 1.0:
            self._buckets[token_id] = (left, now, expires_at)
            wait = (1.0 - left) / self._refill_per_s
            raise ResourceExhausted(
                "too many feedback calls with this token; retry later", retry_after_s=wait
            )
        self._buckets[token_id] = (left - 1.0, now, expires_at)
        self._trim()

    def _trim(self) -> None:
        wall = time.time()
        while self._buckets:
            oldest, (_, _, expires) = next(iter(self._buckets.items()))
            if len(self._buckets) <= self._max and expires > wall:
                break
            del self._buckets[oldest]
