"""Who is named how in Slack, and which build a rollback goes to (the controller's records)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from activities.worker_deployments import DeploymentView, VersionView
from bot.rollout_admin import RolloutStatus
from bot.slack.rollout_blocks import rollout_status_blocks
from domain.actors import mention
from domain.rollout_models import BuildRecord, DepartmentTarget, RolloutState, Verdict

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_only_slack_users_are_mentioned() -> None:
    assert mention("UOLIVIA") == "<@UOLIVIA>"
    assert mention("monitor") == "The monitor"
    assert mention("api:ops-1") == "`api:ops-1` (API)"
    assert mention("cli:deploy") == "`cli:deploy` (CLI)"
    assert mention("plan") == "`plan`"
    assert mention("api:<!channel>") == "`api:&lt;!channel&gt;` (API)"


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_rollback_goes_to_the_last_build_healthy_as_current() -> None:
    state = RolloutState(
        deployment_name="d",
        builds={
            "A": BuildRecord(build_id="A", was_current=True, current_until=at(10)),
            # Current after A, but its last check as current failed.
            "B": BuildRecord(
                build_id="B",
                was_current=True,
                current_since=at(10),
                current_until=at(20),
                verdict_as_current=Verdict.FAIL,
            ),
            # Rolled back from while ramping: never current.
            "X": BuildRecord(build_id="X", rolled_back_at=at(5)),
            "C": BuildRecord(build_id="C", was_current=True, current_since=at(20)),
        },
    )
    assert state.healthy_builds(at(30)) == ["C", "A"]
    # Rolled back from after it last became current: not healthy; made current again after
    # the rollback (override): healthy again.
    state.builds["C"].rolled_back_at = at(25)
    assert state.healthy_builds(at(30)) == ["A"]
    state.builds["C"].current_since = at(26)
    assert state.healthy_builds(at(30)) == ["C", "A"]


def test_status_shows_the_department_rollout_and_where_a_rollback_goes() -> None:
    state = RolloutState(
        deployment_name="d",
        watched_build="B",
        department=DepartmentTarget(build_id="B", department="IT", since=at(0)),
        builds={"A": BuildRecord(build_id="A", was_current=True, current_since=at(-60))},
    )
    view = DeploymentView("d", "A", None, 0.0, [VersionView("A", "current")])
    shown = json.dumps(rollout_status_blocks(RolloutStatus(deployment=view, controller=state)))
    assert "*Department rollout:* `B` gets every new request of IT" in shown
    assert "Watching `B` on department IT's requests" in shown
    assert "a rollback goes to the first that is not current): `A`" in shown
