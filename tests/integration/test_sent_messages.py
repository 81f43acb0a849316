"""Exactly-once messages against the local workspace: a retry reuses a message already sent
under its key, and an installation without the history scopes still gets its messages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.notifier import SlackNotifier
from domain.models import MessageInput, MessageKind
from slack_workspace import LocalSlackWorkspace
from slack_workspace.scopes import scopes_from_manifest
from tests.integration.world import REPO

NOTICE = MessageInput(
    kind=MessageKind.NOTICE, key="purchase-PR-K5QW2XH7RTB3M:notice", recipient="UNICO", text="hi"
)


async def workspace(scopes: frozenset[str]) -> LocalSlackWorkspace:
    ws = LocalSlackWorkspace(REPO / "directory.yaml", scopes=scopes)
    await ws.start()
    return ws


@pytest_asyncio.fixture
async def granted() -> AsyncIterator[LocalSlackWorkspace]:
    ws = await workspace(scopes_from_manifest(REPO / "manifest.yaml"))
    yield ws
    await ws.stop()


@pytest_asyncio.fixture
async def no_history_scopes() -> AsyncIterator[LocalSlackWorkspace]:
    scopes = scopes_from_manifest(REPO / "manifest.yaml") - {"im:history", "channels:history"}
    ws = await workspace(scopes)
    yield ws
    await ws.stop()


def notifier(ws: LocalSlackWorkspace) -> SlackNotifier:
    return SlackNotifier(AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), build_id="b")


def sent_to_nico(ws: LocalSlackWorkspace) -> int:
    channel = ws.dm_channel("UNICO", ws.bot_user_id)
    return len([m for m in ws.messages(channel) if m.user == ws.bot_user_id])


async def test_a_retry_reuses_the_message_sent_under_its_key(granted: LocalSlackWorkspace) -> None:
    slack = notifier(granted)
    first = await slack.send_once(NOTICE, retrying=False)
    again = await slack.send_once(NOTICE, retrying=True)
    assert again == first and sent_to_nico(granted) == 1
    other = NOTICE.model_copy(update={"key": "purchase-PR-K5QW2XH7RTB3M:other"})
    assert await slack.send_once(other, retrying=True) != first
    assert sent_to_nico(granted) == 2


async def test_without_the_history_scopes_a_retry_still_sends(
    no_history_scopes: LocalSlackWorkspace, caplog: pytest.LogCaptureFixture
) -> None:
    await notifier(no_history_scopes).send_once(NOTICE, retrying=True)
    assert sent_to_nico(no_history_scopes) == 1
    assert "missing_scope" in caplog.text
