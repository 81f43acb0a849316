"""Signing in to `/dashboard` over real HTTP (aiohttp's test server), fast: every refusal
happens before any figure is read, so the dashboard's source is never reached here (a source
that is asked anything fails the test). The signed-in page is in tests/integration and the
browser test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.api.tokens import ApiTokens, Role
from bot.insight.source import DashboardSource
from bot.rollout_admin import RolloutAdmin
from bot.web.auth import Viewer, WebAuth
from bot.web.links import DashboardLinks
from bot.web.routes import COOKIE, DashboardWeb

FINANCE = "finance-token-0123456789"
INTEGRATION = "integration-token-0123456789"
KEY = b"k" * 32
TOKENS = ApiTokens.parse(f"{FINANCE}:finance,{INTEGRATION}:integration")


class Untouchable:
    """Stands where the dashboard's source and rollout admin go: nothing may be asked."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the figures were read ({name}) before signing in was settled")


@pytest_asyncio.fixture
async def http() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    DashboardWeb(
        WebAuth(TOKENS, KEY),
        cast(DashboardSource, Untouchable()),
        cast(RolloutAdmin, Untouchable()),
        lambda: {"IT"},
    ).add_routes(app)
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_no_credentials_is_401_with_how_to_sign_in(
    http: TestClient[web.Request, web.Application],
) -> None:
    answer = await http.get("/dashboard")
    page = await answer.text()
    assert answer.status == 401 and answer.content_type == "text/html"
    assert "/purchase dashboard" in page and "token" in page


async def test_a_wrong_token_is_401_and_a_wrong_role_403(
    http: TestClient[web.Request, web.Application],
) -> None:
    answer = await http.get("/dashboard", headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert answer.status == 401
    answer = await http.get("/dashboard", headers={"Authorization": f"Bearer {INTEGRATION}"})
    assert answer.status == 403
    assert "`integration` cannot see the dashboard" in await answer.text()
    assert "it needs one of: auditor, finance, ops" in await answer.text()
    # A token in the address with a role that may not see it: a session, then the 403.
    answer = await http.get(f"/dashboard?token={INTEGRATION}", allow_redirects=True)
    assert answer.status == 403


async def test_a_token_in_the_address_becomes_an_httponly_cookie(
    http: TestClient[web.Request, web.Application],
) -> None:
    answer = await http.get(f"/dashboard?since=2026-11-01&token={FINANCE}", allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/dashboard?since=2026-11-01"
    cookie = answer.cookies[COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/dashboard" and cookie["samesite"] == "Lax"
    assert FINANCE not in cookie.value


async def test_an_expired_or_forged_login_link_is_refused(
    http: TestClient[web.Request, web.Application],
) -> None:
    viewer = Viewer("slack:UFIONA", Role.FINANCE)
    past = datetime.now(UTC) - timedelta(minutes=6)
    expired = DashboardLinks(WebAuth(TOKENS, KEY, lambda: past), "").login_url(viewer)
    answer = await http.get(expired, allow_redirects=False)
    assert answer.status == 401 and "This login link has expired" in await answer.text()
    assert COOKIE not in answer.cookies
    forged = DashboardLinks(WebAuth(TOKENS, b"x" * 32), "").login_url(viewer)
    answer = await http.get(forged, allow_redirects=False)
    assert answer.status == 401 and "Not a valid login link" in await answer.text()
    fresh = DashboardLinks(WebAuth(TOKENS, KEY), "").login_url(viewer)
    answer = await http.get(fresh, allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/dashboard"
    assert COOKIE in answer.cookies


async def test_an_expired_session_is_refused(
    http: TestClient[web.Request, web.Application],
) -> None:
    past = datetime.now(UTC) - timedelta(hours=9)
    old = WebAuth(TOKENS, KEY, lambda: past).session(Viewer("slack:UFIONA", Role.FINANCE))
    answer = await http.get("/dashboard", headers={"Cookie": f"{COOKIE}={old}"})
    assert answer.status == 401 and "Your session has ended" in await answer.text()
