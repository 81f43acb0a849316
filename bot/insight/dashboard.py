"""The dashboard's figures as a pure function of the requests' facts and the monitor's view of
the rollout. Definitions are in the README next to `GET /api/dashboard`."""

from __future__ import annotations

from collections import Counter
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


def build_dashboard(
    period: Period, requests: Sequence[RequestFacts], rollout: RolloutFigures
) -> Dashboard:
    fates = Counter(r.fate for r in requests)
    reviewed = sum(r.reviewed for r in requests)
    auto = fates[Fate.AUTO_APPROVED]
    flagged = sum(r.flagged_wrong for r in requests)
    false_positive_rate = ratio(flagged, auto)
    auto_times = [r.decision_seconds for r in requests if r.fate is Fate.AUTO_APPROVED]
    manual_times = [
        r.decision_seconds
        for r in requests
        if r.fate in (Fate.MANUALLY_APPROVED, Fate.REJECTED) and r.decision_seconds is not None
    ]
    all_times = [t for t in auto_times if t is not None] + manual_times
    manual_median = _median(manual_times)
    all_median = _median(all_times)
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
            avg_review_time=_mean(
                [r.review_seconds for r in requests if r.review_seconds is not None]
            ),
            confidence_score_avg=_mean(
                [r.confidence for r in requests if r.confidence is not None]
            ),
            false_positive_rate=false_positive_rate,
        ),
        deployment_metrics=DeploymentMetrics(
            current_build_id=rollout.current_build_id,
            rollout_percentage=rollout.rollout_percentage,
            error_rate=rollout.error_rate,
            avg_latency_p99=rollout.p99_seconds,
        ),
        department_breakdown=_departments(requests),
        kpis=Kpis(
            median_time_to_decision_auto_s=_median([t for t in auto_times if t is not None]),
            median_time_to_decision_manual_s=manual_median,
            approval_time_reduction=(
                1 - all_median / manual_median if all_median is not None and manual_median else None
            ),
            precision=None if false_positive_rate is None else 1 - false_positive_rate,
            rollbacks=rollout.rollbacks,
            median_rollback_s=_median(rollout.rollback_seconds),
        ),
    )


def _departments(requests: Sequence[RequestFacts]) -> dict[str, DepartmentFigures]:
    by_department: dict[str, list[RequestFacts]] = {}
    for request in requests:
        by_department.setdefault(request.department, []).append(request)
    return {name: _department(group) for name, group in sorted(by_department.items())}


def _department(requests: list[RequestFacts]) -> DepartmentFigures:
    valid = [r for r in requests if r.valid]
    currencies = {r.currency for r in valid}
    # One currency per department is the norm; a mix has no meaningful mean.
    single = next(iter(currencies)) if len(currencies) == 1 else None
    amount = (
        str(
            (sum((r.amount for r in valid), Decimal(0)) / len(valid)).quantize(
                CENT, ROUND_HALF_EVEN
            )
        )
        if single
        else None
    )
    return DepartmentFigures(
        auto_approval=ratio(
            sum(r.fate is Fate.AUTO_APPROVED for r in requests), sum(r.reviewed for r in requests)
        ),
        avg_amount=amount,
        currency=single,
        requests=len(requests),
    )
