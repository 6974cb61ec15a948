"""The spool file's schema, its migrations and its start-up checks.

Version 2 (this release) has three tables:

- `spool_entries`: acknowledged judgments (spool_store.py);
- `chat_traces`: finished chat turns' traces waiting for their export (spool_traces.py);
- `spool_meta`: the spool clock (`clock_ms`, docs/spool.md "Time").

Version 1 (the first release) had `spool_entries` only, scheduled on the wall clock. It is
migrated in place, in one transaction, when a server opens it: the spool clock starts at the
wall time of the migration, so the v1 wall-clock times become spool times as they are.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

QUEUED: Final = "queued"

SCHEMA_VERSION: Final = 2

_ENTRIES_V1: Final = """
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
    enqueued_ms     INTEGER NOT NULL,         -- acknowledgment time (wall clock)
    wait_from_ms    INTEGER NOT NULL,         -- wall clock; v1 only
    next_attempt_ms INTEGER NOT NULL,         -- wall clock; v1 only
    updated_ms      INTEGER NOT NULL          -- last change (wall clock)
)
"""

#: Columns added by version 2, in spool time (docs/spool.md "Time").
_ENTRIES_V2_COLUMNS: Final = (
    "due_st INTEGER NOT NULL DEFAULT 0",  # next attempt
    "wait_st INTEGER NOT NULL DEFAULT 0",  # start of the trace-wait TTL
    "done_st INTEGER NOT NULL DEFAULT 0",  # stored or dead-lettered at (retention)
)

_V2_TABLES: Final = (
    """
CREATE TABLE IF NOT EXISTS chat_traces (
    seq               INTEGER PRIMARY KEY,      -- recording order
    trace_id          TEXT    NOT NULL UNIQUE,
    client_request_id TEXT    NOT NULL,
    state             TEXT    NOT NULL,         -- queued | dead_lettered (exported: deleted)
    trace             BLOB    NOT NULL,         -- MLflow's Trace.to_json(), UTF-8
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    recorded_ms       INTEGER NOT NULL,         -- wall clock
    due_st            INTEGER NOT NULL,         -- next attempt (spool time)
    done_st           INTEGER NOT NULL DEFAULT 0  -- dead-lettered at (spool time)
)
""",
    f"CREATE INDEX IF NOT EXISTS chat_traces_due ON chat_traces (due_st, seq) "
    f"WHERE state = '{QUEUED}'",
    "CREATE INDEX IF NOT EXISTS chat_traces_by_state ON chat_traces (state, done_st)",
    "CREATE TABLE IF NOT EXISTS spool_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)

_ENTRIES_INDEXES: Final = (
    "CREATE INDEX IF NOT EXISTS spool_by_key ON spool_entries (order_key, state, seq)",
    "CREATE INDEX IF NOT EXISTS spool_by_trace ON spool_entries (trace_id, state, seq)",
    "CREATE INDEX IF NOT EXISTS spool_by_done ON spool_entries (state, done_st)",
    f"CREATE INDEX IF NOT EXISTS spool_due ON spool_entries (due_st, seq) "
    f"WHERE state = '{QUEUED}' AND is_head = 1",
)

#: Version 1's indexes on wall-clock columns, replaced by the `spool_due` and `spool_by_done`.
_V1_INDEXES: Final = ("spool_due_heads", "spool_by_state")

CLOCK_KEY: Final = "clock_ms"


class SpoolOpenError(RuntimeError):
    """The spool file cannot be used; `str()` is one line naming the file and what to do."""


class SpoolLockedError(SpoolOpenError):
    """Another process already owns this spool file."""


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def create_or_migrate(conn: sqlite3.Connection, path: Path, wall_ms: int) -> int:
    """Brings the schema to `SCHEMA_VERSION` inside the caller's transaction; returns the
    version found (0 for a new file). A file of a newer version is refused."""
    found = user_version(conn)
    if found > SCHEMA_VERSION:
        raise SpoolOpenError(
            f"spool {path} has schema version {found}, newer than this server's "
            f"({SCHEMA_VERSION}); run the release that wrote it"
        )
    if found == SCHEMA_VERSION:
        return found
    has_entries = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spool_entries'"
    ).fetchone()
    conn.execute(_ENTRIES_V1)
    for column in _ENTRIES_V2_COLUMNS:
        conn.execute(f"ALTER TABLE spool_entries ADD COLUMN {column}")
    if has_entries:  # version 1: its wall-clock times become spool times
        conn.execute(
            "UPDATE spool_entries SET due_st = next_attempt_ms, wait_st = wait_from_ms, "
            "done_st = updated_ms"
        )
    for index in _V1_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    for statement in (*_ENTRIES_INDEXES, *_V2_TABLES):
        conn.execute(statement)
    conn.execute(
        "INSERT OR IGNORE INTO spool_meta (key, value) VALUES (?, ?)", (CLOCK_KEY, wall_ms)
    )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return found


def read_clock(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM spool_meta WHERE key = ?", (CLOCK_KEY,)).fetchone()
    return int(row[0]) if row else 0


def save_clock(conn: sqlite3.Connection, value: int) -> None:
    """Never moves the stored clock back (two processes may write it)."""
    conn.execute("UPDATE spool_meta SET value = MAX(value, ?) WHERE key = ?", (value, CLOCK_KEY))


def quick_check(conn: sqlite3.Connection) -> str | None:
    """None when SQLite finds the file sound, else its first complaint."""
    rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    return None if rows == ["ok"] else "; ".join(str(r) for r in rows)
