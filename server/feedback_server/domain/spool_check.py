"""Inspecting a spool file and salvaging a damaged one (`feedback-admin spool check|salvage`).

`check` opens the file without changing it: SQLite's integrity check, the schema version,
the counts, and the rows the server could not decode (it dead-letters those itself).

`salvage` is for a file the server refuses at start (damaged). With the server stopped
(it takes the server's lock), it copies every row SQLite can still read into a new spool
file of the current schema, moves the damaged file aside (`spool.sqlite3.damaged-<time>`,
kept for inspection) and puts the new one in its place. Rows that cannot be read are
counted and lost; everything else, pending judgments and traces included, is kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from feedback_server.domain.spool_schema import (
    SCHEMA_VERSION,
    SpoolLockedError,
    create_or_migrate,
    save_clock,
    user_version,
)
from feedback_server.domain.spool_store import COLUMNS, lenient_text, row_to_entry

_STEP: Final = 500
#: Keys tried one by one past a damaged region before a scan gives up.
_MAX_SKIP: Final = 100_000

_ENTRY_COPY: Final = (
    "seq, assessment_id, order_key, state, is_head, judgment, trace_id, attempts, last_error, "
    "enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms"
)
_TRACE_COPY: Final = (
    "seq, trace_id, client_request_id, state, trace, attempts, last_error, recorded_ms, due_st, "
    "done_st"
)


@dataclass
class CheckReport:
    path: str
    integrity: list[str]  # ["ok"], or SQLite's complaints
    schema_version: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # judgments by state
    traces: dict[str, int] = field(default_factory=dict)  # traces by state
    unreadable: list[str] = field(default_factory=list)  # assessment IDs: why

    @property
    def healthy(self) -> bool:
        return self.integrity == ["ok"] and not self.unreadable


@dataclass
class SalvageReport:
    kept: dict[str, int]  # judgments by state
    traces_kept: int
    unreadable: int  # rows SQLite could not return
    damaged_copy: str


def _connect_raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.text_factory = lenient_text
    return conn


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None


def check(path: Path) -> CheckReport:
    """What is in the spool file and whether SQLite and the server can read all of it."""
    report = CheckReport(str(path), [])
    try:
        conn = _connect_raw(path)
    except sqlite3.Error as exc:
        report.integrity = [str(exc)]
        return report
    try:
        conn.execute("PRAGMA query_only = 1")
        report.integrity = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
        report.schema_version = user_version(conn)
        if _has_table(conn, "spool_entries"):
            report.counts = dict(
                conn.execute("SELECT state, COUNT(*) FROM spool_entries GROUP BY state")
            )
            if report.schema_version >= 2:
                for row in conn.execute(f"SELECT {COLUMNS} FROM spool_entries"):
                    entry = row_to_entry(row)
                    if entry.problem is not None:
                        report.unreadable.append(f"{entry.assessment_id}: {entry.problem}")
        if _has_table(conn, "chat_traces"):
            report.traces = dict(
                conn.execute("SELECT state, COUNT(*) FROM chat_traces GROUP BY state")
            )
    except sqlite3.Error as exc:
        report.integrity = [*[i for i in report.integrity if i != "ok"], str(exc)]
    finally:
        conn.close()
    return report


def _readable_rows(
    conn: sqlite3.Connection, table: str, columns: str
) -> tuple[list[tuple[Any, ...]], int]:
    """Every row of `table` SQLite can still return, by `seq`; and how many keys failed."""
    rows: list[tuple[Any, ...]] = []
    failed = 0
    last = 0
    skipped = 0
    while skipped < _MAX_SKIP:
        try:
            chunk = conn.execute(
                f"SELECT {columns} FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",
                (last, _STEP),
            ).fetchall()
        except sqlite3.DatabaseError:
            last += 1  # step over the damaged region one key at a time
            skipped += 1
            try:
                row = conn.execute(
                    f"SELECT {columns} FROM {table} WHERE seq = ?", (last,)
                ).fetchone()
            except sqlite3.DatabaseError:
                failed += 1
                continue
            if row is not None:
                rows.append(row)
            continue
        if not chunk:
            break
        rows.extend(chunk)
        last = chunk[-1][0]
        skipped = 0
    return rows, failed


def salvage(path: Path, *, wall_ms: int | None = None) -> SalvageReport:
    """Copies what can be read into a new spool file that replaces `path` (module doc).
    Raises `SpoolLockedError` while a server holds the spool."""
    now = wall_ms if wall_ms is not None else int(time.time() * 1000)
    lock = open(path.with_name(path.name + ".lock"), "a+b")  # noqa: SIM115 - held below
    try:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise SpoolLockedError(
                f"spool {path} is in use by a server; stop it before salvaging"
            ) from exc
        entries: list[tuple[Any, ...]] = []
        traces: list[tuple[Any, ...]] = []
        failed = 0
        clock = now
        with contextlib.suppress(sqlite3.Error):
            old = _connect_raw(path)
            try:
                version = user_version(old)
                extra = ", due_st, wait_st, done_st" if version >= 2 else ""
                # The judgment's bytes are copied as they are (the server decodes them).
                select = _ENTRY_COPY.replace("judgment", "CAST(judgment AS BLOB)") + extra
                if _has_table(old, "spool_entries"):
                    entries, lost = _readable_rows(old, "spool_entries", select)
                    failed += lost
                if _has_table(old, "chat_traces"):
                    traces, lost = _readable_rows(old, "chat_traces", _TRACE_COPY)
                    failed += lost
                if _has_table(old, "spool_meta"):
                    with contextlib.suppress(sqlite3.Error):
                        cur = old.execute("SELECT value FROM spool_meta WHERE key = 'clock_ms'")
                        clock = max(clock, int(cur.fetchone()[0]))
            finally:
                old.close()
        fresh = path.with_name(path.name + ".salvaged")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{fresh}{suffix}")
        _write_fresh(fresh, entries, traces, clock)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now / 1000))
        damaged = path.with_name(f"{path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.replace(f"{path}{suffix}", f"{damaged}{suffix}")
        os.replace(fresh, path)
    finally:
        lock.close()
    kept: dict[str, int] = {}
    for row in entries:
        kept[str(row[3])] = kept.get(str(row[3]), 0) + 1
    return SalvageReport(kept, len(traces), failed, str(damaged))


def _write_fresh(
    path: Path, entries: list[tuple[Any, ...]], traces: list[tuple[Any, ...]], clock: int
) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # one file, renamed into place
        conn.execute("BEGIN IMMEDIATE")
        create_or_migrate(conn, path, clock)
        save_clock(conn, clock)
        for row in entries:
            if len(row) == 13:  # schema 1: its wall-clock times become spool times
                row = (*row, row[11], row[10], row[12])
            conn.execute(
                f"INSERT OR IGNORE INTO spool_entries ({_ENTRY_COPY}, due_st, wait_st, done_st) "
                f"VALUES ({', '.join('?' * 16)})",
                row,
            )
        for row in traces:
            conn.execute(
                f"INSERT OR IGNORE INTO chat_traces ({_TRACE_COPY}) VALUES ({', '.join('?' * 10)})",
                row,
            )
        conn.execute("COMMIT")
        assert user_version(conn) == SCHEMA_VERSION
    finally:
        conn.close()
