"""What this process knows about the traces it produced.

MLflow answers "trace not found" until a trace is exported. The registry keeps,
for every trace this process created, the future of its export and its client
request ID, so feedback that arrives the instant a turn returns is accepted at
once and written as soon as the export is done, without polling MLflow.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict


class TraceRegistry:
    def __init__(self, max_entries: int = 100_000) -> None:
        self._max = max_entries
        self._exports: OrderedDict[str, asyncio.Future[bool]] = OrderedDict()
        self._by_request_id: OrderedDict[str, str] = OrderedDict()
        self._verified: OrderedDict[str, None] = OrderedDict()

    def register(self, trace_id: str, client_request_id: str, export: asyncio.Future[bool]) -> None:
        self._exports[trace_id] = export
        self._by_request_id[client_request_id] = trace_id
        self._trim()

    def mark_verified(self, trace_id: str) -> None:
        """Remembers a trace that MLflow confirmed, so it is not looked up again."""
        self._verified[trace_id] = None
        self._verified.move_to_end(trace_id)
        self._trim()

    def knows(self, trace_id: str) -> bool:
        return trace_id in self._exports or trace_id in self._verified

    def trace_for(self, client_request_id: str) -> str | None:
        return self._by_request_id.get(client_request_id)

    async def wait_exported(self, trace_id: str) -> bool:
        """Waits for this process's export of the trace; True when unknown or exported."""
        export = self._exports.get(trace_id)
        if export is None:
            return True
        return await asyncio.shield(export)

    def _trim(self) -> None:
        for table in (self._exports, self._by_request_id, self._verified):
            while len(table) > self._max:
                key = next(iter(table))
                if table is self._exports and not self._exports[key].done():
                    break  # never forget a trace whose export is still running
                table.popitem(last=False)
