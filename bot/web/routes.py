"""`GET /dashboard` and `GET /dashboard/login` on the bot's port, beside Bolt's and the API's
routes. Signing in: `Authorization: Bearer <token>`, or `?token=<token>` once (exchanged for an
HttpOnly cookie and dropped from the address), or the login link `/purchase dashboard` sends.
Every failure is a page that says what to do; the token and the link are never logged."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import ValidationError

from bot.api.framework import ApiError, invalid
from bot.insight.api import DASHBOARD_ROLES, DashboardQuery, resolve_period, selection_dashboard
from bot.insight.projection import DashboardWarming
from bot.insight.source import DashboardSource
from bot.rollout_admin import RolloutAdmin
from bot.slack.deps import BotDeps
from bot.web.auth import SESSION_LIFETIME, Expired, Viewer, WebAuth
from bot.web.charts import (
    auto_approval_per_day,
    auto_approval_per_department,
    error_rate_per_build,
    review_time_distribution,
)
from bot.web.links import LOGIN_PATH
from bot.web.page import dashboard_page, message_page

log = logging.getLogger(__name__)

PATH = "/dashboard"
COOKIE = "purchasebot_dashboard"
# A year of requests on one page is plenty; a longer period is refused, not slowly answered.
MAX_PERIOD = timedelta(days=366)
HOW_TO_SIGN_IN = (
    "Type `/purchase dashboard` in Slack for a login link (ops and finance), or open "
    "/dashboard?token=<your API token> once."
)


class Refusal(Exception):
    def __init__(self, status: int, title: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status, self.title, self.message, self.hint = status, title, message, hint


@dataclass(frozen=True)
class DashboardWeb:
    auth: WebAuth
    source: DashboardSource
    rollout: RolloutAdmin
    departments: Callable[[], set[str]]
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def add_routes(self, http: web.Application) -> None:
        http.router.add_get(PATH, _paged(self._dashboard))
        http.router.add_get(LOGIN_PATH, _paged(self._login))

    async def _login(self, request: web.Request) -> web.StreamResponse:
        try:
            viewer = self.auth.from_login_link(request.query.get("link", ""))
        except Expired:
            raise Refusal(
                401,
                "This login link has expired",
                "Login links work for 5 minutes.",
                "Type `/purchase dashboard` in Slack for a new one.",
            ) from None
        if viewer is None:
            raise Refusal(401, "Not a valid login link", "This link was not made by this bot.")
        return self._signed_in(viewer, PATH)

    async def _dashboard(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token is not None:
            viewer = self.auth.from_token(token)
            if viewer is None:
                raise Refusal(401, "Not signed in", "This API token is not valid.", HOW_TO_SIGN_IN)
            # The token leaves the address (history, proxies' logs) at once.
            rest = [(k, v) for k, v in request.query.items() if k != "token"]
            return self._signed_in(viewer, request.rel_url.with_query(rest).path_qs)
        viewer = self._viewer(request)
        if viewer.role not in DASHBOARD_ROLES:
            allowed = ", ".join(sorted(r.value for r in DASHBOARD_ROLES))
            raise Refusal(
                403,
                "Not allowed",
                f"Your role `{viewer.role.value}` cannot see the dashboard; it needs one of: "
                f"{allowed}.",
            )
        return web.Response(content_type="text/html", text=await self._render(request, viewer.name))

    def _viewer(self, request: web.Request) -> Viewer:
        scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer.strip():
            viewer = self.auth.from_token(bearer.strip())
            if viewer is None:
                raise Refusal(401, "Not signed in", "This API token is not valid.", HOW_TO_SIGN_IN)
            return viewer
        cookie = request.cookies.get(COOKIE)
        if cookie is None:
            raise Refusal(
                401, "Not signed in", "The dashboard needs you to sign in.", HOW_TO_SIGN_IN
            )
        try:
            found = self.auth.from_session(cookie)
        except Expired:
            found = None
        if found is None:
            raise Refusal(401, "Signed out", "Your session has ended.", HOW_TO_SIGN_IN)
        return found

    def _signed_in(self, viewer: Viewer, then: str) -> web.StreamResponse:
        answer = web.Response(status=303, headers={"Location": then})
        answer.set_cookie(
            COOKIE,
            self.auth.session(viewer),
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path=PATH,
            httponly=True,
            samesite="Lax",
        )
        return answer

    async def _render(self, request: web.Request, viewer: str) -> str:
        # An empty form field means "the default", as if it were absent.
        given = {k: v for k, v in request.query.items() if v.strip()}
        try:
            query = DashboardQuery.model_validate(given)
            period = resolve_period(query, self.departments(), self.now())
        except ValidationError as err:
            raise _bad_input(invalid(err, "Query")) from None
        except ApiError as err:
            raise _bad_input(err) from None
        if period.until - period.since > MAX_PERIOD:
            raise Refusal(400, "Period too long", "Choose a period of at most 366 days.")
        try:
            selection, figures = await self.source.read(
                period.since, period.until, period.department
            )
        except DashboardWarming as warming:
            raise Refusal(
                503, "The dashboard is being built", str(warming), "Reload this page soon."
            ) from None
        dashboard = selection_dashboard(period, selection, figures)
        health = (await self.rollout.status()).controller.health
        charts = [
            auto_approval_per_day(period, selection),
            auto_approval_per_department(dashboard),
            review_time_distribution(selection.totals(period.since, period.until)),
            error_rate_per_build(health),
        ]
        return dashboard_page(dashboard, charts, sorted(self.departments()), viewer)


def dashboard_web(deps: BotDeps, auth: WebAuth) -> DashboardWeb:
    """The web dashboard of the bot whose listeners get `deps`."""
    return DashboardWeb(
        auth,
        deps.dashboard_source(),
        deps.rollout,
        lambda: deps.directory.get().value.departments,
    )


def _bad_input(err: ApiError) -> Refusal:
    return Refusal(400, "Cannot show this period", err.message, "Change the form and try again.")


Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _paged(handler: Page) -> Page:
    async def serve(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Refusal as refusal:
            return web.Response(
                status=refusal.status,
                content_type="text/html",
                text=message_page(refusal.title, refusal.message, refusal.hint),
            )
        except web.HTTPException:
            raise
        except Exception:
            # The path only: the query may carry a token or a login link.
            log.exception("web dashboard %s failed", request.path)
            return web.Response(
                status=500,
                content_type="text/html",
                text=message_page(
                    "Something went wrong", "It has been logged on our side; try again shortly."
                ),
            )

    return serve
