"""What this replica knows of a source's current judgment when it acknowledges one: the
latest merged judgment it acknowledged per key (memory), and the spool's recent entries,
read for several keys at once (feedback.py, `_with_replaces`)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import TYPE_CHECKING

from .model import Judgment
from .supersession import JudgmentKey, key_of

if TYPE_CHECKING:
    from .spool import Spool, SpoolEntry

HistoryQuery = tuple[str | None, str, str, str]  # trace ID, order key, name, source ID
# Judgment keys whose latest acknowledgment is remembered (a few MB).
RECENT_JUDGMENTS = 20_000


def recent_key(j: Judgment) -> tuple[str, JudgmentKey]:
    return j.target.order_key, key_of(j)


class RecentJudgments:
    """A bounded LRU map: key -> the latest judgment ID acknowledged ("" when retracted)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, JudgmentKey], str] = OrderedDict()

    def get(self, key: tuple[str, JudgmentKey]) -> str | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: tuple[str, JudgmentKey], value: str) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class HistoryReads:
    """Coalesces the history lookups made during one event-loop iteration (concurrent
    writes, a batch's items) into one spool read, as the spool coalesces its writes."""

    def __init__(self, spool: Spool) -> None:
        self._spool = spool
        self._waiting: list[tuple[HistoryQuery, asyncio.Future[list[SpoolEntry]]]] = []
        self._reads: set[asyncio.Task[list[list[SpoolEntry]]]] = set()

    async def read(self, query: HistoryQuery) -> list[SpoolEntry]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[SpoolEntry]] = loop.create_future()
        self._waiting.append((query, future))
        if len(self._waiting) == 1:
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        reading = self._spool.recent_of_sources([q for q, _ in batch])
        task = asyncio.get_running_loop().create_task(reading)
        self._reads.add(task)

        def done(t: asyncio.Task[list[list[SpoolEntry]]]) -> None:
            self._reads.discard(t)
            for i, (_, future) in enumerate(batch):
                if future.done():
                    continue
                if t.cancelled():
                    future.cancel()
                elif (exc := t.exception()) is not None:
                    future.set_exception(exc)
                else:
                    future.set_result(t.result()[i])

        task.add_done_callback(done)
