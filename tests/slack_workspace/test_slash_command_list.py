"""The slash commands are listed once, by the Bolt app (`slash_commands()`): the app registers
exactly those, manifest.yaml declares exactly those, and the local workspace `up` starts offers
exactly those."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import yaml
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from appconfig.settings import Settings
from bot.slack.app import build_app, slash_commands
from bot.slack.connection import open_slack
from bot.slack.deps import BotDeps

REPO = Path(__file__).resolve().parents[2]


def test_the_list_is_not_empty_and_has_no_repeats() -> None:
    names = slash_commands()
    assert "/purchase" in names and "/flags" in names
    assert len(set(names)) == len(names)
    assert all(name.startswith("/") for name in names)


def test_the_app_registers_exactly_the_listed_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[str] = []
    register = AsyncApp.command

    def recording(self: AsyncApp, command: Any, *args: Any, **kwargs: Any) -> Any:
        registered.append(command)
        return register(self, command, *args, **kwargs)

    monkeypatch.setattr(AsyncApp, "command", recording)
    # Registration only closes over the dependencies; nothing here uses them.
    build_app(AsyncWebClient(token="xoxb-unused"), "unused", cast(BotDeps, object()))
    assert sorted(registered) == sorted(slash_commands())


def test_the_manifest_declares_exactly_the_listed_commands() -> None:
    manifest = yaml.safe_load((REPO / "manifest.yaml").read_text())
    declared = [entry["command"] for entry in manifest["features"]["slash_commands"]]
    assert sorted(declared) == sorted(slash_commands())


async def test_the_local_workspace_offers_exactly_the_listed_commands(tmp_path: Path) -> None:
    settings = Settings(
        directory=REPO / "directory.yaml",
        data_dir=tmp_path,
        local_slack_port=0,
        slack_bot_token=None,
        slack_signing_secret=None,
        slack_app_token=None,
    )
    async with AsyncExitStack() as stack:
        slack = await open_slack(settings, stack, local=True)
        assert slack.local_workspace_url is not None
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{slack.local_workspace_url}/ui/state", params={"user": "UALICE"}) as got,
        ):
            offered = (await got.json())["commands"]
    assert sorted(offered) == sorted(slash_commands())
