"""Summaries counted by the tracking server: `POST /api/3.0/mlflow/traces/metrics`.

Four QueryTraceMetrics calls per window (and four more, bucketed, when buckets are asked):
traces (TRACES view, `trace_count`), judged traces (the same with the tag filter
`feedback.judged.<name>`), valid feedback of the name by value (ASSESSMENTS view,
`assessment_count` by `assessment_value`) and the average of each feedback name
(`assessment_value` AVG by `assessment_name`). MLflow's ASSESSMENTS view counts valid
assessments only, and filters both views by trace creation time (the assessments carry
their trace's timestamp). The time range is inclusive in MLflow: the window's exclusive
end becomes `end - 1`.

Filter values are quoted with the quote they do not contain (domain/validation.py
`filter_value` refuses values with both; MLflow's filter syntax has no escapes) and keys
are backquoted (their alphabet has no backquote): nothing a caller sends can change a
filter's meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from mlflow.entities.trace_metrics import AggregationType, MetricAggregation, MetricViewType

from ..domain.summaries import Counts, SummaryCounts, SummaryQuery
from ..domain.supersession import JUDGED_TAG_PREFIX
from ..errors import FailedPrecondition
from .calls import mlflow_call
from .core import GatewayCore

#: The most data points one QueryTraceMetrics call may answer (buckets x values).
MAX_POINTS = 100_000
_BUCKET = "time_bucket"
_COUNT = MetricAggregation(AggregationType.COUNT)
_AVG = MetricAggregation(AggregationType.AVG)


def literal(value: str) -> str:
    """`value` as a quoted filter literal (never both quotes: validated upstream)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError("a filter value cannot hold both single and double quotes")


def trace_filters(query: SummaryQuery) -> list[str]:
    """QueryTraceMetrics filters (`trace.` syntax) selecting the query's traces."""
    pairs = dict(query.trace_metadata)
    if query.user_id:
        pairs["mlflow.trace.user"] = query.user_id
    if query.session_id:
        pairs["mlflow.trace.session"] = query.session_id
    return [f"trace.metadata.`{key}` = {literal(value)}" for key, value in sorted(pairs.items())]


def judged_filter(name: str) -> str:
    return f"trace.tag.`{JUDGED_TAG_PREFIX}{name}` = 'true'"


def _bucket_ms(point: Any) -> int:
    return int(datetime.fromisoformat(point.dimensions[_BUCKET]).timestamp() * 1000)


class SummaryMethods(GatewayCore):
    async def count_summary(self, query: SummaryQuery) -> SummaryCounts:
        """MLflow's figures for the query's window, and per bucket when it has an
        interval. Raises `Unavailable` when MLflow cannot answer."""
        experiment_id = await self.experiment_id()

        def run() -> SummaryCounts:
            window = self._counts(experiment_id, query, None)
            buckets: dict[int, Counts] = {}
            if query.interval_s:
                buckets = self._counts(experiment_id, query, query.interval_s)
            return SummaryCounts(window.get(0, Counts()), buckets)

        return await self._run(run)

    def _counts(
        self, experiment_id: str, query: SummaryQuery, interval_s: int | None
    ) -> dict[int, Counts]:
        """Counts per bucket start (0 for the whole window when `interval_s` is None)."""
        traces = trace_filters(query)
        feedback = ["assessment.type = 'feedback'", *traces]

        def points(
            view: MetricViewType,
            metric: str,
            agg: MetricAggregation,
            dims: list[str],
            filters: list[str],
        ) -> list[Any]:
            found = mlflow_call(
                lambda: self._client.store.query_trace_metrics(
                    experiment_ids=[experiment_id],
                    view_type=view,
                    metric_name=metric,
                    aggregations=[agg],
                    dimensions=dims or None,
                    filters=filters or None,
                    time_interval_seconds=interval_s,
                    start_time_ms=query.start_ms,
                    end_time_ms=query.end_ms - 1,
                    max_results=MAX_POINTS,
                )
            )
            if len(found) >= MAX_POINTS:
                raise FailedPrecondition(
                    "the window holds too many distinct values to summarize at once; "
                    "use a shorter window or a longer interval"
                )
            return list(found)

        key: Callable[[Any], int] = _bucket_ms if interval_s else (lambda _: 0)
        by_bucket: dict[int, dict[str, Any]] = {}

        def slot(point: Any) -> dict[str, Any]:
            return by_bucket.setdefault(
                key(point), {"traces": 0, "judged": 0, "values": {}, "averages": {}}
            )

        trace_view = MetricViewType.TRACES
        for p in points(trace_view, "trace_count", _COUNT, [], traces):
            slot(p)["traces"] = int(p.values["COUNT"])
        judged = [judged_filter(query.feedback_name), *traces]
        for p in points(trace_view, "trace_count", _COUNT, [], judged):
            slot(p)["judged"] = int(p.values["COUNT"])
        names = [f"assessment.name = {literal(query.feedback_name)}", *feedback]
        view = MetricViewType.ASSESSMENTS
        for p in points(view, "assessment_count", _COUNT, ["assessment_value"], names):
            slot(p)["values"][p.dimensions["assessment_value"]] = int(p.values["COUNT"])
        for p in points(view, "assessment_value", _AVG, ["assessment_name"], feedback):
            slot(p)["averages"][p.dimensions["assessment_name"]] = float(p.values["AVG"])
        return {
            start: Counts(s["traces"], s["judged"], s["values"], s["averages"])
            for start, s in by_bucket.items()
        }
