"""The self-healing spool: files of the first release migrated, unreadable rows dead-lettered,
clock steps, the disk budget, a failing file system, a dead writer thread, one-line start-up
errors and the admin CLI's check and salvage. Real SQLite files; a fake assessment writer
and an injected clock."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from feedback_server.domain.model import IngestionState, WriteOutcome, WriteResult
from feedback_server.domain.spool import SPOOL_FILENAME, Spool, SpoolOpenError
from feedback_server.domain.spool_writer import SpoolWriter
from feedback_server.errors import Unavailable

from tests.unit.test_spool import (
    TRACE,
    FakeWriter,
    drainer_for,
    eventually,
    judgment,
    new_spool,
    run_cli,
    running,
    states,
    trace_id,
)

pytestmark = pytest.mark.timeout(60)

DAY_MS = 24 * 3600 * 1000

#: The schema of the first release (schema version 1), as it wrote spool files.
SCHEMA_V1 = """
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
    WHERE state = 'queued' AND is_head = 1;
"""


class FakeClock:
    """Wall and monotonic clocks that a test steps."""

    def __init__(self) -> None:
        self.wall_offset_ms = 0
        self.mono_offset_s = 0.0

    def wall_ms(self) -> int:
        return int(time.time() * 1000) + self.wall_offset_ms

    def monotonic(self) -> float:
        return time.monotonic() + self.mono_offset_s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path / SPOOL_FILENAME, isolation_level=None)


def _write_v1(path: Path) -> None:
    now = int(time.time() * 1000)
    conn = _raw(path)
    conn.executescript(SCHEMA_V1)
    conn.execute("PRAGMA user_version = 1")
    rows = [  # (aid, trace, state, is_head, next_attempt_ms, last_error)
        ("a-first", TRACE, "queued", 1, now - 5000, "MLflow unavailable"),
        ("a-second", TRACE, "queued", 0, now, None),
        ("a-other", trace_id(2), "queued", 1, now + 3_600_000, None),  # far ahead: a v1 step
        ("a-stored", trace_id(3), "stored", 0, now, None),
        ("a-dead", trace_id(4), "dead_lettered", 0, now, "trace not found within TTL"),
    ]
    for aid, trace, state, head, due, error in rows:
        conn.execute(
            "INSERT INTO spool_entries (assessment_id, order_key, state, is_head, judgment, "
            "trace_id, last_error, enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                aid,
                trace,
                state,
                head,
                judgment(aid, trace).to_json(),
                trace,
                error,
                now - 10_000,
                now - 10_000,
                due,
                now - 1000,
            ),
        )
    conn.close()


# --------------------------------------------------------------------------- migration


async def test_a_spool_of_the_first_release_is_migrated_and_keeps_draining(
    tmp_path: Path,
) -> None:
    _write_v1(tmp_path)
    spool = new_spool(tmp_path)
    await spool.start()
    try:
        stats = await spool.stats()
        assert (stats.schema_version, stats.pending, stats.stored, stats.dead_lettered) == (
            2,
            3,
            1,
            1,
        )
        writer = FakeWriter()
        async with running(drainer_for(spool, writer)):
            await eventually(lambda: len(writer.store) == 2)
        assert [aid for _, aid in writer.calls] == ["a-first", "a-second"]  # per-trace order
        (dead,) = await spool.list_dead()
        assert (dead.assessment_id, dead.last_error) == ("a-dead", "trace not found within TTL")
        assert await spool.replay(["a-dead"]) == 1
    finally:
        await spool.close()
    # A second start finds version 2 and changes nothing.
    again = new_spool(tmp_path)
    await again.start()
    try:
        assert (await again.stats()).pending == 2  # a-other (its v1 schedule) and a-dead
        assert (await again.get(["a-stored"]))["a-stored"].state is IngestionState.STORED
    finally:
        await again.close()


# --------------------------------------------------------------------------- poison rows


def _poison(path: Path, spool: Spool) -> list[str]:
    """Rows the server cannot decode, written behind its back (a bug, a damaged page)."""
    now = spool.now_st()
    bad = {
        "a-not-json": "{this is not json",
        "a-missing-keys": '{"assessment_id": "a-missing-keys"}',
        "a-other-id": judgment("a-someone-else").to_json(),
    }
    conn = _raw(path)
    for n, (aid, text) in enumerate(bad.items()):
        conn.execute(
            "INSERT INTO spool_entries (assessment_id, order_key, state, is_head, judgment, "
            "trace_id, enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms, due_st, wait_st) "
            "VALUES (?, ?, 'queued', 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (aid, trace_id(900 + n), text, trace_id(900 + n), now, now, now, now, now, now),
        )
    conn.execute(  # bytes that are not UTF-8 at all
        "INSERT INTO spool_entries (assessment_id, order_key, state, is_head, judgment, "
        "trace_id, enqueued_ms, wait_from_ms, next_attempt_ms, updated_ms, due_st, wait_st) "
        "VALUES ('a-not-utf8', 'crid:poison', 'queued', 1, CAST(X'7bff22fe' AS TEXT), NULL, "
        "?, ?, ?, ?, ?, ?)",
        (now, now, now, now, now, now),
    )
    conn.close()
    return [*bad, "a-not-utf8"]


async def test_unreadable_rows_are_dead_lettered_with_their_reason_while_the_rest_drains(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = new_spool(tmp_path)
    await spool.start()
    try:
        poison = _poison(tmp_path, spool)
        good = [judgment(f"a-good-{i}", trace_id(i)) for i in range(6)]
        await spool.enqueue(good)
        writer = FakeWriter()
        async with running(drainer_for(spool, writer)):
            await eventually(lambda: len(writer.store) == 6)
            await eventually(lambda: spool.dead_count() == 4)
        assert not set(poison) & {aid for _, aid in writer.calls}  # never sent to MLflow
        dead = {e.assessment_id: e for e in await spool.list_dead()}
        assert set(dead) == set(poison)
        assert all((e.last_error or "").startswith("unreadable row") for e in dead.values())
        assert dead["a-not-utf8"].judgment.target.client_request_id == "poison"
        assert spool.metrics.dead_lettered.labels(reason="unreadable")._value.get() == 4
    finally:
        await spool.close()
    code, out, _ = run_cli(["spool", "check", "--data-dir", str(tmp_path)], capsys)
    assert code == 1 and "unreadable_rows       4" in out and "integrity             ok" in out
    code, out, _ = await asyncio.to_thread(
        run_cli, ["dead-letters", "list", "--data-dir", str(tmp_path)], capsys
    )
    assert code == 0 and out.count("(unreadable)") == 4


# --------------------------------------------------------------------------- clock steps


async def test_a_backward_wall_clock_step_after_an_outage_does_not_pause_the_drainer(
    tmp_path: Path, clock: FakeClock
) -> None:
    spool = new_spool(tmp_path, clock=clock)
    await spool.start()
    try:
        await spool.enqueue([judgment(f"a-{i}", trace_id(i)) for i in range(5)])
        down = True

        def script(j: Any, n: int) -> WriteOutcome:
            if down:
                clock.wall_offset_ms = -3_600_000  # the clock steps back an hour mid-outage
                return WriteOutcome(WriteResult.UNAVAILABLE, detail="MLflow unavailable")
            return WriteOutcome(WriteResult.STORED)

        writer = FakeWriter(script)
        async with running(drainer_for(spool, writer, max_backoff_s=0.3)):
            await eventually(lambda: sum(writer.attempts.values()) >= 1)
            down = False
            await eventually(lambda: len(writer.store) == 5, within=5)
    finally:
        await spool.close()


async def test_a_forward_wall_clock_step_expires_no_ttl_and_prunes_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    spool = new_spool(tmp_path, clock=clock)
    await spool.start()
    try:
        await spool.enqueue([judgment("a-stored", trace_id(1))])
        writer = FakeWriter()
        async with running(drainer_for(spool, writer)):
            await eventually(lambda: "a-stored" in writer.store)
        ids = [f"a-wait-{i}" for i in range(4)]
        await spool.enqueue([judgment(aid, trace_id(10 + i)) for i, aid in enumerate(ids)])
        found = False

        def script(j: Any, n: int) -> WriteOutcome:
            if not found:
                return WriteOutcome(WriteResult.TRACE_NOT_FOUND, detail="trace not found")
            return WriteOutcome(WriteResult.STORED)

        waiting = FakeWriter(script)
        async with running(drainer_for(spool, waiting, trace_wait_ttl_s=2.0)):
            await eventually(lambda: min(waiting.attempts[a] for a in ids) >= 2)
            clock.wall_offset_ms = 30 * DAY_MS  # past the TTL, the retention, everything
            await asyncio.sleep(0.5)
            assert await spool.prune() == 0
            assert set((await states(spool, ids)).values()) == {IngestionState.QUEUED}
            found = True
            await eventually(lambda: all(a in waiting.store for a in ids))
        assert (await spool.get(["a-stored"]))["a-stored"].state is IngestionState.STORED
        assert spool.dead_count() == 0
    finally:
        await spool.close()


async def test_the_ttl_and_the_retention_run_on_spool_time(
    tmp_path: Path, clock: FakeClock
) -> None:
    spool = new_spool(tmp_path, clock=clock, retention_s=3600.0, dead_retention_s=7200.0)
    await spool.start()
    try:
        await spool.enqueue([judgment("a-lost", trace_id(1))])
        lost = FakeWriter(lambda j, n: WriteOutcome(WriteResult.TRACE_NOT_FOUND))
        async with running(drainer_for(spool, lost, trace_wait_ttl_s=30.0)):
            await eventually(lambda: lost.attempts["a-lost"] >= 1)
            clock.mono_offset_s += 31  # 31 s of the server's own time pass
            await eventually(lambda: spool.dead_count() == 1)
        await spool.enqueue([judgment("a-kept", trace_id(2))])
        async with running(drainer_for(spool, FakeWriter())):
            await eventually(lambda: spool.depth() == 0)
        clock.mono_offset_s += 3601  # the stored entry's retention passes, not the dead one's
        assert await spool.prune() == 1
        assert spool.dead_count() == 1
        clock.mono_offset_s += 3600
        assert await spool.prune() == 1
        assert spool.dead_count() == 0
    finally:
        await spool.close()


async def test_spool_time_is_kept_across_restarts_whatever_the_wall_clock_says(
    tmp_path: Path, clock: FakeClock
) -> None:
    spool = new_spool(tmp_path, clock=clock)
    await spool.start()
    clock.mono_offset_s += 100
    await spool.enqueue([judgment("a-1")])
    before = spool.now_st()
    await spool.close()
    behind = FakeClock()
    behind.wall_offset_ms = -365 * DAY_MS  # the next start's wall clock is a year behind
    again = new_spool(tmp_path, clock=behind)
    await again.start()
    try:
        entry = (await again.get(["a-1"]))["a-1"]
        # It goes on from the time last saved (at least every time written), not from the
        # wall clock.
        assert entry.due_st <= again.now_st() and before - 5000 < again.now_st()
        assert [e.assessment_id for e in await again.heads(10)] == ["a-1"]
    finally:
        await again.close()


# --------------------------------------------------------------------------- writability


class _Health:
    def __init__(self, spool: Spool) -> None:
        self.changes: list[bool] = []
        spool.add_health_listener(lambda ok, reason: self.changes.append(ok))


def _big(aid: str, n: int) -> Any:
    return judgment(aid, trace_id(n), value="x" * 60_000)


async def test_over_its_budget_the_spool_evicts_stored_entries_then_refuses_and_recovers(
    tmp_path: Path,
) -> None:
    budget = 1024 * 1024
    spool = new_spool(tmp_path, max_bytes=budget, probe_interval_s=0.1)
    await spool.start()
    health = _Health(spool)
    try:
        acked: list[str] = []
        with pytest.raises(Unavailable) as refused:
            for i in range(100):
                await spool.enqueue([_big(f"a-{i}", i)])
                acked.append(f"a-{i}")
        assert refused.value.retry_after_s > 0
        assert 5 < len(acked) < 20 and health.changes == [False] and not spool.healthy
        t0 = time.monotonic()
        with pytest.raises(Unavailable):
            await spool.enqueue([_big("a-late", 999)])
        assert time.monotonic() - t0 < 1.0  # at once, never a hang
        async with running(drainer_for(spool, FakeWriter())):
            await eventually(lambda: spool.depth() == 0)  # stored: evictable now
            await eventually(lambda: spool.healthy, within=5)
        assert health.changes == [False, True]
        await spool.enqueue([_big("a-after", 1000)])  # room made by evicting stored entries
        assert spool.metrics.evicted._value.get() > 0
        assert (tmp_path / SPOOL_FILENAME).stat().st_size <= budget + 4096
    finally:
        await spool.close()


class _WriterCrash(BaseException):
    """Stands for a bug that kills the writer thread."""


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool]]:
    state = {"crash": False}
    begin = SpoolWriter._begin

    def maybe_crash(conn: sqlite3.Connection) -> None:
        if state["crash"]:
            raise _WriterCrash("boom")
        begin(conn)

    monkeypatch.setattr(SpoolWriter, "_begin", staticmethod(maybe_crash))
    yield state


async def test_a_dead_writer_thread_fails_writes_at_once_and_is_restarted(
    tmp_path: Path, crashing: dict[str, bool]
) -> None:
    spool = new_spool(tmp_path, restart_delay_s=0.2, probe_interval_s=0.1)
    await spool.start()
    health = _Health(spool)
    try:
        await spool.enqueue([judgment("a-before")])
        crashing["crash"] = True
        t0 = time.monotonic()
        with pytest.raises(Unavailable):
            await asyncio.wait_for(spool.enqueue([judgment("a-crash", trace_id(1))]), 5)
        with pytest.raises(Unavailable):  # while it is down: answered at once
            await spool.enqueue([judgment("a-down", trace_id(2))])
        assert time.monotonic() - t0 < 1.0
        await eventually(lambda: health.changes == [False])
        await asyncio.sleep(0.5)  # restarts keep failing while the bug is there
        assert not spool.healthy
        crashing["crash"] = False
        await eventually(lambda: spool.healthy, within=10)
        await spool.enqueue([judgment("a-after", trace_id(3))])
        found = await spool.get(["a-before", "a-crash", "a-down", "a-after"])
        assert set(found) == {"a-before", "a-after"}  # nothing answered Unavailable was kept
    finally:
        await spool.close()


async def test_a_failing_file_system_makes_the_spool_unhealthy_until_it_writes_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = new_spool(tmp_path, probe_interval_s=0.1)
    await spool.start()
    health = _Health(spool)
    readonly = True
    begin = SpoolWriter._begin

    def begin_or_fail(conn: sqlite3.Connection) -> None:
        begin(conn)
        if readonly:
            conn.execute("ROLLBACK")
            error = sqlite3.OperationalError("attempt to write a readonly database")
            error.sqlite_errorcode = 8  # type: ignore[attr-defined]
            raise error

    monkeypatch.setattr(SpoolWriter, "_begin", staticmethod(begin_or_fail))
    try:
        with pytest.raises(Unavailable):
            await spool.enqueue([judgment("a-1")])
        await eventually(lambda: health.changes == [False])
        readonly = False  # remounted read-write
        await eventually(lambda: spool.healthy, within=5)
        await spool.enqueue([judgment("a-2")])
        assert health.changes == [False, True]
    finally:
        await spool.close()


# --------------------------------------------------------------------------- start-up


def _one_line(text: str) -> str:
    assert "Traceback" not in text
    (line,) = text.strip().splitlines()
    return line


async def test_a_damaged_spool_is_one_line_naming_the_file_and_how_to_salvage_it(
    tmp_path: Path,
) -> None:
    (tmp_path / SPOOL_FILENAME).write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(SpoolOpenError) as failure:
        await new_spool(tmp_path).start()
    line = _one_line(str(failure.value))
    assert str(tmp_path / SPOOL_FILENAME) in line and "feedback-admin spool salvage" in line


async def test_an_unwritable_data_dir_is_one_line_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data dir should be")
    with pytest.raises(SpoolOpenError) as failure:
        await new_spool(blocker / "data").start()
    line = _one_line(str(failure.value))
    assert "cannot be written" in line and str(blocker / "data") in line


def test_the_server_reports_a_damaged_spool_in_one_line_and_exit_status_2(
    tmp_path: Path,
) -> None:
    (tmp_path / SPOOL_FILENAME).write_bytes(b"\x00garbage" * 4096)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "feedback_server",
            "--data-dir",
            str(tmp_path),
            "--port",
            "0",
            "--metrics-port",
            "0",
            "--tracking-uri",
            "http://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("feedback-server:")]
    assert line.startswith(f"feedback-server: spool {tmp_path / SPOOL_FILENAME} is damaged")
    assert "feedback-admin spool salvage" in line


# --------------------------------------------------------------------------- salvage


def _damage_a_page(path: Path) -> None:
    """Overwrites one page in the middle of the table with garbage (a bad sector)."""
    data = bytearray((path / SPOOL_FILENAME).read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle : middle + page] = b"\xde\xad" * (page // 2)
    (path / SPOOL_FILENAME).write_bytes(bytes(data))


async def test_salvage_keeps_what_can_be_read_and_the_server_starts_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = new_spool(tmp_path)
    await spool.start()
    ids = [f"a-{i:04d}" for i in range(400)]
    for start in range(0, len(ids), 50):
        await spool.enqueue(
            [
                judgment(aid, trace_id(i), value="v" * 300)
                for i, aid in enumerate(ids[start : start + 50], start)
            ]
        )
    await spool.close()
    conn = _raw(tmp_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    _damage_a_page(tmp_path)
    with pytest.raises(SpoolOpenError):
        await new_spool(tmp_path).start()
    code, out, _ = run_cli(["spool", "check", "--data-dir", str(tmp_path)], capsys)
    assert code == 1 and "salvage" in out
    code, out, err = run_cli(["spool", "salvage", "--data-dir", str(tmp_path)], capsys)
    assert code == 0, err
    assert "damaged file is now" in out
    assert list(tmp_path.glob(f"{SPOOL_FILENAME}.damaged-*"))
    again = new_spool(tmp_path)
    await again.start()  # a sound file again
    try:
        kept = await again.get(ids)
        assert 300 < len(kept) < 400  # one page of rows is gone, the rest is there
        assert {e.state for e in kept.values()} == {IngestionState.QUEUED}
        assert len(await again.heads(1000)) == len(kept)
    finally:
        await again.close()
    code, _, _ = run_cli(["spool", "check", "--data-dir", str(tmp_path)], capsys)
    assert code == 0
