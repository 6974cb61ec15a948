"""Trace lookups, assessment reads and the summary scan."""

from __future__ import annotations

from functools import partial

from ..domain.model import StoredAssessment, TraceAssessments
from ..domain.validation import CLIENT_REQUEST_ID_RE, TRACE_ID_RE
from ..errors import NotFound
from .calls import mlflow_call
from .convert import to_stored
from .core import GatewayCore


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

    async def list_assessments(self, trace_id: str) -> list[StoredAssessment] | None:
        """The trace's assessments, or None when MLflow has no such trace (in the experiment)."""
        await self.experiment_id()

        def call() -> list[StoredAssessment]:
            info = mlflow_call(lambda: self._client.get_trace_info(trace_id), ("trace", trace_id))
            if not self.owns_trace(info):
                raise NotFound("trace", trace_id)
            return [to_stored(a) for a in info.assessments or []]

        try:
            return await self._run(call)
        except NotFound:
            return None

    async def scan_traces(
        self, start_ms: int, end_ms: int, max_traces: int
    ) -> tuple[list[TraceAssessments], bool]:
        """Traces created in [start_ms, end_ms) with their assessments, newest first,
        in pages of search calls (never one call per trace). Returns (rows, truncated)."""
        experiment_id = await self.experiment_id()

        def call() -> tuple[list[TraceAssessments], bool]:
            rows: list[TraceAssessments] = []
            token: str | None = None
            filter_string = (
                f"trace.timestamp_ms >= {int(start_ms)} AND trace.timestamp_ms < {int(end_ms)}"
            )
            while True:
                page = mlflow_call(
                    partial(
                        self._client.search_traces,
                        experiment_ids=[experiment_id],
                        filter_string=filter_string,
                        max_results=min(500, max_traces - len(rows) + 1),
                        order_by=["timestamp_ms DESC"],
                        page_token=token,
                        include_spans=False,
                    )
                )
                for trace in page:
                    info = trace.info
                    rows.append(
                        TraceAssessments(
                            trace_id=info.trace_id,
                            timestamp_ms=int(info.request_time),
                            assessments=[to_stored(a) for a in info.assessments or []],
                        )
                    )
                if len(rows) > max_traces:
                    return rows[:max_traces], True
                token = page.token
                if not token:
                    return rows, False

        return await self._run(call)
