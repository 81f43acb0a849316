"""The HTTP API on the bot's own port, beside Slack's endpoint, as the bot serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bot.api.tokens import Role
from tests.integration.slack_world import API_TOKENS, SlackWorld, slack_world


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


async def api(
    sw: SlackWorld, method: str, path: str, role: Role | None = Role.OPS, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {API_TOKENS[role]}"} if role else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, sw.api_url + path, headers=headers, **kwargs) as response,
    ):
        return response.status, await response.json()


async def test_the_bot_serves_the_api_and_its_openapi_document_on_its_port(
    sw: SlackWorld,
) -> None:
    assert await api(sw, "GET", "/whoami", Role.INTEGRATION) == (
        200,
        {"name": "integration-4", "role": "integration"},
    )
    status, answer = await api(sw, "GET", "/whoami", role=None)
    assert (status, answer["error"]) == (401, "unauthorized")
    status, doc = await api(sw, "GET", "/openapi.json", role=None)
    assert status == 200 and "/api/whoami" in doc["paths"]
    # Slack's endpoint is still there, and still refuses what is not signed.
    async with aiohttp.ClientSession() as http, http.post(sw.bot_url, data=b"x") as response:
        assert response.status == 401
