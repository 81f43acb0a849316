"""The deployment monitor's verdict on a build, threshold by threshold."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.build_health import judge
from domain.rollout_models import BuildHealth, Thresholds, Verdict

T = Thresholds()  # the seed's defaults


def health(**numbers: int | float | None) -> BuildHealth:
    return BuildHealth(build_id="b", checked_at=datetime(2026, 11, 28, tzinfo=UTC), **numbers)


def test_too_few_requests_is_inconclusive() -> None:
    judged = judge(health(completed=3, failed=1), T)
    assert judged.verdict is Verdict.INCONCLUSIVE and "need 5" in judged.problems[0]


def test_healthy_build_passes() -> None:
    judged = judge(health(completed=99, failed=1, p99_seconds=2.0, auto_approved=50, flagged=2), T)
    assert judged.verdict is Verdict.PASS and judged.problems == []
    assert judged.error_rate == 0.01 and judged.success_rate == 0.99


def test_each_threshold_fails_on_its_own() -> None:
    assert "error rate 10% > 5%" in judge(health(completed=90, failed=10), T).problems
    assert judge(health(completed=20, p99_seconds=31.0), T).problems == ["p99 latency 31 s > 30 s"]
    flagged = judge(health(completed=20, auto_approved=20, flagged=2), T)
    assert flagged.verdict is Verdict.FAIL
    assert flagged.problems == ["auto-approvals flagged as wrong 10% > 5%"]


def test_stuck_requests_count_as_errors() -> None:
    judged = judge(health(completed=4, stuck=2), T)
    assert judged.verdict is Verdict.FAIL
    assert any(p.startswith("stuck requests 2 > 0") for p in judged.problems)
    assert judged.error_rate == 2 / 6


def test_boundaries_pass() -> None:
    judged = judge(health(completed=95, failed=5, p99_seconds=30.0, auto_approved=20, flagged=1), T)
    assert judged.verdict is Verdict.PASS


def test_a_breach_never_reads_like_the_bound() -> None:
    judged = judge(health(completed=20, p99_seconds=30.01), T)
    assert judged.problems == ["p99 latency 30.01 s > 30 s"]
    judged = judge(health(completed=9460, failed=540), T)  # 5.4 %
    assert "error rate 5.4% > 5%" in judged.problems


def test_one_flag_on_a_fresh_ramp_does_not_fail_the_build() -> None:
    fresh = judge(health(completed=6, auto_approved=2, flagged=1), T)
    assert fresh.verdict is Verdict.PASS, fresh.problems
    # With enough auto-approvals to judge, the same share fails.
    judged = judge(health(completed=20, auto_approved=T.min_decision_sample, flagged=5), T)
    assert judged.verdict is Verdict.FAIL
    assert judged.problems == ["auto-approvals flagged as wrong 50% > 5%"]
