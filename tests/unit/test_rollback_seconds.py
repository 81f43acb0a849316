"""`median_rollback_s`: each rollback's time from the first failed health check of the build
(since traffic last moved to it) to the controller's `rolled_back` event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.insight.dashboard import Period, RolloutFigures, build_dashboard
from bot.insight.rollbacks import rollback_seconds
from domain.models import AuditEntry

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def at(seconds: float, actor: str, action: str, detail: str) -> AuditEntry:
    return AuditEntry(at=T0 + timedelta(seconds=seconds), actor=actor, action=action, detail=detail)


# Three rollouts, as the controller records them (details as in workflows/rollout_controller.py).
EVENTS = [
    # B fails once at 10 %, is ramped again (a new exposure: that failure no longer counts),
    # then fails three times in a row: the monitor rolls back 2.5 s after the first of them.
    at(0, "UOLIVIA", "ramped", "B at 10%"),
    at(5, "monitor", "health_check_failed", "B: error rate 0.5 > 0.05"),
    at(20, "UOLIVIA", "ramped", "B at 20%"),
    at(30, "monitor", "health_check_failed", "B: error rate 0.4 > 0.05"),
    at(31, "monitor", "health_check_failed", "B: error rate 0.4 > 0.05"),
    at(32, "monitor", "health_check_failed", "B: error rate 0.4 > 0.05"),
    at(32.5, "monitor", "rolled_back", "B -> A: 3 failed health checks in a row (0 pinned)"),
    # C is promoted; a check fails; a person rolls back 40 s after that detection.
    at(100, "UOLIVIA", "promoted", "C is current (was A)"),
    at(110, "monitor", "health_check_failed", "C: p99 9.0 s > 2.0 s"),
    at(150, "UOLIVIA", "rolled_back", "C -> A: looks wrong (0 pinned)"),
    # D: rolled back by a person with no failed check: a rollback, but nothing detected.
    at(200, "UOLIVIA", "plan_started", "D: 10%, 50%, 100%"),
    at(230, "UOLIVIA", "rolled_back", "D -> A: not today (0 pinned)"),
]


def test_each_rollback_is_timed_from_its_detection_to_the_previous_build_current() -> None:
    assert rollback_seconds(EVENTS, T0, T0 + timedelta(hours=1)) == (2.5, 40.0)


def test_only_rollbacks_inside_the_period_count() -> None:
    assert rollback_seconds(EVENTS, T0 + timedelta(seconds=100), T0 + timedelta(hours=1)) == (40.0,)
    assert rollback_seconds(EVENTS, T0, T0 + timedelta(seconds=32.5)) == ()


def test_the_dashboard_reports_their_median() -> None:
    period = Period(since=T0, until=T0 + timedelta(hours=1))
    figures = RolloutFigures(
        current_build_id="A",
        rollout_percentage=0.0,
        error_rate=None,
        p99_seconds=None,
        rollbacks=3,
        rollback_seconds=rollback_seconds(EVENTS, period.since, period.until),
    )
    kpis = build_dashboard(period, [], figures).kpis
    assert (kpis.rollbacks, kpis.median_rollback_s) == (3, 21.25)
    nothing = build_dashboard(period, [], RolloutFigures(None, 0.0, None, None, 0)).kpis
    assert nothing.median_rollback_s is None
