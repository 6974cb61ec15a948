"""Live quality metrics: the judgments the service accepts, as Prometheus counters.

`feedback_judgments_accepted_total{name, value_class}` counts every feedback judgment
once, when it is durably acknowledged (a retry with the same `request_id` is not counted
again; a changed vote counts as a new judgment). `value_class` is `positive` / `negative`
for a boolean, a bucket of the number (`lt_0`, `0_0.2`, `0.2_0.4`, `0.4_0.6`, `0.6_0.8`,
`0.8_1`, `gt_1`: ratings are stored on the 0 to 1 scale) and `category`, `text` or
`structured` otherwise. `name` is bounded: the names of `FEEDBACK_METRICS_NAMES` and of the
experiment's label schemas keep their name, every other one is `other`.
`feedback_judgments_retracted_total{name}` counts accepted retractions.

Summed over every replica, the positive rate of the last hour is one expression:

    sum(rate(feedback_judgments_accepted_total{name="user_feedback",value_class="positive"}[1h]))
      / sum(rate(feedback_judgments_accepted_total{name="user_feedback",
                                                  value_class=~"positive|negative"}[1h]))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter

OTHER = "other"
#: Upper bounds of the numeric buckets (a value equal to a bound falls in the bucket below,
#: except 0, which opens the first); beyond 1: `gt_1`.
_NUMBER_BUCKETS = ((0.2, "0_0.2"), (0.4, "0.2_0.4"), (0.6, "0.4_0.6"), (0.8, "0.6_0.8"))


def value_class(value: object, kind: str | None = None) -> str:
    """The `value_class` label of a judgment value; `kind` (`category` or `text`) tells the
    two kinds of string apart (a string with no kind counts as a category)."""
    if isinstance(value, bool):
        return "positive" if value else "negative"
    if isinstance(value, int | float):
        number = float(value)
        if not math.isfinite(number) or number < 0:
            return "lt_0"
        if number > 1:
            return "gt_1"
        for bound, label in _NUMBER_BUCKETS:
            if number <= bound:
                return label
        return "0.8_1"
    if isinstance(value, str):
        return "text" if kind == "text" else "category"
    return "structured"


class JudgmentMetrics:
    """The counters, and the bounded set of names they keep (see the module docstring)."""

    def __init__(
        self,
        names: Iterable[str] = ("user_feedback",),
        *,
        more_names: Callable[[], Collection[str]] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        reg = REGISTRY if registry is None else registry
        self._names = frozenset(names)
        #: More names to keep (app.py: the label schemas' names), called per judgment.
        self.more_names = more_names
        self.accepted = Counter(
            "feedback_judgments_accepted",
            "Feedback judgments durably accepted, by name and value class (retries excluded).",
            ["name", "value_class"],
            registry=reg,
        )
        self.retracted = Counter(
            "feedback_judgments_retracted",
            "Retractions durably accepted, by name.",
            ["name"],
            registry=reg,
        )
        for name in self._names:
            for cls in ("positive", "negative"):
                self.accepted.labels(name=name, value_class=cls)

    def label(self, name: str) -> str:
        if name in self._names:
            return name
        if self.more_names is not None and name in self.more_names():
            return name
        return OTHER

    def count_accepted(self, name: str, value: object, kind: str | None = None) -> None:
        self.accepted.labels(name=self.label(name), value_class=value_class(value, kind)).inc()

    def count_retracted(self, name: str) -> None:
        self.retracted.labels(name=self.label(name)).inc()


_default: JudgmentMetrics | None = None


def default_judgment_metrics(names: Iterable[str] = ("user_feedback",)) -> JudgmentMetrics:
    """The process-wide counters, registered once in prometheus-client's global registry
    (the names of the first call are kept)."""
    global _default
    if _default is None:
        _default = JudgmentMetrics(names)
    return _default
