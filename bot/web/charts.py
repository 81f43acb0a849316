"""The web dashboard's charts, from the same facts and the same `build_dashboard` as
`GET /api/dashboard`: a day's auto-approval rate is the dashboard of that day's requests."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta

from bot.insight.dashboard import Dashboard, Period, RolloutFigures, build_dashboard
from bot.insight.facts import RequestFacts
from bot.web.svg import Bar, Chart, rate_bars
from domain.rollout_models import BuildHealth

# Up to this many days a bar is a day; a longer period has a bar per week.
MAX_DAILY_BARS = 62
# Review times (seconds from filing to the review's verdict), in buckets a person reads at once.
REVIEW_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 s", 1),
    ("1-5 s", 5),
    ("5-30 s", 30),
    ("30 s-2 min", 120),
    ("2-10 min", 600),
    ("10 min-1 h", 3600),
)
OVER_LAST_BUCKET = "> 1 h"
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


def auto_approval_per_day(
    period: Period, requests: Sequence[RequestFacts], rollout: RolloutFigures
) -> Chart:
    spans = buckets(period)
    starts = [start for _, start, _ in spans]
    # One pass over the requests (a period can hold 100,000): each to its day by bisection.
    by_day: list[list[RequestFacts]] = [[] for _ in spans]
    for request in requests:
        index = bisect_right(starts, request.filed_at) - 1
        if index >= 0 and request.filed_at < spans[index][2]:
            by_day[index].append(request)
    bars = []
    for (label, start, end), day in zip(spans, by_day, strict=True):
        figures = build_dashboard(
            Period(since=start, until=end, department=period.department), day, rollout
        )
        bars.append((label, figures.automated_review_metrics.auto_approval_rate))
    unit = "auto-approved / reviewed, by filing day"
    return Chart("Auto-approval rate per day", rate_bars(bars), 1.0, unit)


def auto_approval_per_department(dashboard: Dashboard) -> Chart:
    bars = rate_bars(
        [(name, dept.auto_approval) for name, dept in dashboard.department_breakdown.items()]
    )
    return Chart("Auto-approval rate per department", bars, 1.0, "auto-approved / reviewed")


def review_time_distribution(requests: Sequence[RequestFacts]) -> Chart:
    counts = dict.fromkeys([label for label, _ in REVIEW_BUCKETS] + [OVER_LAST_BUCKET], 0)
    for request in requests:
        if request.review_seconds is None:
            continue
        label = next(
            (name for name, upper in REVIEW_BUCKETS if request.review_seconds < upper),
            OVER_LAST_BUCKET,
        )
        counts[label] += 1
    bars = tuple(Bar(label, float(n), str(n)) for label, n in counts.items())
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
