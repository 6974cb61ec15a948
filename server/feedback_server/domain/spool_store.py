"""The spool's judgment table: its rows and the SQL of each write transaction.

`Spool` (spool.py) runs these transactions on its writer thread; see its docstring for
the rules they keep (one head per order key, acknowledgment order, bounded backlog). The
schema is in spool_schema.py. Times named `*_st` are spool times, `*_ms` wall-clock times
that are only recorded (docs/spool.md "Time").

A row that cannot be decoded (a damaged file, a bug) is returned as a `SpoolEntry` whose
`problem` says why, so that one bad row never stops the others: the drainer dead-letters it
with that reason.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from feedback_server.domain.model import IngestionState, Judgment, JudgmentKind, TraceTarget
from feedback_server.errors import ResourceExhausted

QUEUED: Final = IngestionState.QUEUED.value
STORED: Final = IngestionState.STORED.value
DEAD: Final = IngestionState.DEAD_LETTERED.value

#: The judgment column is read as bytes and decoded here, so that bytes that are not UTF-8
#: make one row unreadable instead of failing the whole query.
COLUMNS: Final = (
    "seq, assessment_id, state, CAST(judgment AS BLOB), trace_id, attempts, last_error, "
    "enqueued_ms, wait_st, due_st, updated_ms, order_key, done_st"
)
CHUNK: Final = 500  # bound on SQL parameters per statement
PRUNE_CHUNK: Final = 5000
#: Stored entries removed at a time when the spool needs room (they are kept only so that
#: retries get the same answer; MLflow keeps the assessment ID, so nothing is duplicated).
EVICT_CHUNK: Final = 500
#: A new judgment; nothing when its assessment ID is spooled already. It is the head of its
#: order key when no other entry of the key is pending (the literal state matches the index).
_INSERT: Final = (
    "INSERT INTO spool_entries (assessment_id, order_key, state, is_head, judgment, trace_id, "
    "enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms, due_st, wait_st) "
    f"SELECT ?, ?, '{QUEUED}', NOT EXISTS (SELECT 1 FROM spool_entries WHERE order_key = ? "
    f"AND state = '{QUEUED}'), ?, ?, ?, ?, ?, ?, ?, ? WHERE true "
    "ON CONFLICT (assessment_id) DO NOTHING RETURNING seq"
)


@dataclass(frozen=True)
class SpoolEntry:
    """One judgment in the spool and where it stands."""

    judgment: Judgment
    state: IngestionState
    trace_id: str | None  # the target trace ID, or the one MLflow resolved
    attempts: int = 0
    last_error: str | None = None  # for dead letters: the reason
    seq: int = 0  # acknowledgment order
    enqueued_ms: int = 0  # acknowledgment time (wall clock)
    wait_st: int = 0  # the trace-wait TTL runs from here (reset by replay); spool time
    due_st: int = 0  # next attempt; spool time
    updated_ms: int = 0  # last change (wall clock)
    done_st: int = 0  # stored or dead-lettered at; spool time
    problem: str | None = None  # why the row could not be read (`judgment` is a stand-in)

    @property
    def assessment_id(self) -> str:
        return self.judgment.assessment_id

    @property
    def order_key(self) -> str:
        return self.judgment.target.order_key


class Tx:
    """Counters carried through one writer transaction."""

    __slots__ = ("dead", "new", "pending", "trace_dead", "trace_pending")

    def __init__(self, pending: int, dead: int, trace_pending: int, trace_dead: int) -> None:
        self.pending = pending
        self.dead = dead
        self.trace_pending = trace_pending
        self.trace_dead = trace_dead
        self.new = 0  # entries enqueued (not duplicates)

    def counts(self) -> tuple[int, int, int, int]:
        return self.pending, self.dead, self.trace_pending, self.trace_dead

    def restore(self, counts: tuple[int, int, int, int]) -> None:
        self.pending, self.dead, self.trace_pending, self.trace_dead = counts


def lenient_text(raw: bytes) -> str:
    """The reader's text factory: text columns that are not UTF-8 do not fail a query."""
    return raw.decode("utf-8", "replace")


def _stand_in(assessment_id: str, order_key: str, trace_id: str | None) -> Judgment:
    """A judgment holding what the row's own columns say, for an unreadable row."""
    if order_key.startswith("crid:"):
        target = TraceTarget(None, order_key[5:], None)
    else:
        target = TraceTarget(order_key or trace_id, None, None)
    return Judgment(assessment_id, "", JudgmentKind.FEEDBACK, target, "", None)


def row_to_entry(row: Sequence[Any]) -> SpoolEntry:
    problem: str | None = None
    try:
        state = IngestionState(row[2])
    except ValueError:
        state, problem = IngestionState.DEAD_LETTERED, f"unknown state {str(row[2])[:40]!r}"
    try:
        raw = row[3]
        judgment = Judgment.from_json(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        if judgment.assessment_id != row[1]:
            raise ValueError("assessment ID differs from the row's")
    except Exception as exc:  # any decoding failure makes this one row unreadable
        problem = problem or f"unreadable row: {type(exc).__name__}"
        judgment = _stand_in(str(row[1]), str(row[11] or ""), row[4])
    return SpoolEntry(
        judgment=judgment,
        state=state,
        trace_id=row[4],
        attempts=row[5],
        last_error=row[6],
        seq=row[0],
        enqueued_ms=row[7],
        wait_st=row[8],
        due_st=row[9],
        updated_ms=row[10],
        done_st=row[12],
        problem=problem,
    )


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SpoolTransactions:
    """The write transactions of the judgment table, run by `Spool`'s writer thread. `now`
    arguments are spool times, `wall` arguments wall-clock times."""

    max_pending: int
    retry_after_s: float
    retention_s: float
    dead_retention_s: float
    _ensure_room: Callable[[sqlite3.Connection, int], None]  # the disk budget (spool_writer)

    @staticmethod
    def _count(conn: sqlite3.Connection) -> tuple[int, int]:
        counts = dict(
            conn.execute(
                "SELECT state, COUNT(*) FROM spool_entries WHERE state IN (?, ?) GROUP BY state",
                (QUEUED, DEAD),
            ).fetchall()
        )
        return counts.get(QUEUED, 0), counts.get(DEAD, 0)

    @staticmethod
    def _repair_heads(conn: sqlite3.Connection) -> None:
        """Rebuilds the `is_head` flags from scratch (start-up; cheap insurance)."""
        heads = "SELECT MIN(seq) FROM spool_entries WHERE state = ? GROUP BY order_key"
        conn.execute(
            f"UPDATE spool_entries SET is_head = 0 WHERE is_head = 1 "
            f"AND (state != ? OR seq NOT IN ({heads}))",
            (QUEUED, QUEUED),
        )
        conn.execute(
            f"UPDATE spool_entries SET is_head = 1 WHERE is_head = 0 AND seq IN ({heads})",
            (QUEUED,),
        )

    @staticmethod
    def _promote_head(conn: sqlite3.Connection, order_key: str) -> None:
        conn.execute(
            "UPDATE spool_entries SET is_head = 1 WHERE seq = "
            "(SELECT MIN(seq) FROM spool_entries WHERE order_key = ? AND state = ?) "
            "AND is_head = 0",
            (order_key, QUEUED),
        )

    def _fix_head(self, conn: sqlite3.Connection, order_key: str) -> None:
        conn.execute(
            "UPDATE spool_entries SET is_head = 0 WHERE order_key = ? AND state = ? "
            "AND is_head = 1",
            (order_key, QUEUED),
        )
        self._promote_head(conn, order_key)

    def _enqueue_tx(
        self, conn: sqlite3.Connection, tx: Tx, judgments: list[Judgment], now: int, wall: int
    ) -> tuple[list[SpoolEntry], int]:
        """One statement per new judgment: an INSERT that keeps the existing entry of an
        assessment ID (a retry) and computes the head flag itself; only a retry reads its
        entry back. The bounds are checked before anything is written."""
        first: dict[str, Judgment] = {}
        for j in judgments:  # the first of the same assessment ID is the one recorded
            first.setdefault(j.assessment_id, j)
        unique = list(first.values())
        payloads = [j.to_json() for j in unique]
        if tx.pending + len(unique) > self.max_pending:
            fresh = self._new_count(conn, unique)  # retries of spooled judgments do not count
            if fresh and tx.pending + fresh > self.max_pending:
                raise ResourceExhausted(
                    "too many judgments are waiting to be stored; retry later",
                    retry_after_s=self.retry_after_s,
                )
        self._ensure_room(conn, sum(len(p) for p in payloads))
        found: dict[str, SpoolEntry] = {}
        for j, payload in zip(unique, payloads, strict=True):
            key = j.target.order_key
            params = (j.assessment_id, key, key, payload, j.target.trace_id, wall, wall, wall)
            row = conn.execute(_INSERT, (*params, wall, now, now)).fetchone()
            if row is None:  # already spooled: answered as it is
                existing = conn.execute(
                    f"SELECT {COLUMNS} FROM spool_entries WHERE assessment_id = ?",
                    (j.assessment_id,),
                ).fetchone()
                found[j.assessment_id] = row_to_entry(existing)
                continue
            found[j.assessment_id] = SpoolEntry(
                judgment=j,
                state=IngestionState.QUEUED,
                trace_id=j.target.trace_id,
                seq=row[0],
                enqueued_ms=wall,
                wait_st=now,
                due_st=now,
                updated_ms=wall,
            )
        new = sum(1 for j in unique if found[j.assessment_id].judgment is j)
        tx.pending += new
        tx.new += new
        return [found[j.assessment_id] for j in judgments], new

    @staticmethod
    def _new_count(conn: sqlite3.Connection, judgments: list[Judgment]) -> int:
        """How many of `judgments` are not spooled yet (only read near `max_pending`)."""
        return sum(
            conn.execute(
                "SELECT 1 FROM spool_entries WHERE assessment_id = ?", (j.assessment_id,)
            ).fetchone()
            is None
            for j in judgments
        )

    def _finish_tx(
        self,
        conn: sqlite3.Connection,
        tx: Tx,
        assessment_id: str,
        state: str,
        reason: str | None,
        trace_id: str | None,
        now: int,
        wall: int,
    ) -> bool:
        row = conn.execute(
            "UPDATE spool_entries SET state = ?, is_head = 0, attempts = attempts + 1, "
            "last_error = ?, trace_id = COALESCE(?, trace_id), updated_ms = ?, done_st = ? "
            "WHERE assessment_id = ? AND state = ? RETURNING order_key",
            (state, reason, trace_id, wall, now, assessment_id, QUEUED),
        ).fetchone()
        if row is None:
            return False
        self._promote_head(conn, row[0])
        tx.pending -= 1
        if state == DEAD:
            tx.dead += 1
        return True

    @staticmethod
    def _retry_tx(
        conn: sqlite3.Connection,
        assessment_id: str,
        due: int,
        error: str,
        trace_id: str | None,
        wall: int,
    ) -> bool:
        cur = conn.execute(
            "UPDATE spool_entries SET attempts = attempts + 1, last_error = ?, due_st = ?, "
            "trace_id = COALESCE(?, trace_id), updated_ms = ? WHERE assessment_id = ? "
            "AND state = ?",
            (error, due, trace_id, wall, assessment_id, QUEUED),
        )
        return cur.rowcount > 0

    def _replay_tx(
        self, conn: sqlite3.Connection, tx: Tx, ids: list[str] | None, now: int, wall: int
    ) -> int:
        update = (
            "UPDATE spool_entries SET state = ?, is_head = 0, attempts = 0, due_st = ?, "
            "wait_st = ?, done_st = 0, updated_ms = ? WHERE state = ?"
        )
        params: tuple[Any, ...] = (QUEUED, now, now, wall, DEAD)
        rows: list[Any] = []
        if ids is None:
            rows = conn.execute(update + " RETURNING order_key", params).fetchall()
        else:
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = f"{update} AND assessment_id IN ({marks}) RETURNING order_key"
                rows.extend(conn.execute(sql, (*params, *chunk)).fetchall())
        for key in {r[0] for r in rows}:
            self._fix_head(conn, key)
        tx.pending += len(rows)
        tx.dead -= len(rows)
        return len(rows)

    def _prune_chunk(self, conn: sqlite3.Connection, tx: Tx, now: int) -> int:
        """Removes one chunk of stored entries and dead letters past their retention."""
        removed = 0
        for state, retention_s in ((STORED, self.retention_s), (DEAD, self.dead_retention_s)):
            cur = conn.execute(
                "DELETE FROM spool_entries WHERE seq IN (SELECT seq FROM spool_entries "
                "WHERE state = ? AND done_st < ? LIMIT ?)",
                (state, now - int(retention_s * 1000), PRUNE_CHUNK),
            )
            removed += cur.rowcount
            if state == DEAD:
                tx.dead -= cur.rowcount
        return removed

    @staticmethod
    def _evict_stored(conn: sqlite3.Connection) -> int:
        """Removes the oldest stored entries before their retention, to make room."""
        cur = conn.execute(
            "DELETE FROM spool_entries WHERE seq IN (SELECT seq FROM spool_entries "
            "INDEXED BY spool_by_done WHERE state = ? ORDER BY done_st LIMIT ?)",
            (STORED, EVICT_CHUNK),
        )
        return cur.rowcount
