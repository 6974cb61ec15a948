"""The spool's trace table: finished chat turns' traces waiting for their export to MLflow.

A trace is recorded (group commit, fsync) before its turn is answered; the trace exporter
(domain/trace_export.py) exports it from here and deletes the row once MLflow has it. A
trace MLflow refuses for good stays as a dead letter with the reason, until it is replayed
(`feedback-admin traces replay`) or its retention passes. Times: see spool_store.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from feedback_server.domain.spool_store import DEAD, QUEUED, Tx, chunks
from feedback_server.domain.traces import TraceRecord

T = TypeVar("T")

TRACE_COLUMNS: Final = (
    "seq, trace_id, client_request_id, state, trace, attempts, last_error, recorded_ms, "
    "due_st, done_st"
)
TRACE_PRUNE_CHUNK: Final = 1000


@dataclass(frozen=True)
class TraceEntry:
    """One recorded trace and where its export stands."""

    record: TraceRecord
    state: str  # QUEUED or DEAD
    attempts: int = 0
    last_error: str | None = None
    seq: int = 0
    recorded_ms: int = 0  # wall clock
    due_st: int = 0  # next export attempt (spool time)
    done_st: int = 0  # dead-lettered at (spool time)
    problem: str | None = None  # why the row could not be read

    @property
    def trace_id(self) -> str:
        return self.record.trace_id


def row_to_trace(row: Sequence[Any]) -> TraceEntry:
    problem = None
    raw = row[4]
    try:
        payload = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError as exc:
        payload, problem = "", f"unreadable row: {type(exc).__name__}"
    return TraceEntry(
        record=TraceRecord(str(row[1]), str(row[2]), payload),
        state=str(row[3]),
        attempts=row[5],
        last_error=row[6],
        seq=row[0],
        recorded_ms=row[7],
        due_st=row[8],
        done_st=row[9],
        problem=problem,
    )


class TraceTransactions:
    """The write transactions of the trace table, run by the writer thread."""

    dead_retention_s: float
    _ensure_room: Callable[[sqlite3.Connection, int], None]  # the disk budget (spool_writer)

    @staticmethod
    def _count_traces(conn: sqlite3.Connection) -> tuple[int, int]:
        counts = dict(
            conn.execute(
                "SELECT state, COUNT(*) FROM chat_traces GROUP BY state",
            ).fetchall()
        )
        return counts.get(QUEUED, 0), counts.get(DEAD, 0)

    def _record_trace_tx(
        self, conn: sqlite3.Connection, tx: Tx, record: TraceRecord, now: int, wall: int
    ) -> bool:
        payload = record.payload.encode("utf-8")
        self._ensure_room(conn, len(payload))
        cur = conn.execute(
            "INSERT OR IGNORE INTO chat_traces (trace_id, client_request_id, state, trace, "
            "recorded_ms, due_st) VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.trace_id,
                record.client_request_id,
                QUEUED,
                payload,
                wall,
                now,
            ),
        )
        tx.trace_pending += cur.rowcount
        return cur.rowcount > 0

    @staticmethod
    def _trace_exported_tx(conn: sqlite3.Connection, tx: Tx, trace_id: str) -> bool:
        cur = conn.execute(
            "DELETE FROM chat_traces WHERE trace_id = ? AND state = ?", (trace_id, QUEUED)
        )
        tx.trace_pending -= cur.rowcount
        return cur.rowcount > 0

    @staticmethod
    def _trace_retry_tx(conn: sqlite3.Connection, trace_id: str, due: int, error: str) -> bool:
        cur = conn.execute(
            "UPDATE chat_traces SET attempts = attempts + 1, last_error = ?, due_st = ? "
            "WHERE trace_id = ? AND state = ?",
            (error, due, trace_id, QUEUED),
        )
        return cur.rowcount > 0

    @staticmethod
    def _trace_dead_tx(
        conn: sqlite3.Connection, tx: Tx, trace_id: str, reason: str, now: int
    ) -> bool:
        cur = conn.execute(
            "UPDATE chat_traces SET state = ?, attempts = attempts + 1, last_error = ?, "
            "done_st = ? WHERE trace_id = ? AND state = ?",
            (DEAD, reason, now, trace_id, QUEUED),
        )
        tx.trace_pending -= cur.rowcount
        tx.trace_dead += cur.rowcount
        return cur.rowcount > 0

    @staticmethod
    def _trace_replay_tx(
        conn: sqlite3.Connection, tx: Tx, ids: list[str] | None, now: int
    ) -> list[tuple[str, str]]:
        update = (
            "UPDATE chat_traces SET state = ?, attempts = 0, due_st = ?, done_st = 0 "
            "WHERE state = ?"
        )
        params: tuple[Any, ...] = (QUEUED, now, DEAD)
        rows: list[Any] = []
        if ids is None:
            rows = conn.execute(
                update + " RETURNING trace_id, client_request_id", params
            ).fetchall()
        else:
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = f"{update} AND trace_id IN ({marks}) RETURNING trace_id, client_request_id"
                rows.extend(conn.execute(sql, (*params, *chunk)).fetchall())
        tx.trace_pending += len(rows)
        tx.trace_dead -= len(rows)
        return [(str(r[0]), str(r[1])) for r in rows]

    def _prune_traces(self, conn: sqlite3.Connection, tx: Tx, now: int) -> int:
        cur = conn.execute(
            "DELETE FROM chat_traces WHERE seq IN (SELECT seq FROM chat_traces "
            "WHERE state = ? AND done_st < ? LIMIT ?)",
            (DEAD, now - int(self.dead_retention_s * 1000), TRACE_PRUNE_CHUNK),
        )
        tx.trace_dead -= cur.rowcount
        return cur.rowcount


class TraceTable:
    """The trace table's API on `Spool` (mixed in; the spool provides `_submit`, `_read`,
    `now_st` and `wall_ms`)."""

    _submit: Callable[..., Awaitable[Any]]
    _read: Callable[..., Awaitable[Any]]
    _record_trace_tx: Callable[..., bool]
    _trace_listeners: list[Callable[[], None]]
    now_st: Callable[[], int]
    wall_ms: Callable[[], int]

    async def record_trace(self, record: TraceRecord) -> bool:
        """Durably records a finished turn's trace (group commit); False if it was there.
        Raises `Unavailable` when the spool cannot write."""
        new: bool = await self._submit(
            lambda conn, tx: self._record_trace_tx(conn, tx, record, self.now_st(), self.wall_ms())
        )
        return new

    async def pending_trace_ids(self) -> list[tuple[str, str]]:
        """(trace ID, client request ID) of every trace waiting for its export."""
        sql = "SELECT trace_id, client_request_id FROM chat_traces WHERE state = ? ORDER BY seq"
        rows: list[tuple[str, str]] = await self._read(
            lambda conn: [(str(r[0]), str(r[1])) for r in conn.execute(sql, (QUEUED,))]
        )
        return rows

    async def due_traces(self, limit: int) -> list[TraceEntry]:
        """Traces waiting for their export, soonest next attempt first."""
        sql = (
            f"SELECT {TRACE_COLUMNS} FROM chat_traces INDEXED BY chat_traces_due "
            f"WHERE state = '{QUEUED}' ORDER BY due_st, seq LIMIT ?"
        )
        rows: list[TraceEntry] = await self._read(
            lambda conn: [row_to_trace(r) for r in conn.execute(sql, (limit,))]
        )
        return rows

    async def trace_exported(self, trace_id: str) -> bool:
        """MLflow has the trace: its row is deleted."""
        done: bool = await self._submit(
            lambda conn, tx: TraceTransactions._trace_exported_tx(conn, tx, trace_id)
        )
        return done

    async def trace_retry(self, trace_id: str, due_st: int, error: str) -> bool:
        done: bool = await self._submit(
            lambda conn, tx: TraceTransactions._trace_retry_tx(conn, trace_id, due_st, error)
        )
        return done

    async def trace_dead(self, trace_id: str, reason: str) -> bool:
        done: bool = await self._submit(
            lambda conn, tx: TraceTransactions._trace_dead_tx(
                conn, tx, trace_id, reason, self.now_st()
            )
        )
        return done

    async def list_dead_traces(self, limit: int = 100, offset: int = 0) -> list[TraceEntry]:
        sql = (
            f"SELECT {TRACE_COLUMNS} FROM chat_traces WHERE state = ? ORDER BY seq LIMIT ? OFFSET ?"
        )
        rows: list[TraceEntry] = await self._read(
            lambda conn: [
                row_to_trace(r) for r in conn.execute(sql, (DEAD, max(0, limit), max(0, offset)))
            ]
        )
        return rows

    async def replay_traces(self, trace_ids: Iterable[str] | None = None) -> int:
        """Dead-lettered traces (all when None) back to pending; returns how many moved."""
        ids = None if trace_ids is None else list(dict.fromkeys(trace_ids))
        moved: list[tuple[str, str]] = await self._submit(
            lambda conn, tx: TraceTransactions._trace_replay_tx(conn, tx, ids, self.now_st())
        )
        if moved:
            for callback in list(self._trace_listeners):
                callback()
        return len(moved)
