"""The durable local spool: acknowledged judgments waiting to be stored in MLflow.

A judgment is acknowledged to the caller only once it is on disk here. The
`Drainer` (domain/drainer.py) then writes it to MLflow in the background.

Storage is one SQLite file in WAL mode with `synchronous=FULL`, so a committed
transaction survives a process kill or power loss; spool_core.py runs it (group
commit on one writer thread, the disk budget, writability and the spool clock).
The same file holds the traces of finished chat turns until they are exported
(spool_traces.py, the `TraceTable` part of this class).

An entry is `queued` (pending), `stored` (kept `retention_s` so that retries
stay idempotent, then pruned; evicted earlier when the spool needs room) or
`dead_lettered` (kept `dead_retention_s`, or until replayed).
Entries with the same `TraceTarget.order_key` are drained in acknowledgment
order (`seq`); the first pending entry of each key is flagged `is_head`, and
only heads are handed to the drainer (an index on the due heads keeps that
query cheap whatever the backlog).

One server process owns a spool file (an advisory lock enforces it); other
processes (the admin CLI) may open it with `exclusive=False` to list and replay
dead letters while the server runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from feedback_server.domain.drainer import AssessmentWriter, Drainer
from feedback_server.domain.model import Judgment
from feedback_server.domain.spool_core import (
    DEFAULT_DEAD_RETENTION_S,
    DEFAULT_RETENTION_S,
    SpoolCore,
    SpoolHealth,
    SpoolLockedError,
    SpoolOpenError,
)
from feedback_server.domain.spool_store import (
    COLUMNS,
    DEAD,
    PRUNE_CHUNK,
    QUEUED,
    STORED,
    SpoolEntry,
    chunks,
    row_to_entry,
)
from feedback_server.domain.spool_traces import TraceEntry, TraceTable

__all__ = [
    "DEFAULT_DEAD_RETENTION_S",
    "DEFAULT_RETENTION_S",
    "SPOOL_FILENAME",
    "AssessmentWriter",
    "Drainer",
    "Spool",
    "SpoolEntry",
    "SpoolHealth",
    "SpoolLockedError",
    "SpoolOpenError",
    "SpoolStats",
    "TraceEntry",
]

log = logging.getLogger(__name__)

SPOOL_FILENAME: Final = "spool.sqlite3"


@dataclass(frozen=True)
class SpoolStats:
    path: str
    pending: int
    stored: int
    dead_lettered: int
    pending_keys: int  # distinct order keys with pending entries
    due_now: int  # heads whose next attempt is due
    oldest_pending_ms: int | None  # acknowledgment time of the oldest pending entry
    max_pending_attempts: int
    file_bytes: int  # database + WAL
    traces_pending: int  # chat traces waiting for their export
    traces_dead_lettered: int
    schema_version: int


def _recent_of_source(
    conn: sqlite3.Connection,
    trace_id: str | None,
    order_key: str,
    name: str,
    source_id: str,
    depth: int,
) -> list[SpoolEntry]:
    column, value = ("trace_id", trace_id) if trace_id else ("order_key", order_key)
    # A cheap text filter on the JSON as `Judgment.to_json` writes it (sorted keys, no
    # spaces); the parsed judgments are checked exactly below.
    wanted = (f'"name":{json.dumps(name)}', f'"source_id":{json.dumps(source_id)}')
    sql = (
        f"SELECT {COLUMNS} FROM (SELECT * FROM spool_entries WHERE {column} = ? "
        "AND state = ? ORDER BY seq DESC LIMIT ?) "
        "WHERE instr(judgment, ?) > 0 AND instr(judgment, ?) > 0"
    )
    rows = [
        row
        for state in (QUEUED, STORED)
        for row in conn.execute(sql, (value, state, max(0, depth), *wanted))
    ]
    entries = [row_to_entry(r) for r in sorted(rows, key=lambda r: r[0])]
    return [e for e in entries if e.judgment.name == name and e.judgment.source_id == source_id]


class Spool(SpoolCore, TraceTable):
    """Durable queue of acknowledged judgments. See the module docstring."""

    # ------------------------------------------------------------------ public API

    def depth(self) -> int:
        """Pending entries (in memory; refreshed when another process changes the file)."""
        return self._pending

    def dead_count(self) -> int:
        return self._dead

    async def enqueue(self, judgments: Sequence[Judgment]) -> list[SpoolEntry]:
        """Durably records `judgments` in one transaction; returns their entries in order.

        Idempotent on `assessment_id`: an entry that already exists (in any
        state) is returned as it is. Raises `ResourceExhausted` when the new
        entries would take the pending depth above `max_pending`, and
        `Unavailable` when the disk refuses the write.
        """
        if not judgments:
            return []
        items = list(judgments)
        t0 = time.perf_counter()
        entries, new = await self._submit(
            lambda conn, tx: self._enqueue_tx(conn, tx, items, self.now_st(), self.wall_ms())
        )
        self.metrics.ack_latency.observe(time.perf_counter() - t0)
        if new:
            for callback in list(self._listeners):
                try:
                    callback()
                except Exception:
                    log.exception("spool enqueue listener failed")
        return entries

    async def get(self, assessment_ids: Iterable[str]) -> dict[str, SpoolEntry]:
        ids = list(dict.fromkeys(assessment_ids))

        def run(conn: sqlite3.Connection) -> dict[str, SpoolEntry]:
            out: dict[str, SpoolEntry] = {}
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT {COLUMNS} FROM spool_entries WHERE assessment_id IN ({marks})"
                for row in conn.execute(sql, chunk):
                    out[row[1]] = row_to_entry(row)
            return out

        return await self._read(run) if ids else {}

    async def pending_for_trace(self, trace_id: str) -> list[SpoolEntry]:
        """Pending entries targeting `trace_id` (directly or once resolved), in order."""
        sql = f"SELECT {COLUMNS} FROM spool_entries WHERE trace_id = ? AND state = ? ORDER BY seq"
        return await self._read(
            lambda conn: [row_to_entry(r) for r in conn.execute(sql, (trace_id, QUEUED))]
        )

    async def recent_of_sources(
        self, queries: Sequence[tuple[str | None, str, str, str]], depth: int = 64
    ) -> list[list[SpoolEntry]]:
        """For each (trace_id, order_key, name, source_id): the entries, pending or stored,
        that target `trace_id` (without one: that have `order_key`) and whose judgment has
        this name and source ID, among the newest `depth` of each state, in acknowledgment
        order. Read-only, in one reader call for all the queries, and bounded whatever the
        traces' histories (at most 2 x `depth` rows of each trace's index are read)."""

        def run(conn: sqlite3.Connection) -> list[list[SpoolEntry]]:
            return [_recent_of_source(conn, *query, depth) for query in queries]

        return await self._read(run) if queries else []

    async def list_dead(self, limit: int = 100, offset: int = 0) -> list[SpoolEntry]:
        """Dead letters in acknowledgment order; `last_error` holds the reason."""
        sql = f"SELECT {COLUMNS} FROM spool_entries WHERE state = ? ORDER BY seq LIMIT ? OFFSET ?"
        return await self._read(
            lambda conn: [
                row_to_entry(r) for r in conn.execute(sql, (DEAD, max(0, limit), max(0, offset)))
            ]
        )

    async def replay(self, assessment_ids: Iterable[str] | None = None) -> int:
        """Moves dead letters (all when None) back to pending, attempts and TTL reset.

        Returns how many entries moved; IDs that are not dead letters are ignored.
        """
        ids = None if assessment_ids is None else list(dict.fromkeys(assessment_ids))
        count: int = await self._submit(
            lambda conn, tx: self._replay_tx(conn, tx, ids, self.now_st(), self.wall_ms())
        )
        if count:
            log.info("replayed %d dead-lettered judgments", count)
            for callback in list(self._listeners):
                with contextlib.suppress(Exception):
                    callback()
        return count

    async def stats(self) -> SpoolStats:
        def run(conn: sqlite3.Connection) -> SpoolStats:
            counts = dict(
                conn.execute("SELECT state, COUNT(*) FROM spool_entries GROUP BY state").fetchall()
            )
            keys, due = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(due_st <= ?), 0) FROM spool_entries "
                f"WHERE state = '{QUEUED}' AND is_head = 1",
                (self.now_st(),),
            ).fetchone()
            traces = dict(
                conn.execute("SELECT state, COUNT(*) FROM chat_traces GROUP BY state").fetchall()
            )
            oldest, max_attempts = conn.execute(
                "SELECT MIN(enqueued_ms), COALESCE(MAX(attempts), 0) FROM spool_entries "
                "WHERE state = ?",
                (QUEUED,),
            ).fetchone()
            size = 0
            for suffix in ("", "-wal"):
                with contextlib.suppress(OSError):
                    size += os.path.getsize(f"{self.path}{suffix}")
            return SpoolStats(
                path=str(self.path),
                pending=counts.get(QUEUED, 0),
                stored=counts.get(STORED, 0),
                dead_lettered=counts.get(DEAD, 0),
                pending_keys=keys,
                due_now=due,
                oldest_pending_ms=oldest,
                max_pending_attempts=max_attempts,
                file_bytes=size,
                traces_pending=traces.get(QUEUED, 0),
                traces_dead_lettered=traces.get(DEAD, 0),
                schema_version=conn.execute("PRAGMA user_version").fetchone()[0],
            )

        return await self._read(run)

    # ------------------------------------------------------------- drainer API

    async def heads(self, limit: int) -> list[SpoolEntry]:
        """The first pending entry of each order key, soonest next attempt first."""
        # The literal state (not a parameter) lets SQLite match the partial index.
        sql = (
            f"SELECT {COLUMNS} FROM spool_entries INDEXED BY spool_due "
            f"WHERE state = '{QUEUED}' AND is_head = 1 ORDER BY due_st, seq LIMIT ?"
        )
        return await self._read(lambda conn: [row_to_entry(r) for r in conn.execute(sql, (limit,))])

    async def mark_stored(self, assessment_id: str, trace_id: str | None) -> bool:
        """Records that MLflow stored the entry; False if it was not pending."""
        done: bool = await self._submit(
            lambda conn, tx: self._finish_tx(
                conn, tx, assessment_id, STORED, None, trace_id, self.now_st(), self.wall_ms()
            )
        )
        return done

    async def mark_dead(self, assessment_id: str, reason: str, trace_id: str | None = None) -> bool:
        """Moves a pending entry to the dead letters with `reason`."""
        done: bool = await self._submit(
            lambda conn, tx: self._finish_tx(
                conn, tx, assessment_id, DEAD, reason, trace_id, self.now_st(), self.wall_ms()
            )
        )
        return done

    async def mark_retry(
        self,
        assessment_id: str,
        due_st: int,
        error: str,
        trace_id: str | None = None,
    ) -> bool:
        """Counts a failed attempt and schedules the next one at spool time `due_st`."""
        done: bool = await self._submit(
            lambda conn, tx: self._retry_tx(
                conn, assessment_id, due_st, error, trace_id, self.wall_ms()
            )
        )
        return done

    async def refresh(self) -> None:
        """Recounts pending and dead entries if another process changed the file."""
        await self._submit(lambda conn, tx: None)

    async def prune(self) -> int:
        """Deletes stored entries and dead letters past their retention; returns how many."""
        total = 0
        while True:
            removed: int = await self._submit(
                lambda conn, tx: self._prune_chunk(conn, tx, self.now_st())
                + self._prune_traces(conn, tx, self.now_st())
            )
            total += removed
            if removed < PRUNE_CHUNK:
                return total
