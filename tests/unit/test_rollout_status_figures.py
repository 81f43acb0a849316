"""`/rollout status` and `purchasebot rollout status` show the window's figures (what the verdict
judges) and the ramp-to-date figures beside them: a late regression fails the window while the
to-date numbers still look healthy, and ops must see both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activities.worker_deployments import DeploymentView
from bot.rollout_admin import RolloutStatus
from bot.rollout_cli import status_text
from bot.slack.rollout_blocks import health_line
from domain.build_health import judge
from domain.rollout_models import BuildHealth, RampToDate, RolloutState, Thresholds, Verdict

SINCE = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
CHECKED = SINCE + timedelta(hours=1)


def late_regression() -> BuildHealth:
    """An hour of healthy traffic, then a window of failures."""
    window = BuildHealth(
        build_id="B",
        checked_at=CHECKED,
        completed=4,
        failed=6,
        running=1,
        window_since=CHECKED - timedelta(minutes=5),
        to_date=RampToDate(since=SINCE, completed=400, failed=6, running=1),
    )
    return judge(window, Thresholds())


def test_the_window_fails_while_the_ramp_to_date_would_pass() -> None:
    health = late_regression()
    assert health.verdict is Verdict.FAIL
    assert health.to_date is not None
    to_date = health.to_date.failed / (health.to_date.completed + health.to_date.failed)
    assert to_date <= Thresholds().max_error_rate


def test_slack_status_shows_the_window_and_the_ramp_to_date() -> None:
    line = health_line(late_regression())
    window, _, to_date = line.partition("Ramp to date")
    assert "4 completed, 6 failed, 1 running" in window
    assert "error rate 60%" in window
    assert to_date, line
    assert "400 completed, 6 failed, 1 running" in to_date
    assert str(int(SINCE.timestamp())) in to_date  # since the rollout began (a Slack date)


def test_cli_status_shows_the_window_and_the_ramp_to_date() -> None:
    controller = RolloutState(
        deployment_name="d", watched_build="B", health={"B": late_regression()}
    )
    deployment = DeploymentView(name="d", current_build="A", ramping_build="B", ramp_percent=100)
    text = status_text(RolloutStatus(deployment=deployment, controller=controller))
    lines = text.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("Health of B: fail"))
    assert "error rate 60% > 5%" in lines[verdict]
    assert "window since 09:55:00 UTC: 4 completed, 6 failed, 1 running" in lines[verdict + 1]
    assert (
        "ramp to date since 2026-11-28 09:00:00 UTC: 400 completed, 6 failed, 1 running"
        in lines[verdict + 2]
    )
