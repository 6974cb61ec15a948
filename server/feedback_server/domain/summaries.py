"""Summaries of feedback, counted by the MLflow tracking server (never by scanning traces).

A summary covers the traces created in a window, optionally only those of one user, one
session and with given trace metadata, and optionally per time bucket. Its figures:

- `total_traces`: traces created in the window (MLflow's trace count);
- `traces_with_feedback`: those with at least one valid feedback of the summary's name:
  the traces tagged `feedback.judged.<name>` (the writer keeps the tag while such a
  feedback exists; MLflow's metrics cannot count distinct traces by assessment, and its
  filter-correlation count, which can, is quadratic on a SQLite store);
- `positive_count` / `negative_count`: valid feedback of that name whose value is true /
  false (MLflow's assessment count by value: superseded and retracted ones are invalid,
  so each source counts once);
- `average_ratings`: per `user_<dimension>` feedback other than the summary's name, the
  average of the valid values as MLflow aggregates them (numbers; a boolean as 1 or 0).

Buckets are MLflow's: aligned to multiples of the interval since the Unix epoch (UTC),
the first and the last clipped to the window; every bucket is listed, empty ones too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .validation import MAX_ID_CHARS, MAX_METADATA_VALUE_CHARS, Violations

RATING_PREFIX = "user_"
MAX_BUCKETS = 1_000
MAX_TRACE_METADATA = 16


@dataclass(frozen=True)
class SummaryQuery:
    start_ms: int
    end_ms: int  # exclusive
    feedback_name: str
    user_id: str = ""
    session_id: str = ""
    trace_metadata: Mapping[str, str] = field(default_factory=dict)
    interval_s: int = 0  # 0: no buckets


@dataclass(frozen=True)
class Counts:
    """MLflow's raw figures for the whole window or one bucket."""

    traces: int = 0
    judged_traces: int = 0
    values: Mapping[str, int] = field(default_factory=dict)  # JSON value text -> count
    averages: Mapping[str, float] = field(default_factory=dict)  # feedback name -> average


@dataclass(frozen=True)
class SummaryCounts:
    window: Counts
    buckets: Mapping[int, Counts]  # bucket start (ms, aligned) -> counts; empty ones absent


class SummaryCounter(Protocol):
    async def count_summary(self, query: SummaryQuery) -> SummaryCounts:
        """MLflow's figures for `query` (bucketed when `query.interval_s`). Raises
        `Unavailable` when MLflow cannot answer."""
        ...


@dataclass(frozen=True)
class Figures:
    total_traces: int
    traces_with_feedback: int
    positive_count: int
    negative_count: int
    average_ratings: dict[str, float]

    @property
    def feedback_rate(self) -> float:
        return self.traces_with_feedback / self.total_traces if self.total_traces else 0.0

    @property
    def positive_rate(self) -> float:
        judged = self.positive_count + self.negative_count
        return self.positive_count / judged if judged else 0.0


@dataclass(frozen=True)
class Bucket:
    start_ms: int
    end_ms: int
    figures: Figures


@dataclass(frozen=True)
class Summary:
    start_ms: int
    end_ms: int
    figures: Figures
    buckets: list[Bucket]


def check_summary_query(
    v: Violations,
    *,
    start_ms: int,
    end_ms: int,
    feedback_name: str,
    user_id: str,
    session_id: str,
    trace_metadata: Mapping[str, str],
    interval_s: float | None,
) -> SummaryQuery:
    """The query of a SummarizeFeedback request; `interval_s` None when unset."""
    v.name("feedback_name", feedback_name)
    v.filter_value("user_id", user_id, max_chars=MAX_ID_CHARS)
    v.filter_value("session_id", session_id, max_chars=MAX_ID_CHARS)
    if len(trace_metadata) > MAX_TRACE_METADATA:
        v.add("trace_metadata", f"must have at most {MAX_TRACE_METADATA} entries")
    else:
        v.metadata("trace_metadata", trace_metadata)
        for key, value in trace_metadata.items():
            v.filter_value(
                f"trace_metadata[{key[:64]!r}]", value, max_chars=MAX_METADATA_VALUE_CHARS
            )
    interval = 0
    if interval_s is not None:
        if interval_s < 1 or interval_s != int(interval_s):
            v.add("interval", "must be a whole number of seconds, at least 1")
        else:
            interval = int(interval_s)
            count = len(bucket_starts(start_ms, end_ms, interval)) if end_ms > start_ms else 0
            if count > MAX_BUCKETS:
                v.add(
                    "interval",
                    f"the window would hold {count} buckets; at most {MAX_BUCKETS}",
                )
    return SummaryQuery(
        start_ms,
        end_ms,
        feedback_name,
        user_id,
        session_id,
        dict(trace_metadata),
        interval,
    )


def bucket_starts(start_ms: int, end_ms: int, interval_s: int) -> list[int]:
    """The aligned starts of the buckets overlapping [start_ms, end_ms)."""
    step = interval_s * 1000
    first = start_ms // step * step
    if (end_ms - first) // step > MAX_BUCKETS + 1:
        return list(range(MAX_BUCKETS + 2))  # too many: only the count matters
    return list(range(first, end_ms, step))


def figures(counts: Counts, feedback_name: str) -> Figures:
    return Figures(
        total_traces=counts.traces,
        traces_with_feedback=counts.judged_traces,
        positive_count=counts.values.get("true", 0),
        negative_count=counts.values.get("false", 0),
        average_ratings={
            name[len(RATING_PREFIX) :]: avg
            for name, avg in sorted(counts.averages.items())
            if name.startswith(RATING_PREFIX) and name != feedback_name
        },
    )


class Summarizer:
    def __init__(self, counter: SummaryCounter) -> None:
        self._counter = counter

    async def summarize(self, query: SummaryQuery) -> Summary:
        counts = await self._counter.count_summary(query)
        name = query.feedback_name
        buckets = []
        if query.interval_s:
            step = query.interval_s * 1000
            for start in bucket_starts(query.start_ms, query.end_ms, query.interval_s):
                buckets.append(
                    Bucket(
                        max(start, query.start_ms),
                        min(start + step, query.end_ms),
                        figures(counts.buckets.get(start, Counts()), name),
                    )
                )
        return Summary(query.start_ms, query.end_ms, figures(counts.window, name), buckets)
