"""Events: the App Home tab (bot/slack/home.py), published afresh each time it is opened."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import BotDeps
from bot.slack.home import HomeTab

SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    home = HomeTab(deps)

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab: nothing to publish
        user = str(event.get("user") or "")
        # After the ack: the figures and the approvals' status queries may take seconds.
        deps.after_ack.schedule(home.publish(client, user), f"App Home for {user}")
