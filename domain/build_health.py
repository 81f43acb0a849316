"""Judging a build's health from its numbers: pure, so every threshold is unit-tested."""

from __future__ import annotations

from domain.rollout_models import BuildHealth, Thresholds, Verdict


def p99(durations: list[float]) -> float | None:
    if not durations:
        return None
    ordered = sorted(durations)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


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
    error_rate = (health.failed + health.stuck) / sample
    success_rate = health.completed / sample
    problems = []
    if health.stuck:
        problems.append(f"{health.stuck} requests stuck (their workflow tasks keep failing)")
    if error_rate > thresholds.max_error_rate:
        problems.append(f"error rate {error_rate:.0%} > {thresholds.max_error_rate:.0%}")
    if success_rate < thresholds.min_success_rate:
        problems.append(f"success rate {success_rate:.0%} < {thresholds.min_success_rate:.0%}")
    if health.p99_seconds is not None and health.p99_seconds > thresholds.max_p99_seconds:
        problems.append(f"p99 {health.p99_seconds:.1f} s > {thresholds.max_p99_seconds:.0f} s")
    if health.auto_approved and health.flagged / health.auto_approved > thresholds.max_flagged_rate:
        problems.append(
            f"{health.flagged} of {health.auto_approved} auto-approvals flagged as wrong "
            f"(> {thresholds.max_flagged_rate:.0%})"
        )
    return health.model_copy(
        update={
            "error_rate": error_rate,
            "success_rate": success_rate,
            "verdict": Verdict.FAIL if problems else Verdict.PASS,
            "problems": problems,
        }
    )
