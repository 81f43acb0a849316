"""Events: the App Home tab shows how to use the bot."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.deps import BotDeps

SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [blocks.header("Purchases"), blocks.text(blocks.USAGE)],
            },
        )
