"""The one percentile of the test and benchmark figures."""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["percentile"]


def percentile(values: Iterable[float], pct: float) -> float | None:
    """The nearest-rank `pct`-th percentile (0 < pct <= 100) of `values`; None when empty.

    Nearest rank: sort the n values and take the one at rank ceil(pct / 100 * n) (1-based,
    at least 1). No interpolation, so the result is always one of the values, and at least
    pct % of the values are at or below it: p50 of 1..10 is 5, p90 is 9, p99 of 1..100 is 99.
    """
    if not 0 < pct <= 100:
        raise ValueError(f"percentile {pct} is not in (0, 100]")
    ordered = sorted(values)
    if not ordered:
        return None
    # Rounded first: 99.9 * 1000 / 100 is 999.0000000000001 in binary floating point.
    rank = max(1, math.ceil(round(pct * len(ordered) / 100, 9)))
    return ordered[rank - 1]
