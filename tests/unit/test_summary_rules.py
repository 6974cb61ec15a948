"""Summaries and live quality metrics, without MLflow: the figures from MLflow's counts,
the buckets, the request checks, the filters (parsed back by MLflow's own parsers), and
the counters' value classes and bounded names."""

from __future__ import annotations

import random
import string

import pytest
from feedback_server.domain.summaries import (
    Counts,
    Summarizer,
    SummaryCounts,
    SummaryQuery,
    bucket_starts,
    check_summary_query,
    figures,
)
from feedback_server.domain.validation import Violations
from feedback_server.mlflow_gateway.summaries import judged_filter, literal, trace_filters
from feedback_server.quality_metrics import JudgmentMetrics, value_class
from prometheus_client import CollectorRegistry

HOUR_MS = 3_600_000


def test_figures_from_mlflows_counts() -> None:
    counts = Counts(
        traces=10,
        judged_traces=4,
        values={"true": 3, "false": 2, '"meh"': 1},
        averages={"user_accuracy": 0.8, "user_feedback": 0.6, "comment_len": 3.0},
    )
    f = figures(counts, "user_feedback")
    assert (f.total_traces, f.traces_with_feedback) == (10, 4)
    assert (f.positive_count, f.negative_count) == (3, 2)
    assert f.feedback_rate == pytest.approx(0.4) and f.positive_rate == pytest.approx(0.6)
    # user_<dimension> other than the summary's own name; the rest is not a rating.
    assert f.average_ratings == {"accuracy": 0.8}
    empty = figures(Counts(), "user_feedback")
    assert (empty.feedback_rate, empty.positive_rate, empty.average_ratings) == (0.0, 0.0, {})


def test_buckets_are_aligned_to_the_interval_and_clipped_to_the_window() -> None:
    start, end = 10 * HOUR_MS + 7 * 60_000, 13 * HOUR_MS  # 10:07 to 13:00
    assert bucket_starts(start, end, 3600) == [10 * HOUR_MS, 11 * HOUR_MS, 12 * HOUR_MS]
    assert bucket_starts(0, HOUR_MS, 3600) == [0]


class _Counter:
    def __init__(self, counts: SummaryCounts) -> None:
        self.counts = counts
        self.queries: list[SummaryQuery] = []

    async def count_summary(self, query: SummaryQuery) -> SummaryCounts:
        self.queries.append(query)
        return self.counts


async def test_every_bucket_is_listed_empty_ones_too() -> None:
    start, end = 10 * HOUR_MS + 30 * 60_000, 13 * HOUR_MS
    counter = _Counter(
        SummaryCounts(
            window=Counts(traces=3, values={"true": 1}),
            buckets={11 * HOUR_MS: Counts(traces=3, values={"true": 1})},
        )
    )
    summary = await Summarizer(counter).summarize(
        SummaryQuery(start, end, "user_feedback", interval_s=3600)
    )
    spans = [(b.start_ms, b.end_ms, b.figures.total_traces) for b in summary.buckets]
    assert spans == [
        (start, 11 * HOUR_MS, 0),
        (11 * HOUR_MS, 12 * HOUR_MS, 3),
        (12 * HOUR_MS, 13 * HOUR_MS, 0),
    ]
    assert summary.figures.positive_count == 1


def _check(**kw: object) -> list[str]:
    v = Violations()
    args: dict[str, object] = {
        "start_ms": 0,
        "end_ms": 24 * HOUR_MS,
        "feedback_name": "user_feedback",
        "user_id": "",
        "session_id": "",
        "trace_metadata": {},
        "interval_s": None,
    }
    args.update(kw)
    check_summary_query(v, **args)  # type: ignore[arg-type]
    return [item.field for item in v.items]


def test_summary_requests_are_checked() -> None:
    assert _check() == []
    assert _check(interval_s=3600, user_id="o'brien", trace_metadata={"app": 'say "hi"'}) == []
    assert _check(interval_s=0.5) == ["interval"]
    assert _check(interval_s=60.5) == ["interval"]
    assert _check(interval_s=60) == ["interval"]  # 1,441 buckets
    assert _check(interval_s=87) == []  # 994 buckets (aligned)
    assert _check(user_id="both ' and \"") == ["user_id"]
    assert _check(session_id="x" * 257) == ["session_id"]
    assert _check(trace_metadata={"mlflow.trace.user": "u"}) == [
        "trace_metadata['mlflow.trace.user']"
    ]
    assert _check(trace_metadata={f"k{i}": "v" for i in range(17)}) == ["trace_metadata"]
    assert _check(feedback_name="1bad") == ["feedback_name"]


def _hostile(rng: random.Random) -> str:
    alphabet = string.printable.replace("\x0b", "").replace("\x0c", "") + "日本ü'\"\\`%_"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
    return text.replace("\n", " ").replace("\r", " ").replace("\t", " ")


def test_filters_mean_exactly_the_values_given() -> None:
    """Every value a request may carry comes back unchanged from MLflow's own parser:
    quoting never lets a value change a filter (DESIGN §2 on injection)."""
    from mlflow.utils.search_utils import SearchTraceMetricsUtils, SearchTraceUtils

    rng = random.Random(11)
    values = ["o'k", 'say "hi"', "x' OR trace.status = 'ERROR", "a\\", "", " "]
    values += [_hostile(rng) for _ in range(300)]
    for value in values:
        if "'" in value and '"' in value:
            with pytest.raises(ValueError):
                literal(value)
            continue
        query = SummaryQuery(0, 1, "user_feedback", user_id=value, trace_metadata={"app.v": value})
        for f in trace_filters(query):
            parsed = SearchTraceMetricsUtils.parse_search_filter(f)
            assert parsed.value == value, (f, parsed)
        [clause] = SearchTraceUtils.parse_search_filter_for_search_traces(
            f"feedback.`user-feedback.v2` = {literal(value)}"
        )
        assert (clause["key"], clause["value"]) == ("user-feedback.v2", value)
    judged = SearchTraceMetricsUtils.parse_search_filter(judged_filter("user_feedback"))
    assert (judged.entity, judged.key, judged.value) == (
        "tag",
        "feedback.judged.user_feedback",
        "true",
    )


def test_value_classes() -> None:
    assert [value_class(v) for v in (True, False)] == ["positive", "negative"]
    ratings = [k / 5 for k in range(1, 6)]  # a 5-scale: one bucket each
    assert [value_class(v) for v in ratings] == ["0_0.2", "0.2_0.4", "0.4_0.6", "0.6_0.8", "0.8_1"]
    assert [value_class(v) for v in (-1.0, 0.0, 7.0)] == ["lt_0", "0_0.2", "gt_1"]
    assert value_class("good") == "category" and value_class("long", "text") == "text"
    assert value_class({"a": 1}) == "structured"


def test_metric_names_are_bounded() -> None:
    schemas = {"response_accuracy"}
    m = JudgmentMetrics(["user_feedback"], more_names=lambda: schemas, registry=CollectorRegistry())
    for name, value in [
        ("user_feedback", True),
        ("user_feedback", False),
        ("response_accuracy", "Accurate"),
        ("made_up_42", True),
        ("made_up_43", True),
    ]:
        m.count_accepted(name, value)
    m.count_retracted("made_up_44")
    got = {
        (s.labels["name"], s.labels["value_class"]): s.value
        for metric in m.accepted.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert got[("user_feedback", "positive")] == 1
    assert got[("user_feedback", "negative")] == 1
    assert got[("response_accuracy", "category")] == 1
    assert got[("other", "positive")] == 2
    assert {n for n, _ in got} == {"user_feedback", "response_accuracy", "other"}
    [retracted] = [
        s for metric in m.retracted.collect() for s in metric.samples if s.name.endswith("_total")
    ]
    assert (retracted.labels["name"], retracted.value) == ("other", 1)
