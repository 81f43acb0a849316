"""The dashboard's figures as a pure function of the requests' totals (bot/insight/totals.py)
and the monitor's view of the rollout. Definitions: the README, next to `GET /api/dashboard`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from statistics import median

from pydantic import BaseModel, Field

from bot.insight.facts import Fate, RequestFacts
from bot.insight.totals import DepartmentTotals, Totals

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


def auto_approval_rate(totals: Totals) -> float | None:
    return ratio(totals.fates[Fate.AUTO_APPROVED], totals.reviewed)


def _median(values: Sequence[float]) -> float | None:
    return float(median(values)) if values else None


def _department(tally: DepartmentTotals) -> DepartmentFigures:
    # One currency per department is the norm; a mix has no meaningful mean.
    currency = tally.currency
    amount = str((tally.amount / tally.valid).quantize(CENT, ROUND_HALF_EVEN)) if currency else None
    return DepartmentFigures(
        auto_approval=ratio(tally.auto, tally.reviewed),
        avg_amount=amount,
        currency=currency,
        requests=tally.requests,
    )


def build_dashboard(
    period: Period, requests: Sequence[RequestFacts], rollout: RolloutFigures
) -> Dashboard:
    """The figures of these requests (their own flagged_wrong counted)."""
    totals = Totals.of(requests)
    return dashboard_figures(period, totals, totals.flagged, rollout)


def dashboard_figures(
    period: Period, totals: Totals, flagged: int, rollout: RolloutFigures
) -> Dashboard:
    """The figures of a period's totals and its auto-approvals flagged as wrong."""
    fates = totals.fates
    auto = fates[Fate.AUTO_APPROVED]
    false_positive_rate = ratio(flagged, auto)
    manual_median = totals.median_manual_seconds()
    all_median = totals.median_decision_seconds()
    return Dashboard(
        period=period,
        counts=Counts(
            filed=totals.filed,
            invalid=fates[Fate.INVALID],
            reviewed=totals.reviewed,
            auto_approved=auto,
            manually_approved=fates[Fate.MANUALLY_APPROVED],
            rejected=fates[Fate.REJECTED],
            timed_out=fates[Fate.TIMED_OUT],
            cancelled=fates[Fate.CANCELLED],
            failed=fates[Fate.FAILED],
            flagged_wrong=flagged,
        ),
        automated_review_metrics=ReviewMetrics(
            auto_approval_rate=auto_approval_rate(totals),
            avg_review_time=totals.avg_review_seconds,
            confidence_score_avg=totals.avg_confidence,
            false_positive_rate=false_positive_rate,
        ),
        deployment_metrics=DeploymentMetrics(
            current_build_id=rollout.current_build_id,
            rollout_percentage=rollout.rollout_percentage,
            error_rate=rollout.error_rate,
            avg_latency_p99=rollout.p99_seconds,
        ),
        department_breakdown={
            name: _department(tally) for name, tally in sorted(totals.departments.items())
        },
        kpis=Kpis(
            median_time_to_decision_auto_s=totals.median_auto_seconds(),
            median_time_to_decision_manual_s=manual_median,
            approval_time_reduction=(
                1 - all_median / manual_median if all_median is not None and manual_median else None
            ),
            precision=None if false_positive_rate is None else 1 - false_positive_rate,
            rollbacks=rollout.rollbacks,
            median_rollback_s=_median(rollout.rollback_seconds),
        ),
    )
