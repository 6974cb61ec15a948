"""The spool's commits: durability level (FEEDBACK_SPOOL_SYNC), the linger of group commit,
and the one-statement enqueue (heads, retries, bounds within one transaction)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from feedback_server.domain.spool import Spool
from feedback_server.errors import ResourceExhausted
from feedback_server.settings import Settings
from pydantic import ValidationError

from tests.unit.test_spool import judgment, new_spool, trace_id

pytestmark = pytest.mark.timeout(60)


async def _synchronous(s: Spool) -> int:
    """SQLite's `synchronous` of the writer's connection (1 NORMAL, 2 FULL)."""
    return int(await s._submit(lambda conn, tx: conn.execute("PRAGMA synchronous").fetchone()[0]))


@pytest.mark.parametrize(("level", "pragma"), [("full", 2), ("normal", 1)])
async def test_sync_level_sets_sqlite_synchronous(tmp_path: Path, level: str, pragma: int) -> None:
    s = new_spool(tmp_path, sync=level)
    await s.start()
    try:
        assert await _synchronous(s) == pragma
        [entry] = await s.enqueue([judgment("a")])
        assert entry.seq > 0
    finally:
        await s.close()
    # What was acknowledged is there after a reopen, whatever the level.
    again = new_spool(tmp_path)
    await again.start()
    try:
        assert set(await again.get(["a"])) == {"a"}
        assert await _synchronous(again) == 2  # the default is full
    finally:
        await again.close()


def test_sync_level_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="full"):
        new_spool(tmp_path, sync="off")
    assert Settings().spool_sync == "full"
    assert Settings(spool_sync="normal").spool_sync == "normal"
    with pytest.raises(ValidationError):
        Settings(spool_sync="off")
    with pytest.raises(ValidationError):
        Settings(spool_linger_ms=-1)


async def _staggered_commits(s: Spool, n: int, gap_s: float) -> int:
    """Commits taken by `n` enqueues started `gap_s` apart (each its own loop iteration)."""
    base = s.commits
    tasks = []
    for i in range(n):
        tasks.append(asyncio.ensure_future(s.enqueue([judgment(f"s{i}", trace_id(i))])))
        await asyncio.sleep(gap_s)
    await asyncio.gather(*tasks)
    return s.commits - base


async def test_linger_fills_commits(tmp_path: Path) -> None:
    eager = new_spool(tmp_path / "eager")
    await eager.start()
    try:
        eager_commits = await _staggered_commits(eager, 10, 0.02)
    finally:
        await eager.close()
    lingering = new_spool(tmp_path / "linger", linger_ms=100)
    await lingering.start()
    try:
        lingering_commits = await _staggered_commits(lingering, 10, 0.02)
    finally:
        await lingering.close()
    # 10 enqueues over 200 ms: a commit as each arrives, or one per 100 ms linger.
    assert eager_commits >= 6, eager_commits
    assert lingering_commits <= 4, lingering_commits


async def test_one_transaction_keeps_one_head_per_trace_and_answers_retries(
    tmp_path: Path,
) -> None:
    s = new_spool(tmp_path)
    await s.start()
    try:
        # Six judgments on two traces, and a retry of one of them, in one group commit.
        batch = [judgment(f"k{i}", trace_id(i % 2), name=f"n{i}") for i in range(6)]
        base = s.commits
        results = await asyncio.gather(
            *(s.enqueue([j]) for j in batch), s.enqueue([judgment("k0", trace_id(0))])
        )
        assert s.commits - base == 1
        assert results[-1] == results[0]  # the retry is answered with the first entry
        # Within one list, the first judgment of an assessment ID is the one recorded.
        y = [judgment("y", trace_id(0), value=v) for v in (True, False)]
        twice = await s.enqueue(y)
        assert [e.judgment.value for e in twice] == [True, True]
        assert s.depth() == 7
        heads = await s.heads(limit=10)
        assert sorted(h.assessment_id for h in heads) == ["k0", "k1"]  # the first of each trace
        assert await s.mark_stored("k0", trace_id(0))
        heads = await s.heads(limit=10)
        assert sorted(h.assessment_id for h in heads) == ["k1", "k2"]
    finally:
        await s.close()


async def test_bound_counts_only_new_judgments(tmp_path: Path) -> None:
    s = new_spool(tmp_path, max_pending=2)
    await s.start()
    try:
        await s.enqueue([judgment("b1"), judgment("b2", name="other")])
        # A list mixing a retry and a new judgment is refused as a whole...
        with pytest.raises(ResourceExhausted):
            await s.enqueue([judgment("b1"), judgment("b3")])
        assert await s.get(["b3"]) == {}
        # ...a list of retries only is answered.
        again = await s.enqueue([judgment("b2", name="other"), judgment("b1")])
        assert [e.assessment_id for e in again] == ["b2", "b1"]
        assert s.depth() == 2
    finally:
        await s.close()
