"""The Slack front end against people who misbehave and requests that are not what they seem:
markup in what people type, repeated deliveries, unsigned or malformed bodies, ids in use."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.models import Stage
from domain.refusal import Refused
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.world import poll_until

BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books
TYPED = "<https://evil.example/approve|the approved quote> <!channel> *APPROVED BY CFO*"


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


def slack_escaped(typed: str) -> str:
    """What Slack sends for what a person typed."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def post(
    sw: SlackWorld,
    body: str | bytes,
    *,
    secret: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """POST to the bot's /slack/events, signed with `secret` (unsigned when None)."""
    sent = dict(headers or {})
    sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if secret is not None:
        timestamp = str(int(time.time()))
        raw = body.encode() if isinstance(body, str) else body
        digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + raw, "sha256")
        sent |= {
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={digest.hexdigest()}",
        }
    async with aiohttp.ClientSession() as http, http.post(sw.bot_url, data=body, headers=sent) as r:
        return r.status, await r.text()


def requests_started(sw: SlackWorld) -> str:
    return f"TaskQueue = '{sw.world.settings.task_queue}'"


async def test_markup_typed_in_a_justification_reaches_the_approver_as_text(
    sw: SlackWorld,
) -> None:
    result = await sw.send_command(
        "UNICO", "/purchase", f"{BOOK_URL} 39.90 1 {slack_escaped(TYPED)}"
    )
    assert result.ok, result
    filed = await sw.ephemeral_to("UNICO", "filed")
    request_id = filed.text.split("`")[1]
    message = await sw.bot_message_to("UCARLOS", request_id)

    shown = [
        field["text"]
        for block in message.blocks or []
        for field in block.get("fields", [])
        if field["type"] == "plain_text"
    ]
    assert shown == [TYPED]  # exactly the characters typed, as plain text
    mrkdwn = [message.text] + [
        part["text"]
        for block in message.blocks or []
        for part in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]
        if isinstance(part, dict) and part.get("type") == "mrkdwn"
    ]
    for text in mrkdwn:  # nowhere is the typed markup live mrkdwn
        assert "<!channel>" not in text and "<https://evil" not in text, text


async def test_a_redelivered_command_files_one_request(sw: SlackWorld) -> None:
    first = await sw.send_command("UNICO", "/purchase", f"{BOOK_URL} 39.90 1 team book")
    assert first.ok
    await sw.ephemeral_to("UNICO", "filed")
    # Slack delivers the same command again after a slow ack: same body, X-Slack-Retry-Num.
    body = urlencode(first.payload)
    for retry in (1, 2):
        status, _ = await post(
            sw,
            body,
            secret=sw.ws.signing_secret,
            headers={"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"},
        )
        assert status == 200

    async def answered_three_times() -> bool:
        replies = [m for m in sw.ws.messages_for("UNICO") if m.ephemeral_to and "filed" in m.text]
        return len(replies) == 3

    await poll_until(answered_three_times, 10, "an answer to each delivery")
    assert (await sw.world.client.count_workflows(requests_started(sw))).count == 1


async def test_unsigned_garbage_gets_401_and_a_few_short_log_lines(
    sw: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    garbage: list[str | bytes] = [
        "payload=%7Bnot json",
        "payload=" + "A" * 32,
        b"\xff\xfe\x00garbage",
        "",
        "command=/purchase&text=x",
    ]
    forged = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"}
    started = time.monotonic()
    for i in range(200):
        status, text = await post(sw, garbage[i % len(garbage)], headers=forged if i % 2 else None)
        assert status == 401 and "Traceback" not in text
    assert time.monotonic() - started < 10
    # Signed but unreadable: 400, still no traceback.
    assert (await post(sw, "payload=%7Bnot json", secret=sw.ws.signing_secret))[0] == 400
    assert (await post(sw, b"\xff\xfe", secret=sw.ws.signing_secret))[0] == 400

    gate = [r for r in caplog.records if r.name == "bot.slack.request_gate"]
    assert 1 <= len(gate) <= 2, [r.getMessage() for r in gate]
    assert all(r.exc_info is None and len(r.getMessage()) < 200 for r in gate)
    assert not [r for r in caplog.records if r.exc_info is not None]
    assert (await sw.world.client.count_workflows(requests_started(sw))).count == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "view_submission", "view": {"callback_id": "purchase_modal"}},
        {
            "type": "view_submission",
            "user": {"id": "UNICO"},
            "view": {"callback_id": "purchase_modal", "id": "V1", "state": "x"},
        },
        {
            "type": "view_submission",
            "user": {"id": "UCARLOS"},
            "view": {"callback_id": "reject_reason_modal", "id": "V2", "private_metadata": 7},
        },
        {"type": "block_actions", "actions": [{"action_id": "approve_request"}]},
        {
            "type": "block_actions",
            "user": {"id": "UCARLOS"},
            "actions": [{"action_id": "reject_request", "value": "PR-AAAAAAAA"}],
        },
    ],
)
async def test_signed_but_malformed_payloads_get_an_answer_not_a_500(
    sw: SlackWorld, payload: dict[str, Any]
) -> None:
    body = urlencode({"payload": json.dumps(payload)})
    status, text = await post(sw, body, secret=sw.ws.signing_secret)
    assert status == 200, text
    assert "Traceback" not in text
    if payload["type"] == "view_submission":
        answer = json.loads(text)
        assert answer["response_action"] in ("errors", "update"), answer


async def test_an_id_in_use_is_refused_never_joined(sw: SlackWorld) -> None:
    first = await sw.send_command("UNICO", "/purchase", f"{BOOK_URL} 39.90 1 team book")
    assert first.ok
    filed = await sw.ephemeral_to("UNICO", "filed")
    request_id = filed.text.split("`")[1]
    await sw.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)

    # Bob's request happens to get the same id (a collision): he is told, nothing is joined.
    with pytest.raises(Refused, match="already in use"):
        await sw.world.service.submit(
            requester="UBOB", url=BOOK_URL, amount="39.90", request_id=request_id
        )
    status = await sw.world.service.status(request_id)
    assert status.request.requester == "UNICO"
    # The same person's repeated delivery finds their own request.
    again = await sw.world.service.submit(
        requester="UNICO", url=BOOK_URL, amount="39.90", request_id=request_id
    )
    assert again.already_filed
    assert (await sw.world.client.count_workflows(requests_started(sw))).count == 1
