"""One health limit of the deployment monitor: what it compares, how, in which unit, and how it
reads. The verdict (`domain.build_health.judge`) and every display of the limits
(`/rollout status`) read the same `Limit`, so what ops are shown is what is enforced."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.rollout_models import BuildHealth


class Comparison(StrEnum):
    AT_MOST = "<="
    AT_LEAST = ">="

    def allows(self, value: float, bound: float) -> bool:
        return value <= bound if self is Comparison.AT_MOST else value >= bound

    @property
    def broken(self) -> str:
        """How a value that breaks the limit compares with it."""
        return ">" if self is Comparison.AT_MOST else "<"


class Unit(StrEnum):
    PERCENT = "percent"
    SECONDS = "seconds"
    COUNT = "count"

    def show(self, value: float) -> str:
        # Enough digits that a breach never reads like the bound ("5.4% > 5%", not "5% > 5%").
        if self is Unit.PERCENT:
            return f"{_trimmed(value * 100, 1)}%"
        if self is Unit.SECONDS:
            return f"{_trimmed(value, 2)} s"
        return _trimmed(value, 0)


def _trimmed(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Limit:
    label: str
    comparison: Comparison
    unit: Unit
    # The measured value the bound applies to; None when there is nothing to judge yet
    # (e.g. no auto-approvals, so no share of them can have been flagged).
    observed: Callable[[BuildHealth], float | None]
    # Said with a breach, when the number alone does not tell ops what is wrong.
    meaning: str = ""

    def allows(self, value: float, bound: float) -> bool:
        return self.comparison.allows(value, bound)

    def describe(self, bound: float) -> str:
        return f"{self.label} {self.comparison} {self.unit.show(bound)}"

    def breach(self, value: float, bound: float) -> str:
        why = f" ({self.meaning})" if self.meaning else ""
        return (
            f"{self.label} {self.unit.show(value)} {self.comparison.broken} "
            f"{self.unit.show(bound)}{why}"
        )

    def reading(self, health: BuildHealth) -> str:
        value = self.observed(health)
        return f"{self.label} {'n/a' if value is None else self.unit.show(value)}"
