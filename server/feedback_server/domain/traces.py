"""The traces this process produced: their durable records and what is known about them.

A finished chat turn's trace is a `TraceRecord`: the gateway's serialization of the whole
MLflow trace (spans, inputs and outputs, metadata), opaque to the domain. It is recorded in
the spool before the turn is answered and exported from there (domain/trace_export.py).

MLflow answers "trace not found" until a trace is exported. The registry keeps, for every
trace this process recorded and has not exported yet (including those recorded before a
restart), the future of its export and its client request ID, so feedback that arrives the
instant a turn returns is accepted at once and written as soon as the export is done,
without polling MLflow.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class TraceRecord:
    """A finished turn's trace, ready to be stored and exported."""

    trace_id: str
    client_request_id: str
    payload: str  # the whole trace, as the gateway serializes it (MLflow's Trace JSON)


class ExportResult(enum.Enum):
    EXPORTED = "exported"  # MLflow has the trace (again, if it had it already)
    UNAVAILABLE = "unavailable"  # MLflow unreachable, timed out or answered 5xx / 429
    REJECTED = "rejected"  # MLflow refused it for good (401, 403, other 4xx)


@dataclass(frozen=True)
class ExportOutcome:
    result: ExportResult
    detail: str = ""  # for logs and dead letters


class TraceRegistry:
    def __init__(self, max_entries: int = 100_000) -> None:
        self._max = max_entries
        self._exports: OrderedDict[str, asyncio.Future[bool]] = OrderedDict()
        self._by_request_id: OrderedDict[str, str] = OrderedDict()
        self._verified: OrderedDict[str, None] = OrderedDict()

    def register(self, trace_id: str, client_request_id: str) -> asyncio.Future[bool]:
        """Remembers a recorded trace whose export is pending; returns the export's future
        (True once MLflow has the trace, False when MLflow refused it for good)."""
        export = self._exports.get(trace_id)
        if export is None or export.done():
            export = asyncio.get_running_loop().create_future()
            self._exports[trace_id] = export
        self._by_request_id[client_request_id] = trace_id
        self._trim()
        return export

    def settle(self, trace_id: str, exported: bool) -> None:
        """The export of `trace_id` is over (stored in MLflow, or refused)."""
        export = self._exports.get(trace_id)
        if export is not None and not export.done():
            export.set_result(exported)
        if exported:
            self.mark_verified(trace_id)

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
