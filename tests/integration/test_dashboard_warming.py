"""A bot that just started reads every request from Temporal before its dashboard is complete
(minutes at 100,000 requests). Meanwhile the API, the web page and the App Home say how far
that build is, instead of keeping the caller waiting for minutes; once it is done, the same
calls answer with the figures. The projection is told to wait 0 s for its first build, so
the first calls meet it still running (a real bot waits `PATIENCE` first)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from temporalio.testing import WorkflowEnvironment

from bot.api.tokens import Role
from bot.insight.projection import RequestsProjection
from tests.integration.slack_world import API_TOKENS, SlackWorld, slack_world
from tests.integration.world import poll_until

BUILDING = "The dashboard is being built after the bot started: "


async def _get(sw: SlackWorld, path: str, role: Role) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {API_TOKENS[role]}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(sw.base_url + path, headers=headers, allow_redirects=False) as answer,
    ):
        return answer.status, await answer.text()


async def test_calls_during_the_first_build_are_told_how_far_it_is(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    projection = RequestsProjection(dev_env.client, patience=timedelta(0))
    async with slack_world(dev_env.client, tmp_path, requests=projection) as sw:
        # The first build waits here, as a long read of 100,000 requests would keep it going.
        async with projection._lock:
            status, text = await _get(sw, "/api/dashboard", Role.FINANCE)
            assert status == 503, text
            assert '"error":"unavailable"' in text and BUILDING in text
            assert "requests read so far. Try again in a minute." in text

            async def counted() -> bool:  # the build counts the requests first
                return " of about " in (await _get(sw, "/api/dashboard", Role.FINANCE))[1]

            await poll_until(counted, 15, "the build's count in the answer")
            status, page = await _get(sw, "/dashboard", Role.FINANCE)
            assert status == 503 and BUILDING in page and "Reload this page soon." in page

            await sw.ws.open_app_home("UOLIVIA")  # ops: the Home has the figures section

            def home() -> dict[str, Any] | None:
                view = sw.ws.home_view("UOLIVIA")
                return view if view is not None and BUILDING in str(view["blocks"]) else None

            await sw.ws.wait_for(home, timeout=15)

        async def built() -> bool:
            return (await _get(sw, "/api/dashboard", Role.FINANCE))[0] == 200

        await poll_until(built, 60, "the first build to finish")
        status, page = await _get(sw, "/dashboard", Role.FINANCE)
        assert status == 200 and BUILDING not in page
