"""The durable spool, its drainer and the admin CLI, against a fake assessment writer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import feedback_server
import pytest
from feedback_server import admin_cli
from feedback_server.domain.model import (
    IngestionState,
    Judgment,
    JudgmentKind,
    TraceTarget,
    WriteOutcome,
    WriteResult,
)
from feedback_server.domain.spool import (
    SPOOL_FILENAME,
    Drainer,
    Spool,
    SpoolEntry,
    SpoolLockedError,
)
from feedback_server.errors import ResourceExhausted
from feedback_server.metrics import SpoolMetrics
from prometheus_client import CollectorRegistry

pytestmark = pytest.mark.timeout(60)

TRACE = "tr-" + "a" * 32


def trace_id(n: int) -> str:
    return f"tr-{n:032x}"


def judgment(
    aid: str,
    trace: str | None = TRACE,
    *,
    crid: str | None = None,
    value: object = True,
    name: str = "user_feedback",
) -> Judgment:
    return Judgment(
        assessment_id=aid,
        request_id=f"req-{aid}",
        kind=JudgmentKind.FEEDBACK,
        target=TraceTarget(trace_id=trace, client_request_id=crid),
        name=name,
        value=value,
        created_ms=int(time.time() * 1000),
    )


def new_spool(path: Path, **kwargs: object) -> Spool:
    kwargs.setdefault("metrics", SpoolMetrics(CollectorRegistry()))
    return Spool(path / SPOOL_FILENAME, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def spool(tmp_path: Path) -> object:
    s = new_spool(tmp_path)
    await s.start()
    yield s
    await s.close()


async def eventually(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 5.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


Script = Callable[[Judgment, int], WriteOutcome]


class FakeWriter:
    """An in-memory "MLflow": idempotent on assessment_id, scripted outcomes, checks ordering."""

    def __init__(self, script: Script | None = None, delay: float | Callable[[], float] = 0.0):
        self.script = script
        self.delay = delay
        self.attempts: Counter[str] = Counter()
        self.calls: list[tuple[str, str]] = []  # (order_key, assessment_id) per attempt
        self.store: dict[str, Judgment] = {}
        self.writes: Counter[str] = Counter()  # times each ID was actually stored
        self.active_keys: set[str] = set()
        self.active = 0
        self.max_active = 0
        self.overlaps = 0
        self.hints: dict[str, str | None] = {}

    async def write(self, judgment: Judgment, trace_id_hint: str | None) -> WriteOutcome:
        key = judgment.target.order_key
        if key in self.active_keys:
            self.overlaps += 1
        self.active_keys.add(key)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            self.calls.append((key, judgment.assessment_id))
            self.hints[judgment.assessment_id] = trace_id_hint
            delay = self.delay() if callable(self.delay) else self.delay
            await asyncio.sleep(delay)
            self.attempts[judgment.assessment_id] += 1
            n = self.attempts[judgment.assessment_id]
            outcome = (
                self.script(judgment, n)
                if self.script
                else WriteOutcome(WriteResult.STORED, trace_id_hint)
            )
            if outcome.result is WriteResult.STORED and judgment.assessment_id not in self.store:
                self.store[judgment.assessment_id] = judgment
                self.writes[judgment.assessment_id] += 1
            return outcome
        finally:
            self.active -= 1
            self.active_keys.discard(key)


def drainer_for(spool: Spool, writer: FakeWriter, **kwargs: object) -> Drainer:
    options: dict[str, object] = {
        "concurrency": 8,
        "base_backoff_s": 0.01,
        "max_backoff_s": 0.05,
        "trace_wait_ttl_s": 5.0,
        "poll_interval_s": 0.05,
        "rng": random.Random(7),
    }
    options.update(kwargs)
    return Drainer(spool, writer, **options)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(drainer: Drainer) -> object:
    drainer.start()
    try:
        yield drainer
    finally:
        await drainer.stop(grace_s=1.0)


async def states(spool: Spool, ids: list[str]) -> dict[str, IngestionState]:
    return {aid: e.state for aid, e in (await spool.get(ids)).items()}


# ------------------------------------------------------------------------------ spool


async def test_acknowledged_entries_survive_close_and_reopen(tmp_path: Path) -> None:
    s = new_spool(tmp_path)
    await s.start()
    entries = await s.enqueue([judgment(f"a{i}", trace_id(i % 3)) for i in range(10)])
    assert [e.state for e in entries] == [IngestionState.QUEUED] * 10
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    await s.close()

    s2 = new_spool(tmp_path)
    await s2.start()
    try:
        assert s2.depth() == 10
        got = await s2.get([f"a{i}" for i in range(10)])
        assert {e.state for e in got.values()} == {IngestionState.QUEUED}
        assert got["a3"].judgment == judgment("a3", trace_id(0)).__class__.from_json(
            got["a3"].judgment.to_json()
        )
        assert got["a4"].trace_id == trace_id(1)
        # One head per order key, in acknowledgment order.
        heads = await s2.heads(limit=10)
        assert [h.assessment_id for h in heads] == ["a0", "a1", "a2"]
    finally:
        await s2.close()


async def test_enqueue_is_idempotent_on_assessment_id(spool: Spool) -> None:
    [first] = await spool.enqueue([judgment("dup", value=True)])
    [again] = await spool.enqueue([judgment("dup", value=False)])
    assert again == first and again.judgment.value is True
    assert spool.depth() == 1
    # Duplicates inside one list are recorded once.
    entries = await spool.enqueue([judgment("x"), judgment("x"), judgment("dup")])
    assert entries[0] == entries[1] and entries[2] == first
    assert spool.depth() == 2
    enqueued = spool.metrics.registry.get_sample_value("feedback_judgments_enqueued_total")
    assert enqueued == 2

    # Stored and dead entries are returned as they are, nothing is queued again.
    assert await spool.mark_stored("dup", TRACE)
    assert await spool.mark_dead("x", "rejected: bad value")
    stored, dead = await spool.enqueue([judgment("dup"), judgment("x")])
    assert stored.state is IngestionState.STORED
    assert dead.state is IngestionState.DEAD_LETTERED and dead.last_error == "rejected: bad value"
    assert spool.depth() == 0


async def test_enqueue_of_a_list_is_atomic_and_bounded(tmp_path: Path) -> None:
    s = new_spool(tmp_path, max_pending=3, retry_after_s=2.5)
    await s.start()
    try:
        await s.enqueue([judgment("r1", name="user_a"), judgment("r2", name="user_b")])
        with pytest.raises(ResourceExhausted) as info:
            await s.enqueue([judgment("r3"), judgment("r4")])
        assert info.value.retry_after_s == 2.5
        assert await s.get(["r3", "r4"]) == {}  # nothing of the refused list was written
        assert s.depth() == 2
        # An idempotent retry of acknowledged judgments is answered even when full.
        await s.enqueue([judgment("r5")])
        assert [e.assessment_id for e in await s.enqueue([judgment("r1")])] == ["r1"]
        # Other operations of the same group commit are unaffected by the refusal.
        results = await asyncio.gather(
            s.enqueue([judgment("r6")]), s.mark_stored("r1", TRACE), return_exceptions=True
        )
        assert isinstance(results[0], ResourceExhausted) and results[1] is True
        assert s.depth() == 2
    finally:
        await s.close()


def _slow_transaction(conn: object, tx: object) -> None:
    time.sleep(0.3)


async def test_group_commit_shares_transactions(tmp_path: Path) -> None:
    s = new_spool(tmp_path)
    await s.start()
    try:
        # 200 concurrent acknowledgments.
        base = s.commits
        await asyncio.gather(*(s.enqueue([judgment(f"g{i}", trace_id(i))]) for i in range(200)))
        assert s.commits - base <= 20, s.commits - base

        # Everything that arrives while a commit is in progress goes into the next one.
        blocker = s._submit(_slow_transaction)  # a slow transaction in progress
        await asyncio.sleep(0.05)
        base = s.commits
        acks = asyncio.gather(*(s.enqueue([judgment(f"h{i}", trace_id(i))]) for i in range(200)))
        await blocker
        await acks
        assert s.commits - base <= 2  # the blocker's commit, then one for the 200
        assert s.depth() == 400
    finally:
        await s.close()

    # The baseline: one transaction per enqueue.
    b = new_spool(tmp_path / "baseline", max_batch=1)
    await b.start()
    try:
        await asyncio.gather(*(b.enqueue([judgment(f"g{i}")]) for i in range(50)))
        assert b.commits == 50
    finally:
        await b.close()


async def test_reads_pending_for_trace_and_dead_letters(spool: Spool) -> None:
    await spool.enqueue([judgment("t1"), judgment("t2", trace_id(2)), judgment("t3")])
    await spool.enqueue([judgment("c1", None, crid="req-42")])
    assert [e.assessment_id for e in await spool.pending_for_trace(TRACE)] == ["t1", "t3"]
    # A judgment by client request ID is listed under its trace once resolved.
    assert await spool.pending_for_trace(trace_id(9)) == []
    await spool.mark_retry("c1", 0, "trace not found", trace_id(9))
    [c1] = await spool.pending_for_trace(trace_id(9))
    assert c1.attempts == 1 and c1.last_error == "trace not found"

    await spool.mark_dead("t1", "reason one")
    await spool.mark_dead("t2", "reason two")
    dead = await spool.list_dead(limit=10)
    assert [(e.assessment_id, e.last_error) for e in dead] == [
        ("t1", "reason one"),
        ("t2", "reason two"),
    ]
    assert [e.assessment_id for e in await spool.list_dead(limit=1, offset=1)] == ["t2"]
    assert spool.dead_count() == 2 and spool.depth() == 2
    stats = await spool.stats()
    assert (stats.pending, stats.dead_lettered, stats.stored) == (2, 2, 0)
    assert stats.pending_keys == 2


async def test_recent_entries_of_a_source_in_a_trace(spool: Spool) -> None:
    def of(aid: str, trace: str | None = TRACE, source: str = "alice", **kw: object) -> Judgment:
        return replace(judgment(aid, trace, **kw), source_id=source)  # type: ignore[arg-type]

    await spool.enqueue([of("e1"), of("e2", trace_id(2)), of("e3"), of("b1", source="bob")])
    await spool.enqueue([of("n1", name="comment"), of("c1", None, crid="req-7")])
    await spool.mark_stored("e1", TRACE)
    await spool.mark_dead("e3", "gone")

    async def recent(*query: str | None, depth: int = 64) -> list[SpoolEntry]:
        [found] = await spool.recent_of_sources([query], depth)  # type: ignore[list-item]
        return found

    found = await recent(TRACE, TRACE, "user_feedback", "alice")
    assert [(e.assessment_id, e.state) for e in found] == [("e1", IngestionState.STORED)]
    # By order key when the trace is not resolved yet.
    crid = await recent(None, "crid:req-7", "user_feedback", "alice")
    assert [e.assessment_id for e in crid] == ["c1"]
    # Bounded: only the newest `depth` entries of each state are looked at.
    await spool.enqueue([of(f"x{i}", source="xavier") for i in range(5)])
    await spool.enqueue([of("late")])
    shallow = await recent(TRACE, TRACE, "user_feedback", "alice", depth=1)
    assert [e.assessment_id for e in shallow] == ["e1", "late"]  # newest stored, newest queued
    deep = await recent(TRACE, TRACE, "user_feedback", "xavier", depth=3)
    assert [e.assessment_id for e in deep] == ["x3", "x4"]  # "late" is one of the 3 newest
    # Several queries in one read, answered in order.
    both = await spool.recent_of_sources(
        [(TRACE, TRACE, "user_feedback", "bob"), (TRACE, TRACE, "comment", "alice")]
    )
    assert [[e.assessment_id for e in found] for found in both] == [["b1"], ["n1"]]


async def test_replay_moves_dead_letters_back_to_pending(spool: Spool) -> None:
    await spool.enqueue([judgment("d1"), judgment("d2"), judgment("d3")])
    for aid in ("d1", "d2", "d3"):
        await spool.mark_retry(aid, 0, "unavailable")
        await spool.mark_dead(aid, "rejected")
    assert await spool.replay(["d2", "unknown"]) == 1
    [d2] = (await spool.get(["d2"])).values()
    assert d2.state is IngestionState.QUEUED and d2.attempts == 0
    assert spool.depth() == 1 and spool.dead_count() == 2
    assert await spool.replay() == 2
    assert spool.depth() == 3 and spool.dead_count() == 0
    # Heads are rebuilt: the earliest pending judgment of the key comes first.
    assert [h.assessment_id for h in await spool.heads(limit=5)] == ["d1"]


async def test_stored_entries_are_pruned_after_retention(tmp_path: Path) -> None:
    s = new_spool(tmp_path, retention_s=0.0)
    await s.start()
    try:
        await s.enqueue([judgment("p1"), judgment("p2", trace_id(2)), judgment("p3", trace_id(3))])
        await s.mark_stored("p1", TRACE)
        await s.mark_dead("p2", "rejected")
        await asyncio.sleep(0.01)
        assert await s.prune() == 1
        assert set(await s.get(["p1", "p2", "p3"])) == {"p2", "p3"}
    finally:
        await s.close()


async def test_one_server_process_per_spool_file(tmp_path: Path) -> None:
    s = new_spool(tmp_path)
    await s.start()
    try:
        with pytest.raises(SpoolLockedError):
            await new_spool(tmp_path).start()
        tool = new_spool(tmp_path, exclusive=False)  # the admin CLI's way in
        await tool.start()
        await tool.close()
    finally:
        await s.close()
    again = new_spool(tmp_path)
    await again.start()
    await again.close()


# ------------------------------------------------------------------------------ drainer


async def test_drainer_stores_and_records_resolved_trace(spool: Spool) -> None:
    resolved = trace_id(77)

    def script(j: Judgment, n: int) -> WriteOutcome:
        return WriteOutcome(WriteResult.STORED, j.target.trace_id or resolved)

    writer = FakeWriter(script)
    async with running(drainer_for(spool, writer)) as drainer:
        await spool.enqueue([judgment("s1"), judgment("s2", None, crid="my-request")])
        assert await drainer.wait_stored(["s1", "s2"], timeout_s=5)
    got = await spool.get(["s1", "s2"])
    assert got["s2"].state is IngestionState.STORED and got["s2"].trace_id == resolved
    assert got["s1"].attempts == 1
    assert spool.depth() == 0
    reg = spool.metrics.registry
    assert reg.get_sample_value("feedback_judgments_stored_total") == 2
    assert reg.get_sample_value("feedback_drain_attempts_total", {"result": "stored"}) == 2
    assert reg.get_sample_value("feedback_drain_latency_seconds_count") == 2
    assert reg.get_sample_value("feedback_spool_depth") == 0


async def test_per_key_order_under_concurrency(spool: Spool) -> None:
    rng = random.Random(3)

    def script(j: Judgment, n: int) -> WriteOutcome:
        if int(j.assessment_id.split("-")[1]) % 4 == 0 and n < 3:
            return WriteOutcome(WriteResult.TRACE_NOT_FOUND, detail="not exported yet")
        return WriteOutcome(WriteResult.STORED, j.target.trace_id)

    writer = FakeWriter(script, delay=lambda: rng.uniform(0, 0.004))
    keys = [trace_id(k) for k in range(6)]
    async with running(drainer_for(spool, writer, concurrency=4)) as drainer:

        async def producer(p: int) -> list[str]:
            ids = []
            for i in range(15):
                aid = f"p{p}-{i}"
                await spool.enqueue([judgment(aid, keys[(p + i) % len(keys)])])
                ids.append(aid)
                await asyncio.sleep(rng.uniform(0, 0.002))
            return ids

        ids = [aid for batch in await asyncio.gather(*map(producer, range(4))) for aid in batch]
        assert await drainer.wait_stored(ids, timeout_s=15)

    assert writer.overlaps == 0  # never two in flight for one key
    assert writer.max_active > 1  # but several keys at once
    seq = {aid: e.seq for aid, e in (await spool.get(ids)).items()}
    for key in keys:
        attempted = [seq[aid] for k, aid in writer.calls if k == key]
        # Every attempt (retries included) is in acknowledgment order for the key.
        assert attempted == sorted(attempted), key
    assert set(writer.store) == set(ids)


async def test_trace_not_found_is_retried_then_dead_lettered_after_ttl(spool: Spool) -> None:
    writer = FakeWriter(lambda j, n: WriteOutcome(WriteResult.TRACE_NOT_FOUND, detail="nope"))
    drainer = drainer_for(spool, writer, trace_wait_ttl_s=0.3)
    t0 = time.monotonic()
    async with running(drainer):
        await spool.enqueue([judgment("ttl1"), judgment("ttl2")])
        assert not await drainer.wait_stored(["ttl1"], timeout_s=5)
        await eventually(lambda: spool.dead_count() == 2)
    elapsed = time.monotonic() - t0
    [dead1, dead2] = await spool.list_dead()
    assert dead1.assessment_id == "ttl1" and dead1.last_error == "trace not found within TTL"
    assert dead1.attempts > 2  # retried with backoff before giving up
    assert elapsed >= 0.3
    # The later judgment on the same trace went after it, and also ran out of time.
    assert dead2.assessment_id == "ttl2" and dead2.state is IngestionState.DEAD_LETTERED
    reg = spool.metrics.registry
    assert (
        reg.get_sample_value(
            "feedback_judgments_dead_lettered_total", {"reason": "trace_not_found"}
        )
        == 2
    )
    assert (reg.get_sample_value("feedback_drain_retries_total") or 0) >= 2


async def test_trace_found_after_a_few_attempts_is_stored(spool: Spool) -> None:
    def script(j: Judgment, n: int) -> WriteOutcome:
        if n < 4:
            return WriteOutcome(WriteResult.TRACE_NOT_FOUND)
        return WriteOutcome(WriteResult.STORED, TRACE)

    writer = FakeWriter(script)
    async with running(drainer_for(spool, writer, trace_wait_ttl_s=5)) as drainer:
        await spool.enqueue([judgment("late")])
        assert await drainer.wait_stored(["late"], timeout_s=5)
    assert writer.attempts["late"] == 4
    [entry] = (await spool.get(["late"])).values()
    assert entry.attempts == 4


async def test_unavailable_is_retried_without_ttl(spool: Spool) -> None:
    outage_ends = time.monotonic() + 0.5

    def script(j: Judgment, n: int) -> WriteOutcome:
        if time.monotonic() < outage_ends:
            return WriteOutcome(WriteResult.UNAVAILABLE, detail="connection refused")
        return WriteOutcome(WriteResult.STORED, TRACE)

    writer = FakeWriter(script)
    # A TTL far shorter than the outage: it does not apply to UNAVAILABLE.
    drainer = drainer_for(spool, writer, trace_wait_ttl_s=0.05, max_backoff_s=0.1)
    async with running(drainer):
        await spool.enqueue([judgment("u1"), judgment("u2", trace_id(2))])
        assert await drainer.wait_stored(["u1", "u2"], timeout_s=10)
    assert writer.attempts["u1"] > 1
    assert await spool.list_dead() == []
    reg = spool.metrics.registry
    assert (
        reg.get_sample_value("feedback_drain_attempts_total", {"result": "unavailable"}) or 0
    ) >= 2


async def test_writer_exception_counts_as_unavailable(
    spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    def script(j: Judgment, n: int) -> WriteOutcome:
        if n <= 2:
            raise ConnectionError("boom")
        return WriteOutcome(WriteResult.STORED, TRACE)

    writer = FakeWriter(script)
    async with running(drainer_for(spool, writer)) as drainer:
        await spool.enqueue([judgment("e1")])
        assert await drainer.wait_stored(["e1"], timeout_s=5)
    assert writer.attempts["e1"] == 3
    assert "assessment writer raised" in caplog.text


async def test_rejected_is_dead_lettered_immediately(spool: Spool) -> None:
    def script(j: Judgment, n: int) -> WriteOutcome:
        if j.assessment_id == "bad":
            return WriteOutcome(WriteResult.REJECTED, detail="INVALID_PARAMETER_VALUE: value")
        return WriteOutcome(WriteResult.STORED, TRACE)

    writer = FakeWriter(script)
    async with running(drainer_for(spool, writer)) as drainer:
        await spool.enqueue([judgment("bad"), judgment("good")])  # same trace: "good" waits
        assert not await drainer.wait_stored(["bad"], timeout_s=5)
        assert await drainer.wait_stored(["good"], timeout_s=5)
    [dead] = await spool.list_dead()
    assert dead.assessment_id == "bad"
    assert dead.last_error == "INVALID_PARAMETER_VALUE: value"
    assert dead.attempts == 1 and writer.attempts["bad"] == 1
    assert writer.calls == [(TRACE, "bad"), (TRACE, "good")]


async def test_replayed_dead_letters_are_drained(spool: Spool) -> None:
    accept = False

    def script(j: Judgment, n: int) -> WriteOutcome:
        if not accept:
            return WriteOutcome(WriteResult.REJECTED, detail="schema mismatch")
        return WriteOutcome(WriteResult.STORED, TRACE)

    writer = FakeWriter(script)
    async with running(drainer_for(spool, writer)) as drainer:
        await spool.enqueue([judgment("r1"), judgment("r2", trace_id(2))])
        await eventually(lambda: spool.dead_count() == 2)
        accept = True  # the cause was fixed
        assert await spool.replay() == 2
        assert await drainer.wait_stored(["r1", "r2"], timeout_s=5)
    assert spool.dead_count() == 0 and spool.depth() == 0


async def test_wait_stored(spool: Spool) -> None:
    gate = asyncio.Event()

    class GatedWriter(FakeWriter):
        async def write(self, judgment: Judgment, trace_id_hint: str | None) -> WriteOutcome:
            await gate.wait()
            return await super().write(judgment, trace_id_hint)

    drainer = drainer_for(spool, GatedWriter())
    async with running(drainer):
        await spool.enqueue([judgment("w1"), judgment("w2", trace_id(2))])
        assert not await drainer.wait_stored(["w1"], timeout_s=0.05)  # timeout
        assert not await drainer.wait_stored(["nope"], timeout_s=1)  # unknown
        waiting = asyncio.create_task(drainer.wait_stored(["w1", "w2"], timeout_s=5))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        gate.set()
        assert await waiting
        assert await drainer.wait_stored(["w1"], timeout_s=0)  # already stored
        assert await drainer.wait_stored([], timeout_s=0)


async def test_stop_with_a_write_in_flight_loses_nothing(tmp_path: Path) -> None:
    s = new_spool(tmp_path)
    await s.start()
    hung = FakeWriter(delay=3600)
    drainer = drainer_for(s, hung)
    drainer.start()
    await s.enqueue([judgment("f1"), judgment("f2", trace_id(2))])
    await eventually(lambda: drainer.in_flight == 2)
    await drainer.stop(grace_s=0.05)  # the writes are cancelled mid-flight
    await s.close()

    s2 = new_spool(tmp_path)
    await s2.start()
    try:
        assert s2.depth() == 2  # nothing was marked stored: it is simply pending again
        writer = FakeWriter()
        async with running(drainer_for(s2, writer)) as d2:
            assert await d2.wait_stored(["f1", "f2"], timeout_s=5)
        assert writer.writes == Counter({"f1": 1, "f2": 1})
    finally:
        await s2.close()


# ------------------------------------------------------------------ crash simulation

_CHILD = textwrap.dedent(
    """
    import asyncio, json, os, sys, time
    from pathlib import Path
    from prometheus_client import CollectorRegistry
    from feedback_server.domain.model import (
        Judgment, JudgmentKind, TraceTarget, WriteOutcome, WriteResult)
    from feedback_server.domain.spool import Drainer, Spool
    from feedback_server.metrics import SpoolMetrics

    data_dir, mlflow_file = Path(sys.argv[1]), sys.argv[2]

    class FileMlflow:
        # "MLflow" is a file; the 6th write hangs: killed between MLflow and the spool.
        def __init__(self):
            self.n = 0
        async def write(self, j, hint):
            with open(mlflow_file, "a") as f:
                f.write(j.assessment_id + "\\n"); f.flush(); os.fsync(f.fileno())
            self.n += 1
            if self.n >= 6:
                print("HUNG", flush=True)
                await asyncio.sleep(3600)
            return WriteOutcome(WriteResult.STORED, hint)

    async def main():
        spool = Spool(data_dir / "spool.sqlite3", metrics=SpoolMetrics(CollectorRegistry()))
        await spool.start()
        drainer = Drainer(spool, FileMlflow(), concurrency=1, poll_interval_s=0.05)
        async def producer(w):
            for i in range(10_000):
                aid = f"k{w}-{i}"
                t = TraceTarget(trace_id="tr-%032x" % (i % 50))
                await spool.enqueue([Judgment(aid, aid, JudgmentKind.FEEDBACK, t, "f", True)])
                print("ACK", aid, flush=True)
                if w == 0 and i == 20:
                    drainer.start()
        await asyncio.gather(*(producer(w) for w in range(8)))

    asyncio.run(main())
    """
)


async def test_sigkill_loses_no_acknowledged_judgment(tmp_path: Path) -> None:
    mlflow_file = tmp_path / "mlflow.txt"
    env = dict(os.environ)
    src = str(Path(feedback_server.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD,
        str(tmp_path),
        str(mlflow_file),
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    acked: list[str] = []
    hung = False
    try:
        while not (hung and len(acked) >= 300):
            line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
            assert line, "child exited early"
            if line.startswith("ACK "):
                acked.append(line.split()[1])
            elif line.startswith("HUNG"):
                hung = True
    finally:
        proc.send_signal(signal.SIGKILL)
        rest, _ = await proc.communicate()
    # Acknowledgments printed before the kill count too.
    acked += [ln.split()[1] for ln in rest.decode().splitlines() if ln.startswith("ACK ")]
    assert proc.returncode == -signal.SIGKILL

    s = new_spool(tmp_path)  # the lock died with the process
    await s.start()
    try:
        entries = await s.get(acked)
        assert set(entries) == set(acked)  # every acknowledged judgment is there
        in_mlflow = mlflow_file.read_text().split()
        assert len(in_mlflow) == 6
        stored = {aid for aid, e in entries.items() if e.state is IngestionState.STORED}
        assert stored <= set(in_mlflow) and len(stored) == 5
        # (Judgments committed but not yet acknowledged when killed are there too: a
        # client retry with the same request ID finds them.)
        queued_acked = sum(1 for e in entries.values() if e.state is IngestionState.QUEUED)
        assert s.depth() >= queued_acked

        # Restart: drain into an "MLflow" that already holds what the dead process wrote.
        writer = FakeWriter()
        for aid in in_mlflow:
            writer.store[aid] = entries[aid].judgment
            writer.writes[aid] += 1
        async with running(drainer_for(s, writer, concurrency=16)) as drainer:
            all_ids = await _all_ids(s)
            assert await drainer.wait_stored(all_ids, timeout_s=30)
        assert set(acked) <= set(writer.store)
        assert max(writer.writes.values()) == 1  # no duplicates: idempotent replay
    finally:
        await s.close()


async def _all_ids(s: Spool) -> list[str]:
    sql = "SELECT assessment_id FROM spool_entries"
    return await s._read(lambda conn: [r[0] for r in conn.execute(sql)])


# ------------------------------------------------------------------------------- CLI


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = admin_cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_admin_cli_lists_and_replays_while_the_server_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = new_spool(tmp_path)
    await s.start()
    rejecting = True

    def script(j: Judgment, n: int) -> WriteOutcome:
        if rejecting:
            return WriteOutcome(WriteResult.REJECTED, detail="bad value")
        return WriteOutcome(WriteResult.STORED, j.target.trace_id)

    writer = FakeWriter(script)
    try:
        async with running(drainer_for(s, writer)) as drainer:
            await s.enqueue([judgment("x1"), judgment("x2", trace_id(2))])
            await eventually(lambda: s.dead_count() == 2)

            d = str(tmp_path)
            code, out, _ = await asyncio.to_thread(
                run_cli, ["dead-letters", "list", "--data-dir", d, "--json"], capsys
            )
            assert code == 0
            listed = json.loads(out)
            assert [(e["assessment_id"], e["reason"]) for e in listed] == [
                ("x1", "bad value"),
                ("x2", "bad value"),
            ]
            code, out, _ = await asyncio.to_thread(
                run_cli, ["dead-letters", "list", "--data-dir", d], capsys
            )
            assert code == 0 and "x1" in out and "reason: bad value" in out

            rejecting = False
            code, out, err = await asyncio.to_thread(
                run_cli, ["dead-letters", "replay", "--data-dir", d, "x1", "zz"], capsys
            )
            assert code == 1 and "replayed 1" in out and "zz" in err
            # The server notices the other process's change at its next poll.
            assert await drainer.wait_stored(["x1"], timeout_s=5)
            await eventually(lambda: s.depth() == 0 and s.dead_count() == 1)

            os.environ[admin_cli.DATA_DIR_ENV] = d
            try:
                code, out, _ = await asyncio.to_thread(
                    run_cli, ["dead-letters", "replay", "--all"], capsys
                )
                assert code == 0 and "replayed 1" in out
                assert await drainer.wait_stored(["x2"], timeout_s=5)
                code, out, _ = await asyncio.to_thread(
                    run_cli, ["spool", "stats", "--json"], capsys
                )
            finally:
                del os.environ[admin_cli.DATA_DIR_ENV]
            stats = json.loads(out)
            assert code == 0
            assert (stats["pending"], stats["stored"], stats["dead_lettered"]) == (0, 2, 0)
    finally:
        await s.close()


def test_admin_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["spool", "stats", "--data-dir", str(tmp_path / "none")], capsys)
    assert code == 2 and "no spool at" in err
    code, _, err = run_cli(["dead-letters", "replay", "--data-dir", str(tmp_path)], capsys)
    assert code == 2 and "--all" in err
    code, _, _ = run_cli(["bogus"], capsys)
    assert code == 2


def test_spool_entry_exposes_the_judgment_identity() -> None:
    e = SpoolEntry(judgment("id1", None, crid="c"), IngestionState.QUEUED, None)
    assert e.assessment_id == "id1" and e.order_key == "crid:c"
