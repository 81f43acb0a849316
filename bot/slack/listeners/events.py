"""Events: the App Home tab shows the person's latest requests and how to use the bot."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.deps import BotDeps
from bot.slack.my_requests import latest_request_lines, latest_requests_block
from domain.refusal import Refused

SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        user = event["user"]
        try:
            mine = latest_requests_block(await latest_request_lines(user, deps))
        except Refused as refused:
            mine = blocks.text(str(refused))
        await client.views_publish(
            user_id=user,
            view={
                "type": "home",
                "blocks": [blocks.header("Purchases"), mine, blocks.text(blocks.USAGE)],
            },
        )
