"""The spool's SQLite table: its schema, its rows and the SQL of each write transaction.

`Spool` (spool.py) runs these transactions on its writer thread; see its docstring for
the rules they keep (one head per order key, acknowledgment order, bounded backlog).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from feedback_server.domain.model import IngestionState, Judgment, now_ms
from feedback_server.errors import ResourceExhausted

QUEUED: Final = IngestionState.QUEUED.value
STORED: Final = IngestionState.STORED.value
DEAD: Final = IngestionState.DEAD_LETTERED.value

SCHEMA_VERSION: Final = 1
SCHEMA: Final = f"""
CREATE TABLE IF NOT EXISTS spool_entries (
    seq             INTEGER PRIMARY KEY,      -- acknowledgment order
    assessment_id   TEXT    NOT NULL UNIQUE,  -- idempotency key
    order_key       TEXT    NOT NULL,
    state           TEXT    NOT NULL,         -- queued | stored | dead_lettered
    is_head         INTEGER NOT NULL DEFAULT 0,
    judgment        TEXT    NOT NULL,         -- Judgment.to_json()
    trace_id        TEXT,                     -- target or resolved trace ID
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    enqueued_ms     INTEGER NOT NULL,         -- acknowledgment time
    wait_from_ms    INTEGER NOT NULL,         -- start of the trace-wait TTL window
    next_attempt_ms INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spool_by_key ON spool_entries (order_key, state, seq);
CREATE INDEX IF NOT EXISTS spool_by_state ON spool_entries (state, updated_ms);
CREATE INDEX IF NOT EXISTS spool_by_trace ON spool_entries (trace_id, state, seq);
CREATE INDEX IF NOT EXISTS spool_due_heads ON spool_entries (next_attempt_ms, seq)
    WHERE state = '{QUEUED}' AND is_head = 1;
"""

COLUMNS: Final = (
    "seq, assessment_id, state, judgment, trace_id, attempts, last_error, "
    "enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms"
)
CHUNK: Final = 500  # bound on SQL parameters per statement
PRUNE_CHUNK: Final = 5000


@dataclass(frozen=True)
class SpoolEntry:
    """One judgment in the spool and where it stands."""

    judgment: Judgment
    state: IngestionState
    trace_id: str | None  # the target trace ID, or the one MLflow resolved
    attempts: int = 0
    last_error: str | None = None  # for dead letters: the reason
    seq: int = 0  # acknowledgment order
    enqueued_ms: int = 0  # acknowledgment time
    wait_from_ms: int = 0  # the trace-wait TTL runs from here (reset by replay)
    next_attempt_ms: int = 0
    updated_ms: int = 0

    @property
    def assessment_id(self) -> str:
        return self.judgment.assessment_id

    @property
    def order_key(self) -> str:
        return self.judgment.target.order_key


class Tx:
    """Counters carried through one writer transaction."""

    __slots__ = ("dead", "new", "pending")

    def __init__(self, pending: int, dead: int) -> None:
        self.pending = pending
        self.dead = dead
        self.new = 0  # entries enqueued (not duplicates)


def row_to_entry(row: Sequence[Any]) -> SpoolEntry:
    return SpoolEntry(
        judgment=Judgment.from_json(row[3]),
        state=IngestionState(row[2]),
        trace_id=row[4],
        attempts=row[5],
        last_error=row[6],
        seq=row[0],
        enqueued_ms=row[7],
        wait_from_ms=row[8],
        next_attempt_ms=row[9],
        updated_ms=row[10],
    )


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SpoolTransactions:
    """The write transactions of the spool, run by `Spool`'s writer thread."""

    max_pending: int
    retry_after_s: float
    retention_s: float

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
        self, conn: sqlite3.Connection, tx: Tx, judgments: list[Judgment], now: int
    ) -> tuple[list[SpoolEntry], int]:
        found: dict[str, SpoolEntry | Judgment] = {}
        new: list[Judgment] = []
        for j in judgments:
            if j.assessment_id in found:
                continue
            row = conn.execute(
                f"SELECT {COLUMNS} FROM spool_entries WHERE assessment_id = ?",
                (j.assessment_id,),
            ).fetchone()
            if row is not None:
                found[j.assessment_id] = row_to_entry(row)
            else:
                found[j.assessment_id] = j
                new.append(j)
        if new and tx.pending + len(new) > self.max_pending:
            raise ResourceExhausted(
                "too many judgments are waiting to be stored; retry later",
                retry_after_s=self.retry_after_s,
            )
        for j in new:
            key = j.target.order_key
            has_pending = conn.execute(
                "SELECT 1 FROM spool_entries WHERE order_key = ? AND state = ? LIMIT 1",
                (key, QUEUED),
            ).fetchone()
            wait_from = j.created_ms if j.created_ms > 0 else now
            cur = conn.execute(
                "INSERT INTO spool_entries (assessment_id, order_key, state, is_head, judgment, "
                "trace_id, enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    j.assessment_id,
                    key,
                    QUEUED,
                    0 if has_pending else 1,
                    j.to_json(),
                    j.target.trace_id,
                    now,
                    wait_from,
                    now,
                    now,
                ),
            )
            found[j.assessment_id] = SpoolEntry(
                judgment=j,
                state=IngestionState.QUEUED,
                trace_id=j.target.trace_id,
                seq=cur.lastrowid or 0,
                enqueued_ms=now,
                wait_from_ms=wait_from,
                next_attempt_ms=now,
                updated_ms=now,
            )
        tx.pending += len(new)
        tx.new += len(new)
        out: list[SpoolEntry] = []
        for j in judgments:
            entry = found[j.assessment_id]
            assert isinstance(entry, SpoolEntry)
            out.append(entry)
        return out, len(new)

    def _finish_tx(
        self,
        conn: sqlite3.Connection,
        tx: Tx,
        assessment_id: str,
        state: str,
        reason: str | None,
        trace_id: str | None,
    ) -> bool:
        now = now_ms()
        row = conn.execute(
            "UPDATE spool_entries SET state = ?, is_head = 0, attempts = attempts + 1, "
            "last_error = ?, trace_id = COALESCE(?, trace_id), updated_ms = ? "
            "WHERE assessment_id = ? AND state = ? RETURNING order_key",
            (state, reason, trace_id, now, assessment_id, QUEUED),
        ).fetchone()
        if row is None:
            return False
        self._promote_head(conn, row[0])
        tx.pending -= 1
        if state == DEAD:
            tx.dead += 1
        return True

    def _replay_tx(self, conn: sqlite3.Connection, tx: Tx, ids: list[str] | None, now: int) -> int:
        update = (
            "UPDATE spool_entries SET state = ?, is_head = 0, attempts = 0, "
            "next_attempt_ms = ?, wait_from_ms = ?, updated_ms = ? WHERE state = ?"
        )
        params: tuple[Any, ...] = (QUEUED, now, now, now, DEAD)
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

    def _prune_chunk(self, conn: sqlite3.Connection, now: int) -> int:
        cutoff = now - int(self.retention_s * 1000)
        cur = conn.execute(
            "DELETE FROM spool_entries WHERE seq IN (SELECT seq FROM spool_entries "
            "WHERE state = ? AND updated_ms < ? LIMIT ?)",
            (STORED, cutoff, PRUNE_CHUNK),
        )
        return cur.rowcount
