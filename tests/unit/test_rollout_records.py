"""Who is named how in Slack, and which build a rollback goes to (the controller's records)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.actors import mention
from domain.rollout_models import BuildRecord, RolloutState, Verdict

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
