"""`/dashboard` on the bot's port, over HTTP: who may see it (the API's tokens and roles), the
token traded for an HttpOnly cookie and dropped from the address, and bad input answered with
a page that says what to change (never a stack trace). The charts are checked in
tests/unit/test_web_charts.py and, in a browser, in tests/browser/test_insight_browser.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bot.api.tokens import Role
from tests.integration.slack_world import API_TOKENS, SlackWorld, slack_world


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


async def get(
    sw: SlackWorld, path: str, *, role: Role | None = None, http: aiohttp.ClientSession
) -> tuple[int, str, aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {API_TOKENS[role]}"} if role else {}
    async with http.get(sw.base_url + path, headers=headers, allow_redirects=False) as answer:
        return answer.status, await answer.text(), answer


async def test_who_may_see_the_web_dashboard_and_how_they_sign_in(sw: SlackWorld) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        status, page, _ = await get(sw, "/dashboard", http=http)
        assert status == 401 and "Not signed in" in page and "/purchase dashboard" in page
        status, page, _ = await get(sw, "/dashboard?token=not-a-valid-token-000", http=http)
        assert status == 401 and "not valid" in page
        status, page, _ = await get(sw, "/dashboard", role=Role.INTEGRATION, http=http)
        assert status == 403 and "`integration` cannot see the dashboard" in page
        for role in (Role.OPS, Role.FINANCE, Role.AUDITOR):
            status, page, _ = await get(sw, "/dashboard", role=role, http=http)
            assert status == 200 and page.count("<svg") == 4, page

        # The token once in the address: a cookie, and the address without it.
        token = API_TOKENS[Role.FINANCE]
        status, _, answer = await get(sw, f"/dashboard?department=IT&token={token}", http=http)
        assert status == 303 and answer.headers["Location"] == "/dashboard?department=IT"
        assert (
            "HttpOnly" in answer.headers["Set-Cookie"] and token not in answer.headers["Set-Cookie"]
        )
        status, page, _ = await get(sw, "/dashboard?department=IT", http=http)
        assert status == 200 and "IT" in page and "Signed in as api:finance-" in page

        # Bad input: the API's own messages, on a page; nothing of Python's internals.
        for query, says in [
            ("since=yesterday", "Query field `since`"),
            ("since=2026-12-02&until=2026-12-01", "must be after"),
            ("department=Astrology", "There is no department `Astrology`"),
            ("since=2020-01-01&until=2026-01-01", "at most 366 days"),
        ]:
            status, page, _ = await get(sw, f"/dashboard?{query}", http=http)
            assert status == 400 and says in page, page
            assert "Traceback" not in page and "pydantic" not in page
