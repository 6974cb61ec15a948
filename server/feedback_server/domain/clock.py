"""The time source of the spool, the drainer and the trace exporter (injected; tests step it).

Two clocks, used for different things:

- `wall_ms()`: the calendar (epoch milliseconds). It can jump in either direction (NTP, a
  hand-set clock, a VM resumed). It is only *recorded* (acknowledgment times shown by the
  admin CLI, the create time MLflow stores) and never decides when something happens.
- `monotonic()`: seconds that only move forward at a steady rate, meaningless across
  processes. Pauses, backoffs and every deadline kept in memory use it.

What must survive a restart (the next attempt of an entry, the start of its trace-wait TTL,
the age used by retention) is kept in *spool time*: a millisecond count stored in the spool
file, started from the wall clock when the file was created and advanced by the monotonic
clock while a server runs it (`SpoolCore.now_st`, docs/spool.md "Time").
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def wall_ms(self) -> int:
        """Calendar time in epoch milliseconds (may step)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never steps (only differences mean something)."""
        ...


class SystemClock:
    """The process's clocks: `time.time()` and `time.monotonic()`, looked up at each call."""

    def wall_ms(self) -> int:
        return int(time.time() * 1000)

    def monotonic(self) -> float:
        return time.monotonic()


#: The clock every component uses unless it is given another one.
SYSTEM_CLOCK: Clock = SystemClock()
