"""The dashboard's figures as a pure function of the requests' facts and the monitor's view of
the rollout. Definitions are in the README next to `GET /api/dashboard`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import fmean, median

from pydantic import BaseModel, Field

from bot.insight.facts import Fate, RequestFacts

CENT = Decimal("0.01")


class Period(BaseModel):
    since: datetime
    until: datetime
    department: str | None = None


class Counts(BaseModel):
    filed: int
    invalid: int
    reviewed: int
    auto_approved: int
    manually_approved: int
    rejected: int
    timed_out: int
    cancelled: int
    failed: int
    flagged_wrong: int


class ReviewMetrics(BaseModel):
    auto_approval_rate: float | None
    avg_review_time: float | None = Field(description="seconds")
    confidence_score_avg: float | None
    false_positive_rate: float | None


class DeploymentMetrics(BaseModel):
    current_build_id: str | None
    rollout_percentage: float = Field(description="the ramping build's share, 0-100")
    error_rate: float | None
    avg_latency_p99: float | None = Field(description="seconds")


class DepartmentFigures(BaseModel):
    auto_approval: float | None
    avg_amount: str | None = Field(description="decimal string, in `currency`")
    currency: str | None
    requests: int


class Kpis(BaseModel):
    median_time_to_decision_auto_s: float | None
    median_time_to_decision_manual_s: float | None
    approval_time_reduction: float | None
    precision: float | None
    rollbacks: int
    median_rollback_s: float | None


class Dashboard(BaseModel):
    period: Period
    counts: Counts
    automated_review_metrics: ReviewMetrics
    deployment_metrics: DeploymentMetrics
    department_breakdown: dict[str, DepartmentFigures]
    kpis: Kpis


@dataclass(frozen=True)
class RolloutFigures:
    """What the deployment monitor knows, for the current (or ramping) build and the period."""

    current_build_id: str | None
    rollout_percentage: float
    error_rate: float | None
    p99_seconds: float | None
    rollbacks: int
    rollback_seconds: tuple[float, ...] = ()


def ratio(part: int, whole: int) -> float | None:
    """A rate in [0, 1]; undefined (0/0) is None."""
    return part / whole if whole else None


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def _median(values: Sequence[float]) -> float | None:
    return float(median(values)) if values else None


class _Department:
    """One department's running totals while the requests are counted."""

    __slots__ = ("amount", "auto", "currency", "mixed", "requests", "reviewed", "valid")

    def __init__(self) -> None:
        self.requests = self.reviewed = self.auto = self.valid = 0
        self.amount = Decimal(0)
        self.currency: str | None = None
        self.mixed = False  # valid requests in more than one currency

    def add_valid(self, amount: Decimal, currency: str) -> None:
        self.valid += 1
        self.amount += amount
        if self.currency is None:
            self.currency = currency
        elif currency != self.currency:
            self.mixed = True

    def figures(self) -> DepartmentFigures:
        # One currency per department is the norm; a mix has no meaningful mean.
        single = None if self.mixed else self.currency
        amount = str((self.amount / self.valid).quantize(CENT, ROUND_HALF_EVEN)) if single else None
        return DepartmentFigures(
            auto_approval=ratio(self.auto, self.reviewed),
            avg_amount=amount,
            currency=single,
            requests=self.requests,
        )


_DECIDED_BY_A_PERSON = (Fate.MANUALLY_APPROVED, Fate.REJECTED)


def build_dashboard(
    period: Period, requests: Sequence[RequestFacts], rollout: RolloutFigures
) -> Dashboard:
    # One pass over the requests: a period can hold 100,000 of them.
    fates = dict.fromkeys(Fate, 0)
    reviewed = flagged = 0
    review_times: list[float] = []
    confidences: list[float] = []
    auto_times: list[float] = []
    manual_times: list[float] = []
    departments: dict[str, _Department] = {}
    for r in requests:
        fate = r.fate
        fates[fate] += 1
        department = departments.get(r.department)
        if department is None:
            department = departments[r.department] = _Department()
        department.requests += 1
        if r.reviewed:
            reviewed += 1
            department.reviewed += 1
        if fate is Fate.AUTO_APPROVED:
            department.auto += 1
            if r.decision_seconds is not None:
                auto_times.append(r.decision_seconds)
        elif fate in _DECIDED_BY_A_PERSON and r.decision_seconds is not None:
            manual_times.append(r.decision_seconds)
        if fate is not Fate.INVALID:
            department.add_valid(r.amount, r.currency)
        if r.flagged_wrong:
            flagged += 1
        if r.review_seconds is not None:
            review_times.append(r.review_seconds)
        if r.confidence is not None:
            confidences.append(r.confidence)
    auto = fates[Fate.AUTO_APPROVED]
    false_positive_rate = ratio(flagged, auto)
    manual_median = _median(manual_times)
    all_median = _median(auto_times + manual_times)
    return Dashboard(
        period=period,
        counts=Counts(
            filed=len(requests),
            invalid=fates[Fate.INVALID],
            reviewed=reviewed,
            auto_approved=auto,
            manually_approved=fates[Fate.MANUALLY_APPROVED],
            rejected=fates[Fate.REJECTED],
            timed_out=fates[Fate.TIMED_OUT],
            cancelled=fates[Fate.CANCELLED],
            failed=fates[Fate.FAILED],
            flagged_wrong=flagged,
        ),
        automated_review_metrics=ReviewMetrics(
            auto_approval_rate=ratio(auto, reviewed),
            avg_review_time=_mean(review_times),
            confidence_score_avg=_mean(confidences),
            false_positive_rate=false_positive_rate,
        ),
        deployment_metrics=DeploymentMetrics(
            current_build_id=rollout.current_build_id,
            rollout_percentage=rollout.rollout_percentage,
            error_rate=rollout.error_rate,
            avg_latency_p99=rollout.p99_seconds,
        ),
        department_breakdown={name: tally.figures() for name, tally in sorted(departments.items())},
        kpis=Kpis(
            median_time_to_decision_auto_s=_median(auto_times),
            median_time_to_decision_manual_s=manual_median,
            approval_time_reduction=(
                1 - all_median / manual_median if all_median is not None and manual_median else None
            ),
            precision=None if false_positive_rate is None else 1 - false_positive_rate,
            rollbacks=rollout.rollbacks,
            median_rollback_s=_median(rollout.rollback_seconds),
        ),
    )
