"""`GET /api/dashboard`: the design's success figures for the requests filed in a period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from bot.api.framework import ApiCall, ApiError, Endpoint
from bot.api.tokens import Role
from bot.insight.dashboard import Dashboard, Period, RolloutFigures, dashboard_figures
from bot.insight.projection import DashboardWarming
from bot.insight.source import DashboardSource, Selection

DEFAULT_PERIOD = timedelta(days=30)


class DashboardQuery(BaseModel):
    since: datetime | None = Field(
        default=None, description="ISO date or date-time (UTC if no offset); default: until-30d"
    )
    until: datetime | None = Field(
        default=None, description="ISO date or date-time, exclusive; default: now"
    )
    department: str | None = Field(default=None, description="Only this department's requests")


# Who may read the figures: the API endpoint, the web page and the login link alike.
DASHBOARD_ROLES = frozenset({Role.FINANCE, Role.AUDITOR, Role.OPS})


def _instant(value: datetime) -> datetime:
    """A date parses as its midnight; no offset means UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve_period(query: DashboardQuery, departments: set[str], now: datetime) -> Period:
    """The period a query asks for, defaults filled in; ApiError(400) naming the field when it
    cannot be answered (the web page shows the same message)."""
    until = _instant(query.until) if query.until is not None else now
    since = _instant(query.since) if query.since is not None else until - DEFAULT_PERIOD
    if until <= since:
        raise ApiError(
            400,
            f"`until` ({until.isoformat()}) must be after `since` ({since.isoformat()}).",
            field="until",
        )
    if query.department is not None and query.department not in departments:
        known = ", ".join(sorted(departments))
        raise ApiError(
            400,
            f"There is no department `{query.department}`; known: {known}.",
            field="department",
        )
    return Period(since=since, until=until, department=query.department)


async def dashboard_of(source: DashboardSource, period: Period) -> Dashboard:
    """The figures of a period: what the API answers, the App Home and the web page show."""
    selection, rollout = await source.read(period.since, period.until, period.department)
    return selection_dashboard(period, selection, rollout)


def selection_dashboard(period: Period, selection: Selection, rollout: RolloutFigures) -> Dashboard:
    totals = selection.totals(period.since, period.until)
    flagged = selection.flagged(period.since, period.until)
    return dashboard_figures(period, totals, flagged, rollout)


def dashboard_endpoint(
    source: DashboardSource,
    departments: Callable[[], set[str]],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Endpoint:
    async def handle(call: ApiCall) -> Dashboard:
        period = resolve_period(call.query_as(DashboardQuery), departments(), now())
        try:
            return await dashboard_of(source, period)
        except DashboardWarming as warming:
            raise ApiError(503, str(warming)) from None

    return Endpoint(
        "GET",
        "/api/dashboard",
        "Success figures of the requests filed in [since, until)",
        roles=DASHBOARD_ROLES,
        answer=Dashboard,
        handle=handle,
        query=DashboardQuery,
        description="Definitions: README, section 'Dashboard API'. Rates are fractions in "
        "[0, 1]; an undefined rate (0/0) is null. Money is a decimal string with its currency. "
        "503 while the bot's first read of every request after it started is running (minutes "
        "at 100,000 requests); the message says how far it is.",
        errors=(400, 503),
    )
