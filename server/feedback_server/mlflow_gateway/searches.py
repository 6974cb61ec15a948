"""Trace lookups, assessment reads and trace searches."""

from __future__ import annotations

import json
from functools import partial

from ..domain.model import JsonValue, StoredAssessment, TraceJudgments
from ..domain.supersession import JUDGED_TAG_PREFIX
from ..domain.validation import CLIENT_REQUEST_ID_RE, TRACE_ID_RE
from ..errors import NotFound
from .calls import mlflow_call
from .convert import to_stored
from .core import GatewayCore
from .summaries import literal


class SearchMethods(GatewayCore):
    async def trace_exists(self, trace_id: str) -> bool:
        """Whether MLflow has the trace. Raises `Unavailable` when MLflow cannot answer."""
        if not TRACE_ID_RE.fullmatch(trace_id):
            return False
        await self.experiment_id()
        try:
            info = await self._call(
                lambda: self._client.get_trace_info(trace_id), ("trace", trace_id)
            )
        except NotFound:
            return False
        return self.owns_trace(info)

    async def find_trace_by_client_request_id(self, client_request_id: str) -> str | None:
        """The newest trace of the experiment with this client request ID, if any.

        The ID is validated to a quote-free alphabet before it is placed, quoted, in
        the filter string: it can never change the filter's meaning."""
        if not CLIENT_REQUEST_ID_RE.fullmatch(client_request_id):
            return None
        experiment_id = await self.experiment_id()
        literal = client_request_id.replace("\\", "\\\\").replace("'", "\\'")

        traces = await self._call(
            lambda: self._client.search_traces(
                experiment_ids=[experiment_id],
                filter_string=f"attributes.client_request_id = '{literal}'",
                max_results=1,
                order_by=["timestamp_ms DESC"],
                include_spans=False,
            )
        )
        return str(traces[0].info.trace_id) if traces else None

    async def read_trace(self, trace_id: str) -> TraceJudgments | None:
        """The trace's assessments and `feedback.judged.*` tags; None when MLflow has no
        such trace (in the experiment). Raises `Unavailable` when MLflow cannot answer."""
        await self.experiment_id()

        def call() -> TraceJudgments:
            info = mlflow_call(lambda: self._client.get_trace_info(trace_id), ("trace", trace_id))
            if not self.owns_trace(info):
                raise NotFound("trace", trace_id)
            judged = frozenset(
                key[len(JUDGED_TAG_PREFIX) :]
                for key, value in (info.tags or {}).items()
                if key.startswith(JUDGED_TAG_PREFIX) and value == "true"
            )
            assessments = [to_stored(a) for a in info.assessments or []]
            return TraceJudgments(trace_id, assessments, judged)

        try:
            return await self._run(call)
        except NotFound:
            return None

    async def get_assessment(self, trace_id: str, assessment_id: str) -> StoredAssessment | None:
        """One assessment of the trace, or None when MLflow has no such trace or assessment.
        Raises `Unavailable` when MLflow cannot answer."""
        try:
            found = await self._call(
                lambda: self._client.get_assessment(trace_id, assessment_id),
                ("assessment", assessment_id),
            )
        except NotFound:
            return None
        return to_stored(found)

    async def list_assessments(self, trace_id: str) -> list[StoredAssessment] | None:
        """The trace's assessments, or None when MLflow has no such trace."""
        state = await self.read_trace(trace_id)
        return None if state is None else state.assessments

    async def find_traces(
        self, start_ms: int, end_ms: int, feedback: tuple[str, JsonValue] | None, limit: int
    ) -> list[str]:
        """The IDs of the traces created in [start_ms, end_ms), newest first, at most
        `limit`; with `feedback` (name, value), only traces with a valid feedback of that
        name equal to that value (MLflow's search compares the stored JSON: a number as
        its float, `4.0`). The name is backquoted and the value quoted as in summaries.py."""
        experiment_id = await self.experiment_id()
        clauses = [f"trace.timestamp_ms >= {int(start_ms)}", f"trace.timestamp_ms < {int(end_ms)}"]
        if feedback is not None:
            name, value = feedback
            text = json.dumps(float(value)) if _is_number(value) else value
            if isinstance(value, bool):
                text = "true" if value else "false"
            clauses.append(f"feedback.`{name}` = {literal(str(text))}")
        filter_string = " AND ".join(clauses)

        def call() -> list[str]:
            found: list[str] = []
            token: str | None = None
            while len(found) < limit:
                page = mlflow_call(
                    partial(
                        self._client.search_traces,
                        experiment_ids=[experiment_id],
                        filter_string=filter_string,
                        max_results=min(500, limit - len(found)),
                        order_by=["timestamp_ms DESC"],
                        page_token=token,
                        include_spans=False,
                    )
                )
                found += [str(t.info.trace_id) for t in page]
                token = page.token
                if not token:
                    break
            return found[:limit]

        return await self._run(call)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
