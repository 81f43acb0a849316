"""The bot under the Events API: it answers Slack's url_verification, acknowledges
app_home_opened within the deadline (no retries needed) and its views.publish is shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.models import Stage
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_purchase_paths import cheap, price_of


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


async def test_the_bot_passes_url_verification(sw: SlackWorld) -> None:
    assert await sw.ws.verify_request_url()


async def test_opening_the_home_tab_is_acked_once_and_shows_a_home(sw: SlackWorld) -> None:
    # Nico (no history) files a request: it waits for Carlos, and his Home says so, live.
    url = cheap(sw.world, "books")
    submitted = await sw.world.service.submit(
        requester="UNICO", url=url, amount=price_of(sw.world, url)
    )
    request_id = submitted.request.request_id
    await sw.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)
    delivery = await sw.ws.open_app_home("UNICO")
    assert delivery is not None
    await delivery.wait()
    assert delivery.acked and len(delivery.attempts) == 1  # no retry was needed
    home = await sw.ws.wait_for(lambda: sw.ws.home_view("UNICO"), timeout=10)
    assert home["type"] == "home" and home["blocks"]
    shown = str(home["blocks"])
    assert f"`{request_id}` — awaiting approval" in shown and "How to use /purchase" in shown
    assert [c.ok for c in sw.ws.api_calls("views.publish")] == [True]
