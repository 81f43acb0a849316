"""Nearest-rank percentiles: the one definition the deployment monitor and the benchmarks use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The smallest value with at least `fraction` of all values at or below it
    (p99 of 1..100 is 99, of 1..10 is 10; p50 of 1..4 is 2). `fraction` is in (0, 1]."""
    if not values:
        raise ValueError("no values: a percentile of nothing is undefined")
    if not 0 < fraction <= 1:
        raise ValueError(f"{fraction} is not a fraction in (0, 1]")
    # Exact arithmetic: as floats, 0.07 * 100 is 7.000000000000001 and the rank would be 8.
    rank = math.ceil(Fraction(str(fraction)) * len(values))
    return sorted(values)[rank - 1]
