"""The web dashboard's charts, from the same totals as `GET /api/dashboard`: a day's
auto-approval rate is the dashboard's rate of that day's requests (by StartTime, as the period)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta

from bot.insight.dashboard import Dashboard, Period, auto_approval_rate
from bot.insight.source import Selection
from bot.insight.totals import REVIEW_LABELS, Totals
from bot.web.svg import Bar, Chart, rate_bars
from domain.rollout_models import BuildHealth

# Up to this many days a bar is a day; a longer period has a bar per week.
MAX_DAILY_BARS = 62
# The builds shown: the most recently checked ones (the last rollouts).
LAST_BUILDS = 8


def buckets(period: Period) -> list[tuple[str, datetime, datetime]]:
    """(label, start, end) of the days (or weeks) the period spans, clipped to it."""
    start = datetime.combine(period.since.date(), time(), tzinfo=period.since.tzinfo)
    step = timedelta(days=1)
    if (period.until - start) / step > MAX_DAILY_BARS:
        step = timedelta(days=7)
    found = []
    while start < period.until:
        end = start + step
        label = start.strftime("%m-%d") if step.days == 1 else "wk " + start.strftime("%m-%d")
        found.append((label, max(start, period.since), min(end, period.until)))
        start = end
    return found


def auto_approval_per_day(period: Period, selection: Selection) -> Chart:
    bars = [
        (label, auto_approval_rate(selection.totals(start, end)))
        for label, start, end in buckets(period)
    ]
    unit = "auto-approved / reviewed, by filing day"
    return Chart("Auto-approval rate per day", rate_bars(bars), 1.0, unit)


def auto_approval_per_department(dashboard: Dashboard) -> Chart:
    bars = rate_bars(
        [(name, dept.auto_approval) for name, dept in dashboard.department_breakdown.items()]
    )
    return Chart("Auto-approval rate per department", bars, 1.0, "auto-approved / reviewed")


def review_time_distribution(totals: Totals) -> Chart:
    counts = zip(REVIEW_LABELS, totals.review_times, strict=True)
    bars = tuple(Bar(label, float(n), str(n)) for label, n in counts)
    return Chart("Review time", bars, None, "reviewed requests, by seconds from filing to verdict")


def error_rate_per_build(health: Mapping[str, BuildHealth]) -> Chart:
    latest = sorted(health.values(), key=lambda h: h.checked_at)[-LAST_BUILDS:]
    bars = rate_bars([(h.build_id, h.error_rate if h.sample else None) for h in latest])
    return Chart(
        "Error rate per build",
        bars,
        None,
        "the deployment monitor's last check of each recently rolled-out build",
        empty="no build has been checked by the deployment monitor yet",
    )
