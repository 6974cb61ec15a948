"""The label schema cache, and the enforcement of schemas on feedback writes."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence

from ...errors import FieldViolation, Unavailable
from ..model import JsonValue
from .paging import collect
from .ports import ReviewStore
from .records import LabelSchemaSpec
from .schemas import label_problem

log = logging.getLogger(__name__)


class SchemaCatalog:
    """The experiment's label schemas, cached for `ttl_s` seconds.

    Enforcement (`violations`) never waits on a slow MLflow: a stale list is used
    while a refresh runs in the background; with no list at all it waits at most
    `cold_wait_s`, then lets the judgment through unchecked. After a failed refresh
    it does not try again for `retry_s` seconds, and after a cold wait that timed out
    no write waits for `retry_s` seconds.
    """

    def __init__(
        self,
        store: ReviewStore,
        *,
        ttl_s: float = 10.0,
        cold_wait_s: float = 0.5,
        retry_s: float = 5.0,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._cold_wait_s = cold_wait_s
        self._retry_s = retry_s
        self._by_name: dict[str, LabelSchemaSpec] | None = None
        self._loaded_at = -math.inf
        self._failed_at = -math.inf
        self._no_wait_until = -math.inf
        self._refresh: asyncio.Task[dict[str, LabelSchemaSpec]] | None = None
        self._generation = 0

    # --- authoritative reads (RPCs) ----------------------------------------------------

    async def load(self, *, fresh: bool = False) -> dict[str, LabelSchemaSpec]:
        """The schemas by name: cached when younger than the TTL, else read from MLflow
        (raises `Unavailable` when MLflow cannot answer)."""
        if not fresh and self._by_name is not None and self._age() < self._ttl_s:
            return self._by_name
        return await asyncio.shield(self._start_refresh())

    async def get(self, name: str) -> LabelSchemaSpec | None:
        schemas = await self.load()
        if name not in schemas:
            schemas = await self.load(fresh=True)
        return schemas.get(name)

    async def by_ids(self, schema_ids: Sequence[str]) -> list[LabelSchemaSpec]:
        """The schemas with these IDs, in order; IDs of deleted schemas are skipped."""
        schemas = await self.load()
        by_id = {s.schema_id: s for s in schemas.values()}
        if any(i not in by_id for i in schema_ids):
            by_id = {s.schema_id: s for s in (await self.load(fresh=True)).values()}
        return [by_id[i] for i in schema_ids if i in by_id]

    def cached_names(self) -> frozenset[str]:
        """The names of the schemas loaded so far (no MLflow call)."""
        return frozenset(self._by_name or ())

    def put(self, schema: LabelSchemaSpec) -> None:
        """Records a schema this replica just created (enforced at once)."""
        if self._by_name is not None:
            self._by_name = {**self._by_name, schema.name: schema}
        self._generation += 1

    def drop(self, name: str) -> None:
        if self._by_name is not None:
            self._by_name = {k: s for k, s in self._by_name.items() if k != name}
        self._generation += 1

    # --- enforcement (FeedbackService.label_checker) -----------------------------------

    async def violations(
        self, checks: Sequence[tuple[str, str, JsonValue]]
    ) -> list[FieldViolation]:
        schemas = await self._for_enforcement()
        if not schemas:
            return []
        out: list[FieldViolation] = []
        for path, name, value in checks:
            schema = schemas.get(name)
            if schema is not None:
                problem = label_problem(schema, value)
                if problem:
                    out.append(FieldViolation(path, problem))
        return out

    async def _for_enforcement(self) -> dict[str, LabelSchemaSpec] | None:
        if self._by_name is not None and self._age() < self._ttl_s:
            return self._by_name
        if time.monotonic() - self._failed_at < self._retry_s:
            return self._by_name
        task = self._start_refresh()
        if self._by_name is not None:
            return self._by_name  # stale while the refresh runs
        if time.monotonic() < self._no_wait_until:
            return None  # a cold wait just timed out: do not make every write wait
        try:
            await asyncio.wait_for(asyncio.shield(task), self._cold_wait_s)
        except Exception:
            self._no_wait_until = time.monotonic() + self._retry_s
        if self._by_name is None:
            log.warning("label schemas unknown (MLflow unreachable): judgment accepted unchecked")
        return self._by_name

    # --- refresh -------------------------------------------------------------------------

    def _age(self) -> float:
        return time.monotonic() - self._loaded_at

    def _start_refresh(self) -> asyncio.Task[dict[str, LabelSchemaSpec]]:
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.create_task(self._do_refresh())
            self._refresh.add_done_callback(_consume_exception)
        return self._refresh

    async def _do_refresh(self) -> dict[str, LabelSchemaSpec]:
        generation = self._generation
        started = time.monotonic()
        try:
            schemas = await collect(self._store.list_label_schemas)
        except Unavailable:
            self._failed_at = time.monotonic()
            raise
        by_name = {s.name: s for s in schemas}
        if generation == self._generation or self._by_name is None:
            self._by_name = by_name
            self._loaded_at = started
        else:
            # A create or delete on this replica raced the read: keep the read, but
            # read again on next use.
            self._by_name = by_name
            self._loaded_at = -math.inf
        return by_name


def _consume_exception(task: asyncio.Task[dict[str, LabelSchemaSpec]]) -> None:
    if not task.cancelled():
        task.exception()
