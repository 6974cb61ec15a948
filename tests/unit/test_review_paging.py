"""The one pager over MLflow's paged lists: limits, the page cap, the end of a list."""

from __future__ import annotations

from feedback_server.domain.review.paging import MAX_PAGES, PAGE_SIZE, collect, paged


class _List:
    """A paged list of `total` numbers, answering like MLflow (tokens are offsets)."""

    def __init__(self, total: int | None) -> None:
        self.total = total  # None: endless
        self.calls: list[tuple[int, str | None]] = []

    async def __call__(self, size: int, token: str | None) -> tuple[list[int], str]:
        self.calls.append((size, token))
        start = int(token or 0)
        end = start + size if self.total is None else min(start + size, self.total)
        more = self.total is None or end < self.total
        return list(range(start, end)), str(end) if more else ""


async def test_reads_every_page_until_the_list_ends() -> None:
    fetch = _List(1_234)
    assert await collect(fetch) == list(range(1_234))
    assert fetch.calls == [(PAGE_SIZE, None), (PAGE_SIZE, "500"), (PAGE_SIZE, "1000")]


async def test_stops_at_the_limit_and_asks_only_for_what_is_left() -> None:
    fetch = _List(None)
    assert await collect(fetch, limit=700) == list(range(700))
    assert fetch.calls == [(PAGE_SIZE, None), (200, "500")]


async def test_an_endless_list_stops_at_the_page_cap() -> None:
    fetch = _List(None)
    assert len(await collect(fetch)) == PAGE_SIZE * MAX_PAGES
    assert len(fetch.calls) == MAX_PAGES


async def test_a_caller_may_stop_early() -> None:
    fetch = _List(None)
    async for n in paged(fetch):
        if n == 3:
            break
    assert fetch.calls == [(PAGE_SIZE, None)]


async def test_a_limit_of_zero_reads_nothing() -> None:
    fetch = _List(10)
    assert await collect(fetch, limit=0) == []
    assert fetch.calls == []
