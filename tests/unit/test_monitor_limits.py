"""What `/rollout status` shows as the monitor's limits is what the monitor enforces.

Both read the limits declared on `Thresholds`; these tests fail when a limit is enforced but
not shown, shown with another bound than the enforced one, or checked outside the model."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activities.worker_deployments import DeploymentView
from appconfig.settings import MONITOR_ENV, MONITOR_FIELDS, Settings
from bot.rollout_admin import RolloutStatus
from bot.slack.rollout_blocks import rollout_status_blocks
from domain.build_health import describe_limits, judge
from domain.health_limits import Comparison, Unit
from domain.mrkdwn import escape
from domain.rollout_models import (
    MONITOR_SETTINGS,
    BuildHealth,
    RolloutState,
    Thresholds,
    Verdict,
    settings_change,
)

AT = datetime(2026, 11, 28, tzinfo=UTC)
# Every bound moved away from its default, so a display that hard-codes a default is caught.
MOVED = Thresholds(
    max_error_rate=0.1,
    max_p99_seconds=12.5,
    min_success_rate=0.8,
    max_flagged_rate=0.07,
    max_stuck=2,
    min_sample=4,
)


def health(**numbers: int | float | None) -> BuildHealth:
    return BuildHealth(build_id="B", checked_at=AT, **numbers)


# For each limit: a build that breaks it under the default thresholds.
BREAKS: dict[str, Callable[[], BuildHealth]] = {
    "max_error_rate": lambda: health(completed=90, failed=10),
    "max_p99_seconds": lambda: health(completed=20, p99_seconds=31.0),
    "min_success_rate": lambda: health(completed=90, failed=10),
    "max_flagged_rate": lambda: health(completed=20, auto_approved=20, flagged=2),
    "max_stuck": lambda: health(completed=99, stuck=1),
}


def status_text(thresholds: Thresholds, *builds: BuildHealth) -> str:
    controller = RolloutState(
        deployment_name="d",
        thresholds=thresholds,
        watched_build="B",
        health={h.build_id: judge(h, thresholds) for h in builds},
    )
    deployment = DeploymentView(name="d", current_build="A", ramping_build="B", ramp_percent=50)
    blocks = rollout_status_blocks(RolloutStatus(deployment=deployment, controller=controller))
    return json.dumps(blocks, ensure_ascii=False)


def test_every_limit_has_a_breaking_case() -> None:
    assert set(BREAKS) == set(Thresholds.declared_limits()), "add a build that breaks it to BREAKS"


@pytest.mark.parametrize("field", list(Thresholds.declared_limits()))
def test_each_limit_is_enforced_with_the_bound_that_is_shown(field: str) -> None:
    limit = Thresholds.declared_limits()[field]
    assert field in BREAKS, f"add a build that breaks {field} to BREAKS"
    broken = BREAKS[field]()
    judged = judge(broken, Thresholds())
    assert judged.verdict is Verdict.FAIL
    assert any(p.startswith(limit.label + " ") for p in judged.problems), judged.problems
    # Enforcement reads this field: loosen only it and this limit's problem goes away.
    loose = 0.0 if limit.comparison is Comparison.AT_LEAST else 1e9
    loosened = Thresholds().model_copy(update={field: loose})
    assert not any(p.startswith(limit.label + " ") for p in judge(broken, loosened).problems)
    # The display shows the same limit with the same bound, for defaults and moved bounds.
    for thresholds in (Thresholds(), MOVED):
        shown = status_text(thresholds, broken)
        bound = getattr(thresholds, field)
        # Shown in mrkdwn, where "<" and ">" are escaped.
        assert escape(f"{limit.label} {limit.comparison} {limit.unit.show(bound)}") in shown


def test_the_flagged_rate_is_shown_among_the_limits() -> None:
    # It was enforced but missing from the display once.
    assert "auto-approvals flagged as wrong &lt;= 7%" in status_text(MOVED)  # mrkdwn-escaped
    assert "at least 4 finished requests" in status_text(MOVED)


numbers = st.integers(min_value=0, max_value=60)


@given(
    completed=numbers,
    failed=numbers,
    running=numbers,
    stuck=st.integers(min_value=0, max_value=5),
    auto_approved=numbers,
    flagged=numbers,
    p99=st.none() | st.floats(min_value=0, max_value=100),
    moved=st.booleans(),
)
def test_every_problem_is_a_shown_limit(
    completed: int,
    failed: int,
    running: int,
    stuck: int,
    auto_approved: int,
    flagged: int,
    p99: float | None,
    moved: bool,
) -> None:
    """Whatever the numbers: the verdict fails exactly when a shown limit is broken, and every
    problem it reports (apart from 'too few requests') names a limit shown in the status."""
    thresholds = MOVED if moved else Thresholds()
    build = health(
        completed=completed,
        failed=failed,
        running=running,
        stuck=stuck,
        auto_approved=auto_approved,
        flagged=min(flagged, auto_approved),
        p99_seconds=p99,
    )
    judged = judge(build, thresholds)
    if judged.verdict is Verdict.INCONCLUSIVE:
        return
    shown = status_text(thresholds, build)
    shown_labels = [
        limit.label
        for limit, bound in thresholds.limits()
        if escape(limit.describe(bound)) in shown
    ]
    assert len(shown_labels) == len(Thresholds.declared_limits())
    for problem in judged.problems:
        assert any(problem.startswith(label + " ") for label in shown_labels), problem
    broken = [
        limit.label
        for limit, bound in thresholds.limits()
        if (value := limit.observed(judged)) is not None and not limit.allows(value, bound)
    ]
    assert (judged.verdict is Verdict.FAIL) == bool(broken)
    assert len(judged.problems) == len(broken)


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        (Unit.PERCENT, 0.05, "5%"),
        (Unit.PERCENT, 0.054, "5.4%"),
        (Unit.PERCENT, 1.0, "100%"),
        (Unit.SECONDS, 30.0, "30 s"),
        (Unit.SECONDS, 31.04, "31.04 s"),
        (Unit.COUNT, 2, "2"),
    ],
)
def test_units_read_as_ops_expect(unit: Unit, value: float, text: str) -> None:
    assert unit.show(value) == text


def test_the_monitor_defaults_are_defined_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INTERVAL_SECONDS", "MIN_SAMPLE", "FAILURE_LIMIT"):
        monkeypatch.delenv(f"PURCHASEBOT_MONITOR_{name}", raising=False)
    assert Settings().monitor_overrides == {}  # no default of its own: Thresholds' apply
    monkeypatch.setenv("PURCHASEBOT_MONITOR_INTERVAL_SECONDS", "10")
    thresholds = Thresholds.model_validate(Settings().monitor_overrides)
    assert thresholds == Thresholds(check_interval_seconds=10)


def test_the_window_is_five_minutes_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """The design's window (the last 5 minutes) and the decision sample, both settings."""
    for name in ("WINDOW_SECONDS", "MIN_DECISION_SAMPLE"):
        monkeypatch.delenv(f"PURCHASEBOT_MONITOR_{name}", raising=False)
    defaults = Thresholds.model_validate(Settings().monitor_overrides)
    assert (defaults.window_seconds, defaults.min_decision_sample) == (300, 10)
    assert "over the last 300 s" in describe_limits(defaults)
    monkeypatch.setenv("PURCHASEBOT_MONITOR_WINDOW_SECONDS", "60")
    monkeypatch.setenv("PURCHASEBOT_MONITOR_MIN_DECISION_SAMPLE", "25")
    thresholds = Thresholds.model_validate(Settings().monitor_overrides)
    assert thresholds == Thresholds(window_seconds=60, min_decision_sample=25)
    assert "over the last 60 s" in status_text(thresholds)


def test_a_controller_state_stored_before_the_limit_model_still_decodes() -> None:
    """The rollout controller's state is stored in Temporal: a new limit needs a default."""
    stored = {
        "deployment_name": "d",
        "thresholds": {
            "max_error_rate": 0.05,
            "max_p99_seconds": 30.0,
            "min_success_rate": 0.95,
            "max_flagged_rate": 0.05,
            "min_sample": 5,
            "failure_limit": 3,
            "check_interval_seconds": 60.0,
        },
        "health": {
            "B": {
                "build_id": "B",
                "checked_at": "2026-11-28T00:00:00Z",
                "completed": 9,
                "failed": 1,
                "error_rate": 0.1,
                "success_rate": 0.9,
                "verdict": "fail",
                "problems": ["error rate 10% > 5%"],
            }
        },
    }
    state = RolloutState.model_validate(stored)
    assert state.thresholds == Thresholds(check_interval_seconds=60.0)
    assert state.health["B"].error_rate == 0.1
    assert "error rate &lt;= 5%" in status_text(state.thresholds, state.health["B"])  # mrkdwn


def test_every_monitor_setting_is_a_process_setting_with_bounds() -> None:
    """One list: the Thresholds fields a process sets, each with its environment variable."""
    assert set(MONITOR_FIELDS) == set(MONITOR_SETTINGS) == set(MONITOR_ENV)
    assert MONITOR_ENV["window_seconds"] == "PURCHASEBOT_MONITOR_WINDOW_SECONDS"
    for name in MONITOR_SETTINGS:
        with pytest.raises(ValueError, match=f"{name} = -1"):
            Thresholds().with_settings({name: -1})


def test_monitor_settings_apply_over_the_other_limits() -> None:
    strict = Thresholds(max_error_rate=0.01)
    changed = strict.with_settings({"window_seconds": 60, "min_sample": 2})
    assert (changed.window_seconds, changed.min_sample, changed.max_error_rate) == (60, 2, 0.01)
    with pytest.raises(ValueError, match=r"min_sample = 2\.5: Input should be a valid integer"):
        strict.with_settings({"min_sample": 2.5})
    with pytest.raises(ValueError, match="Not monitor settings: max_error_rate"):
        strict.with_settings({"max_error_rate": 0.5})  # a limit, not a process setting
    assert settings_change(strict.settings(), changed.settings()) == (
        "min_sample 5 -> 2, window_seconds 300 -> 60"
    )
