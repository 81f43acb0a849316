"""Property: whatever text arrives in `/purchase`, the purchase form or any button's value, the
bot answers 200 with a clear message for the person; never a 500, never a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.testing import WorkflowEnvironment

from bot.slack import blocks
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_slack_abuse import post, slack_escaped

BUTTONS = (blocks.APPROVE_ACTION, blocks.REJECT_ACTION, blocks.FLAG_WRONG_ACTION)


class Replies:
    """A stand-in for Slack's response URLs: collects what the bot posts to each."""

    def __init__(self) -> None:
        self.received: dict[str, dict[str, Any]] = {}
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def reply(request: web.Request) -> web.Response:
            self.received[request.match_info["key"]] = await request.json()
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/r/{key}", reply)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/r/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait(self, key: str, within: float = 10) -> dict[str, Any]:
        for _ in range(int(within / 0.02)):
            if key in self.received:
                return self.received[key]
            await asyncio.sleep(0.02)
        raise AssertionError(f"no reply to {key} within {within}s")


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


@pytest_asyncio.fixture
async def replies() -> AsyncIterator[Replies]:
    collector = Replies()
    await collector.start()
    yield collector
    await collector.stop()


def assert_clear(message: str) -> None:
    assert message.strip(), "an empty answer"
    for sign_of_a_crash in ("Traceback", "Exception", blocks.SOMETHING_WENT_WRONG):
        assert sign_of_a_crash not in message, message


def payload_text(answer: dict[str, Any]) -> str:
    return str(answer.get("text", "")) + " " + json.dumps(answer.get("blocks", []))


async def command(sw: SlackWorld, replies: Replies, text: str) -> None:
    key = uuid.uuid4().hex
    body = urlencode(
        {
            "token": "x",
            "team_id": "T1",
            "user_id": "UNICO",
            "channel_id": sw.dm("UNICO"),
            "command": "/purchase",
            "text": slack_escaped(text),
            "response_url": replies.url + key,
            "trigger_id": uuid.uuid4().hex,
        }
    )
    status, ack = await post(sw, body, secret=sw.ws.signing_secret)
    assert status == 200, ack
    if ack.strip():  # help and usage answer in the ack itself
        assert_clear(ack)
    else:
        assert_clear(payload_text(await replies.wait(key)))


async def form(sw: SlackWorld, text: str) -> None:
    values = {
        block: {"value": {"type": "plain_text_input", "value": text}}
        for block in (blocks.URL_BLOCK, blocks.AMOUNT_BLOCK, blocks.QUANTITY_BLOCK)
    }
    values[blocks.JUSTIFICATION_BLOCK] = {"value": {"type": "plain_text_input", "value": text}}
    payload = {
        "type": "view_submission",
        "user": {"id": "UNICO"},
        "view": {
            "id": f"V{uuid.uuid4().hex[:10].upper()}",
            "type": "modal",
            "callback_id": blocks.PURCHASE_MODAL,
            "state": {"values": values},
        },
    }
    status, ack = await post(
        sw, urlencode({"payload": json.dumps(payload)}), secret=sw.ws.signing_secret
    )
    assert status == 200, ack
    answer = json.loads(ack)
    assert answer["response_action"] == "errors"
    for message in answer["errors"].values():
        assert_clear(message)


async def button(sw: SlackWorld, replies: Replies, action_id: str, value: str) -> None:
    key = uuid.uuid4().hex
    payload = {
        "type": "block_actions",
        "user": {"id": "UCARLOS"},
        "trigger_id": uuid.uuid4().hex,
        "response_url": replies.url + key,
        "container": {"type": "message", "channel_id": sw.dm("UCARLOS"), "message_ts": "1.2"},
        "message": {
            "ts": "1.2",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": value}}],
        },
        "actions": [
            {"action_id": action_id, "block_id": "decision", "type": "button", "value": value}
        ],
    }
    status, ack = await post(
        sw, urlencode({"payload": json.dumps(payload)}), secret=sw.ws.signing_secret
    )
    assert status == 200, ack
    assert_clear(payload_text(await replies.wait(key)))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.text(max_size=120).filter(lambda t: t.strip() != ""),
    target=st.sampled_from(["command", "form", *BUTTONS]),
)
async def test_any_text_anywhere_gets_a_clear_answer(
    sw: SlackWorld, replies: Replies, caplog: pytest.LogCaptureFixture, text: str, target: str
) -> None:
    caplog.set_level(logging.WARNING)
    if target == "command":
        await command(sw, replies, text)
    elif target == "form":
        await form(sw, text)
    else:
        await button(sw, replies, target, text)
    crashes = [r for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]
    assert not crashes, [r.getMessage() for r in crashes]
