"""Nearest-rank percentiles, against answers worked out by hand and against the definition."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.percentiles import nearest_rank


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        (range(1, 101), 0.99, 99),
        (range(1, 11), 0.99, 10),
        (range(1, 5), 0.5, 2),
        (range(1, 101), 0.5, 50),
        (range(1, 101), 0.07, 7),  # as floats 0.07 * 100 is 7.000000000000001
        (range(1, 31), 0.99, 30),  # fewer than 100 samples: the slowest one
        ([5.0], 0.99, 5),
        ([3, 1, 2], 1.0, 3),  # unsorted input
    ],
)
def test_known_answers(values: range | list[float], fraction: float, expected: float) -> None:
    assert nearest_rank([float(v) for v in values], fraction) == expected


def test_nothing_to_rank_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 0.99)
    with pytest.raises(ValueError, match="fraction"):
        nearest_rank([1.0], 0)


@given(
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=300),
    st.integers(min_value=1, max_value=100),
)
def test_the_definition(values: list[int], percent: int) -> None:
    """The smallest value with at least `percent` % of all values at or below it."""
    got = nearest_rank([float(v) for v in values], percent / 100)
    assert got in values
    assert 100 * sum(v <= got for v in values) >= percent * len(values)
    assert 100 * sum(v < got for v in values) < percent * len(values)
    assert got == sorted(values)[math.ceil(percent * len(values) / 100) - 1]
