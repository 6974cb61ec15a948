"""Leases: which reviewer works on which pending item, until when."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Lease:
    reviewer: str
    expires_at: float  # time.monotonic()
    expire_time_ms: int  # wall clock, for callers


class LeaseTable:
    """Which reviewer works on which pending item, until when. Every method is
    synchronous: called from the event loop, each is atomic."""

    def __init__(
        self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._leases: dict[tuple[str, str], Lease] = {}
        self._max = max_entries
        self._clock = clock

    def holder(self, queue_id: str, trace_id: str) -> Lease | None:
        lease = self._leases.get((queue_id, trace_id))
        if lease is not None and lease.expires_at <= self._clock():
            del self._leases[(queue_id, trace_id)]
            return None
        return lease

    def acquire(self, queue_id: str, trace_id: str, reviewer: str, ttl_s: float) -> Lease | None:
        """Leases the item to `reviewer` (renewing their own lease); None when another
        reviewer holds it."""
        current = self.holder(queue_id, trace_id)
        if current is not None and current.reviewer != reviewer:
            return None
        if len(self._leases) >= self._max:
            self._prune()
        lease = Lease(reviewer, self._clock() + ttl_s, int((time.time() + ttl_s) * 1000))
        self._leases[(queue_id, trace_id)] = lease
        return lease

    def release(self, queue_id: str, trace_id: str) -> None:
        self._leases.pop((queue_id, trace_id), None)

    def held_by(self, queue_id: str, reviewer: str) -> list[str]:
        return [t for (q, t), lease in self.live(queue_id).items() if lease.reviewer == reviewer]

    def live(self, queue_id: str) -> dict[tuple[str, str], Lease]:
        now = self._clock()
        return {
            key: lease
            for key, lease in self._leases.items()
            if key[0] == queue_id and lease.expires_at > now
        }

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, lease in self._leases.items() if lease.expires_at <= now]:
            del self._leases[key]
