"""A bad day at Slack, with the real bot, worker and workflows against the local workspace's
injected faults: 429s with Retry-After, answers lost after the message went out, permanent
errors (`channel_not_found`), 500s while a request is cancelled. Every message goes out exactly
once, nobody waits for something that will never happen, refused clicks are audited."""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.models import PurchaseStatus, Stage
from slack_workspace.state import Message
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_slack_abuse import post
from tests.integration.world import poll_until

BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


def bot_messages(sw: SlackWorld, user: str, contains: str) -> list[Message]:
    return [
        m
        for m in sw.ws.messages(sw.dm(user))
        if m.user == sw.ws.bot_user_id and contains in m.text + str(m.blocks)
    ]


async def file_for_nico(sw: SlackWorld, justification: str = "team book") -> str:
    """Nico (no history) files a request that needs his manager."""
    before = {m.ts for m in sw.ws.messages_for("UNICO")}
    result = await sw.ws.send_command("UNICO", "/purchase", f"{BOOK_URL} 39.90 1 {justification}")
    assert result.ok, result
    filed = await sw.ws.wait_for_message(
        lambda m: m.ephemeral_to == "UNICO" and "filed" in m.text and m.ts not in before, 15
    )
    return filed.text.split("`")[1]


async def settled(sw: SlackWorld, request_id: str) -> PurchaseStatus:
    result = await sw.world.service.outcome(request_id, wait_seconds=30)
    assert result is not None, "the request did not finish"
    return result.status


@pytest.mark.parametrize("rate_limits", [1, 3])
async def test_each_message_goes_out_once_through_429s_after_retry_after(
    sw: SlackWorld, rate_limits: int
) -> None:
    await sw.world.import_sample_history()  # Alice's book is auto-approved: outcome + FYI
    for user in ("UALICE", "UCARLOS"):
        sw.ws.inject_fault(
            "chat.postMessage",
            "rate_limited",
            times=rate_limits,
            retry_after=1,
            match={"channel": sw.dm(user)},
        )
    result = await sw.ws.send_command("UALICE", "/purchase", f"{BOOK_URL} 39.90")
    filed = await sw.ephemeral_to("UALICE", "filed")
    request_id = filed.text.split("`")[1]
    assert result.ok and await settled(sw, request_id) is PurchaseStatus.COMPLETED

    await sw.bot_message_to("UALICE", "auto-approved")
    await sw.bot_message_to("UCARLOS", "FYI")
    assert len(bot_messages(sw, "UALICE", "auto-approved")) == 1
    assert len(bot_messages(sw, "UCARLOS", "FYI")) == 1
    # Retried no sooner than Slack asked (Retry-After: 1 s).
    to_alice = [
        c for c in sw.ws.api_calls("chat.postMessage") if c.args.get("channel") == sw.dm("UALICE")
    ]
    assert [c.http_status for c in to_alice] == [429] * rate_limits + [200]
    gaps = [b.at - a.at for a, b in itertools.pairwise(to_alice)]
    assert all(gap >= 0.9 for gap in gaps), gaps


async def test_an_answer_lost_after_the_message_went_out_is_not_sent_again(
    sw: SlackWorld,
) -> None:
    # Slack posts Carlos's approval message but the answer never comes (the activity times out
    # and is retried, as after a worker crash mid-call).
    sw.ws.inject_fault(
        "chat.postMessage", "timeout", seconds=15, apply=True, match={"channel": sw.dm("UCARLOS")}
    )
    request_id = await file_for_nico(sw)
    await sw.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)

    async def asked() -> bool:
        status = await sw.world.service.status(request_id)
        return any(e.action == "approval_requested" for e in status.audit)

    await poll_until(asked, 30, "the approval request to be confirmed")
    assert len(bot_messages(sw, "UCARLOS", request_id)) == 1
    [message] = bot_messages(sw, "UCARLOS", request_id)
    await sw.ws.click_button("UCARLOS", message.channel, message.ts, "approve_request")
    assert await settled(sw, request_id) is PurchaseStatus.COMPLETED


async def test_an_unreachable_approver_escalates_and_the_requester_is_told(
    sw: SlackWorld,
) -> None:
    sw.ws.inject_fault(
        "chat.postMessage",
        "error",
        error="channel_not_found",
        times=5,
        match={"channel": sw.dm("UCARLOS")},
    )
    request_id = await file_for_nico(sw)
    notice = await sw.bot_message_to("UNICO", "now waits for")
    assert "<@UCARLOS>" in notice.text and "<@UHELEN>" in notice.text
    assert "channel_not_found" in notice.text
    message = await sw.bot_message_to("UHELEN", request_id)
    # Carlos was asked once, never again: a permanent error is not retried.
    to_carlos = [
        c for c in sw.ws.api_calls("chat.postMessage") if c.args.get("channel") == sw.dm("UCARLOS")
    ]
    assert len(to_carlos) == 1
    # Helen is now the approver; Carlos is not.
    await sw.ws.click_button("UCARLOS", message.channel, message.ts, "approve_request")
    await sw.ephemeral_to("UCARLOS", "Only the assigned approver (UHELEN)")
    await sw.ws.click_button("UHELEN", message.channel, message.ts, "approve_request")
    assert await settled(sw, request_id) is PurchaseStatus.COMPLETED
    status = await sw.world.service.status(request_id)
    actions = [e.action for e in status.audit]
    assert actions.index("approver_unreachable") < actions.index("escalated")
    assert actions.index("escalated") < actions.index("approval_requested")


async def test_when_nobody_can_be_asked_the_request_ends_with_the_reason(sw: SlackWorld) -> None:
    for approver in ("UCARLOS", "UHELEN", "UOLIVIA"):
        sw.ws.inject_fault(
            "chat.postMessage",
            "error",
            error="account_inactive",
            times=5,
            match={"channel": sw.dm(approver)},
        )
    started = time.monotonic()
    request_id = await file_for_nico(sw)
    assert await settled(sw, request_id) is PurchaseStatus.REJECTED
    assert time.monotonic() - started < 20
    outcome = await sw.bot_message_to("UNICO", "rejected")
    assert "Nobody could be asked to approve it" in outcome.text + str(outcome.blocks)
    alert = await sw.ws.wait_for_message(
        lambda m: "could not reach an approver" in m.text and request_id in m.text, 15
    )
    assert alert is not None


async def test_a_cancel_ends_the_request_while_the_approval_message_keeps_failing(
    sw: SlackWorld,
) -> None:
    sw.ws.inject_fault(
        "chat.postMessage",
        "http_error",
        status=500,
        times=100,
        match={"channel": sw.dm("UCARLOS")},
    )
    request_id = await file_for_nico(sw)
    await sw.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)

    async def failing() -> bool:
        calls = [
            c
            for c in sw.ws.api_calls("chat.postMessage")
            if c.args.get("channel") == sw.dm("UCARLOS")
        ]
        return len(calls) >= 2

    await poll_until(failing, 15, "Slack to have failed the approval message twice")
    cancelled_at = time.monotonic()
    await sw.world.service.cancel(request_id, user="UNICO")
    assert await settled(sw, request_id) is PurchaseStatus.CANCELLED
    assert time.monotonic() - cancelled_at < 10
    await sw.bot_message_to("UNICO", "cancelled")

    sw.ws.clear_faults()  # Slack recovers: nobody is asked to decide the cancelled request
    calls_at_cancel = len(sw.ws.api_calls("chat.postMessage"))
    status = await sw.world.service.status(request_id)
    actions = [e.action for e in status.audit]
    assert "approval_requested" not in actions and actions[-1] == "cancelled"
    assert not [m for m in bot_messages(sw, "UCARLOS", request_id)]
    assert len(sw.ws.api_calls("chat.postMessage")) == calls_at_cancel


async def test_refused_clicks_are_audited_on_the_request_they_targeted(sw: SlackWorld) -> None:
    first = await file_for_nico(sw, "first")
    second = await file_for_nico(sw, "second")
    first_message = await sw.bot_message_to("UCARLOS", first)
    second_message = await sw.bot_message_to("UCARLOS", second)

    bob = await sw.ws.click_button(
        "UBOB", first_message.channel, first_message.ts, "approve_request"
    )
    await sw.ephemeral_to("UBOB", "Only the assigned approver")
    await sw.ws.click_button("UNICO", first_message.channel, first_message.ts, "approve_request")
    await sw.ephemeral_to("UNICO", "your own purchase request")
    # A (signed) click on the first request's message whose button names the second request.
    forged = copy.deepcopy(bob.payload)
    forged["user"] = {**forged["user"], "id": "UCARLOS"}
    forged["actions"][0]["value"] = second
    body = urlencode({"payload": json.dumps(forged)})
    assert (await post(sw, body, secret=sw.ws.signing_secret))[0] == 200
    # (The answer goes to the response URL the click came with: Bob's, here.)
    await sw.ws.wait_for_message(lambda m: "another request's message" in m.text, 15)

    refused = [
        (e.actor, e.detail.split(":")[0])
        for e in (await sw.world.service.status(first)).audit
        if e.action == "decision_refused"
    ]
    assert refused == [("UBOB", "approve"), ("UNICO", "approve")]
    wrong_button = [
        e for e in (await sw.world.service.status(second)).audit if e.action == "decision_refused"
    ]
    assert [e.actor for e in wrong_button] == ["UCARLOS"]
    assert "another request's message" in wrong_button[0].detail
    for request_id in (first, second):  # neither decided, neither message touched
        assert (await sw.world.service.status(request_id)).approval is None
    for message in (first_message, second_message):
        [now] = [m for m in sw.ws.messages(message.channel) if m.ts == message.ts]
        assert now.edited_ts is None

    await sw.ws.click_button("UCARLOS", first_message.channel, first_message.ts, "approve_request")
    assert await settled(sw, first) is PurchaseStatus.COMPLETED
    second_status = await sw.world.service.status(second)
    assert second_status.approval is None and second_status.stage is Stage.AWAITING_APPROVAL
