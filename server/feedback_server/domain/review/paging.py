"""Reading MLflow's paged lists (label schemas, review queues, queue items) page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

PAGE_SIZE = 500  # the largest page MLflow serves for label schemas, queues and items
MAX_PAGES = 200  # the one cap of every scan: at most 100,000 entries are read
MAX_ENTRIES = PAGE_SIZE * MAX_PAGES

# One list call: (page size, page token or None) -> (entries, next page token or "").
Fetch = Callable[[int, str | None], Awaitable[tuple[Sequence[T], str]]]


async def paged(fetch: Fetch[T], *, limit: int = MAX_ENTRIES) -> AsyncIterator[T]:
    """The entries of a paged list in MLflow's order, at most `limit` of them (and never
    more than `MAX_PAGES` pages). Nothing is held between pages, so a caller may stop
    early."""
    token: str | None = None
    count = 0
    for _ in range(MAX_PAGES):
        if count >= limit:
            return
        page, token = await fetch(min(PAGE_SIZE, limit - count), token)
        for entry in page[: limit - count]:
            count += 1
            yield entry
        if not token:
            return


async def collect(fetch: Fetch[T], *, limit: int = MAX_ENTRIES) -> list[T]:
    """All entries of a paged list (see `paged`)."""
    return [entry async for entry in paged(fetch, limit=limit)]
