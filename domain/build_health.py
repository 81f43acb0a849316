"""Judging a build's health from its numbers: pure, so every threshold is unit-tested.

Which limits exist, and how each reads, is declared once on `Thresholds`; this module applies
them and words them, for the verdict and for `/rollout status` alike."""

from __future__ import annotations

from domain.rollout_models import BuildHealth, Thresholds, Verdict


def judge(health: BuildHealth, thresholds: Thresholds) -> BuildHealth:
    """Fill in rates, verdict and problems."""
    sample = health.sample
    if sample < thresholds.min_sample:
        return health.model_copy(
            update={
                "verdict": Verdict.INCONCLUSIVE,
                "problems": [f"only {sample} finished requests; need {thresholds.min_sample}"],
            }
        )
    rated = health.model_copy(
        update={
            # A stuck request is as bad as a failed one (see BuildHealth.sample).
            "error_rate": (health.failed + health.stuck) / sample,
            "success_rate": health.completed / sample,
            # Decision quality needs its own minimum sample: one flag among two auto-approvals
            # is 50 %, and must not roll a fresh ramp back.
            "flags_judged": health.auto_approved >= thresholds.min_decision_sample,
        }
    )
    problems = [
        limit.breach(value, bound)
        for limit, bound in thresholds.limits()
        if (value := limit.observed(rated)) is not None and not limit.allows(value, bound)
    ]
    return rated.model_copy(
        update={"verdict": Verdict.FAIL if problems else Verdict.PASS, "problems": problems}
    )


def describe_limits(thresholds: Thresholds) -> str:
    """The limits in force, as `judge` applies them."""
    limits = ", ".join(limit.describe(bound) for limit, bound in thresholds.limits())
    return (
        f"{limits}; over the last {thresholds.window_seconds:g} s; at least "
        f"{thresholds.min_sample} finished requests, {thresholds.min_decision_sample} "
        "auto-approvals for the flagged share"
    )


def describe_monitor(thresholds: Thresholds) -> str:
    """The monitor's settings in force (they change when a process starts with others)."""
    return (
        f"checks every {thresholds.check_interval_seconds:g} s, "
        f"{thresholds.failure_limit} failed checks in a row roll back; limits: "
        + describe_limits(thresholds)
    )


def readings(health: BuildHealth) -> str:
    """A judged build's value for every limit."""
    return " · ".join(limit.reading(health) for limit in Thresholds.declared_limits().values())
