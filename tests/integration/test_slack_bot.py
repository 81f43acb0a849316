"""The Slack front end end to end: the local workspace delivers signed commands, clicks and
modal submissions over HTTP to the real Bolt app, which drives real workflows."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from slack_sdk.signature import SignatureVerifier
from temporalio.testing import WorkflowEnvironment

from domain.models import PurchaseStatus, Stage
from domain.workflow_ids import purchase_workflow_id
from slack_workspace.state import Message
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.world import poll_until

BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


async def request_waiting_for_carlos(sw: SlackWorld) -> tuple[str, Message]:
    """Nico (no history) asks; his manager Carlos gets the approval message."""
    result = await sw.send_command("UNICO", "/purchase", f"{BOOK_URL} 39.90 1 team book")
    assert result.ok, result
    filed = await sw.ephemeral_to("UNICO", "filed")
    request_id = filed.text.split("`")[1]
    message = await sw.bot_message_to("UCARLOS", request_id)
    return request_id, message


def buttons(message: Message) -> list[str]:
    return [
        e["action_id"]
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def test_low_risk_purchase_is_auto_approved_and_announced(sw: SlackWorld) -> None:
    await sw.world.import_sample_history()
    started = time.monotonic()
    result = await sw.send_command("UALICE", "/purchase", f"<{BOOK_URL}> 39.90")

    assert result.ok and result.status == 200
    assert time.monotonic() - started < 3
    filed = await sw.ephemeral_to("UALICE", "filed")
    request_id = filed.text.split("`")[1]
    dm = await sw.bot_message_to("UALICE", "auto-approved")
    assert request_id in dm.text and "and ordered: order ORD-" in str(dm.blocks)
    fyi = await sw.bot_message_to("UCARLOS", "FYI")
    assert "auto-approved" in fyi.text
    # Behind Slack, the worker is a PINNED Worker Deployment version, as in production.
    assert await sw.world.ran_pinned_on_this_build(purchase_workflow_id(request_id))


async def test_manager_approves_with_the_button(sw: SlackWorld) -> None:
    request_id, message = await request_waiting_for_carlos(sw)
    assert buttons(message) == ["approve_request", "reject_request"]
    blocks_text = str(message.blocks)
    for expected in [
        "Nico" if False else "<@UNICO>",
        "books",
        "39.90 EUR",
        "team book",
        "Automated review",
        "Code path: patched",
        "test-build",
    ]:
        assert expected in blocks_text, expected

    click = await sw.click_button("UCARLOS", message.channel, message.ts, "approve_request")
    assert click.ok

    async def decided() -> bool:
        [now] = [m for m in sw.ws.messages(message.channel) if m.ts == message.ts]
        return not buttons(now) and "Approved" in str(now.blocks)

    await poll_until(decided, 15, "the approval message to show the decision")
    outcome = await sw.bot_message_to("UNICO", "approved and ordered")
    assert "and ordered: order ORD-" in str(outcome.blocks)
    assert len(sw.world.ledger.orders_for(request_id)) == 1


async def test_reject_asks_for_a_reason(sw: SlackWorld) -> None:
    request_id, message = await request_waiting_for_carlos(sw)
    click = await sw.click_button("UCARLOS", message.channel, message.ts, "reject_request")
    assert click.ok
    view = await sw.ws.wait_for(lambda: sw.ws.open_view("UCARLOS"))
    submitted = await sw.submit_view("UCARLOS", view["id"], {"reason": {"value": "no budget"}})
    assert submitted.ok
    outcome = await sw.bot_message_to("UNICO", "rejected")
    assert "no budget" in str(outcome.blocks)
    result = await sw.world.service.outcome(request_id, wait_seconds=10)
    assert result is not None and result.status is PurchaseStatus.REJECTED


async def test_click_by_someone_else_changes_nothing_and_explains(sw: SlackWorld) -> None:
    request_id, message = await request_waiting_for_carlos(sw)

    # Bob is not Nico's approver; Nico may not approve his own request.
    await sw.click_button("UBOB", message.channel, message.ts, "approve_request")
    await sw.ephemeral_to("UBOB", "Only the assigned approver")
    await sw.click_button("UNICO", message.channel, message.ts, "approve_request")
    await sw.ephemeral_to("UNICO", "your own purchase request")

    status = await sw.world.service.status(request_id)
    assert status.stage is Stage.AWAITING_APPROVAL and status.approval is None
    [still] = [m for m in sw.ws.messages(message.channel) if m.ts == message.ts]
    assert buttons(still) == ["approve_request", "reject_request"]


async def test_double_click_records_one_decision(sw: SlackWorld) -> None:
    request_id, message = await request_waiting_for_carlos(sw)
    first = await sw.click_button("UCARLOS", message.channel, message.ts, "approve_request")
    second = await sw.click_button("UCARLOS", message.channel, message.ts, "approve_request")
    assert first.ok and second.ok
    result = await sw.world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.COMPLETED
    status = await sw.world.service.status(request_id)
    assert [e.action for e in status.audit].count("approved") == 1
    assert len(sw.world.ledger.orders_for(request_id)) == 1


async def test_approve_button_works_after_bot_restart(sw: SlackWorld) -> None:
    request_id, message = await request_waiting_for_carlos(sw)
    await sw.restart_bot()
    await sw.click_button("UCARLOS", message.channel, message.ts, "approve_request")
    result = await sw.world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.COMPLETED


async def test_form_shows_field_errors_then_files_once_even_if_delivered_twice(
    sw: SlackWorld,
) -> None:
    result = await sw.send_command("UNICO", "/purchase", "")
    assert result.ok
    view = await sw.ws.wait_for(lambda: sw.ws.open_view("UNICO"))

    bad = await sw.submit_view(
        "UNICO",
        view["id"],
        {
            "url": {"value": "https://ebay.com/x"},
            "amount": {"value": "-3"},
            "quantity": {"value": "1"},
        },
    )
    assert bad.view_errors is not None
    assert set(bad.view_errors) == {"url", "amount"}
    still_open = sw.ws.open_view("UNICO")
    assert still_open is not None and still_open["id"] == view["id"]
    count = f"TaskQueue = '{sw.world.settings.task_queue}'"
    assert (await sw.world.client.count_workflows(count)).count == 0

    good = {"url": {"value": BOOK_URL}, "amount": {"value": "39.90"}, "quantity": {"value": "1"}}
    delivered = await sw.submit_view("UNICO", view["id"], good)
    assert delivered.ok and delivered.payload is not None
    await sw.bot_message_to("UNICO", "filed")
    # Slack delivering the same submission again must not file a second request.
    body = urlencode({"payload": json.dumps(delivered.payload)})
    assert await post_signed(sw, body, sw.ws.signing_secret, int(time.time())) == 200

    async def one_request() -> bool:
        return (await sw.world.client.count_workflows(count)).count == 1

    await poll_until(one_request, 10, "the request to start")
    assert (await sw.world.client.count_workflows(count)).count == 1


async def test_status_cancel_help_and_usage(sw: SlackWorld) -> None:
    request_id, _ = await request_waiting_for_carlos(sw)

    await sw.send_command("UNICO", "/purchase", f"status {request_id}")
    await sw.ephemeral_to("UNICO", "awaiting approval")
    await sw.send_command("UNICO", "/purchase", "status")
    await sw.ephemeral_to("UNICO", "Your latest requests")
    await sw.send_command("UBOB", "/purchase", f"status {request_id}")
    await sw.ephemeral_to("UBOB", "only see your own requests")
    await sw.send_command("UNICO", "/purchase", "help")
    await sw.ephemeral_to("UNICO", "How to use /purchase")
    await sw.send_command("UNICO", "/purchase", "gimme a laptop")
    await sw.ephemeral_to("UNICO", "How to use /purchase")
    await sw.send_command("UNICO", "/purchase", f"{BOOK_URL} -5")
    await sw.ephemeral_to("UNICO", "negative")

    await sw.send_command("UNICO", "/purchase", f"cancel {request_id}")
    await sw.ephemeral_to("UNICO", "is cancelled")
    result = await sw.world.service.outcome(request_id, wait_seconds=10)
    assert result is not None and result.status is PurchaseStatus.CANCELLED


async def test_ops_commands_are_for_ops_only_and_audited(sw: SlackWorld) -> None:
    await sw.send_command("UNICO", "/rollout", "build-2 30")
    await sw.ephemeral_to("UNICO", "for the ops team only")
    await sw.send_command("UOLIVIA", "/rollback", "too many errors")
    await sw.ephemeral_to("UOLIVIA", "no previous build to roll back to")

    async def audited() -> bool:
        try:
            entries = await sw.ops_audit.entries()
        except Exception:
            return False
        return [(e.actor, e.action) for e in entries] == [
            ("UNICO", "ops_command_refused"),
            ("UOLIVIA", "ops_command_refused_by_system"),
        ]

    await poll_until(audited, 10, "both ops commands in the audit trail")
    # `/rollout history`: the same trail, newest first (Nico's refusal marked as one).
    await sw.send_command("UOLIVIA", "/rollout", "history")
    shown = await sw.ephemeral_to("UOLIVIA", "Ops audit trail")
    lines = str(shown.blocks).split("\\n")
    assert "<@UOLIVIA>" in lines[0] and "ops_command_refused_by_system" in lines[0], lines
    assert "<@UNICO>" in lines[1] and ":no_entry: *ops_command_refused*" in lines[1], lines
    assert "/rollout build-2 30" in lines[1], lines


@pytest.mark.parametrize("forgery", ["bad-signature", "stale-timestamp"])
async def test_forged_or_stale_requests_get_401_and_start_nothing(
    sw: SlackWorld, forgery: str
) -> None:
    body = (
        "token=x&team_id=T1&user_id=UNICO&command=%2Fpurchase"
        "&text=https%3A%2F%2Fwww.amazon.es%2Fdp%2F1449373321+39.90&response_url=http://127.0.0.1:1/r"
        "&trigger_id=1.2.3"
    )
    timestamp = int(time.time()) - (600 if forgery == "stale-timestamp" else 0)
    secret = sw.ws.signing_secret if forgery == "stale-timestamp" else "not-the-secret"
    assert await post_signed(sw, body, secret, timestamp) == 401
    count = f"TaskQueue = '{sw.world.settings.task_queue}'"
    assert (await sw.world.client.count_workflows(count)).count == 0


async def post_signed(sw: SlackWorld, body: str, secret: str, timestamp: int) -> int:
    """Send a request the way Slack does, signed with `secret` (v0 scheme)."""
    signature = SignatureVerifier(secret).generate_signature(timestamp=str(timestamp), body=body)
    assert signature is not None
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            sw.bot_url,
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": signature,
            },
        ) as response,
    ):
        return response.status


async def test_health_reports_slack_and_temporal(sw: SlackWorld) -> None:
    health = sw.bot_url.replace("/slack/events", "/health")
    async with aiohttp.ClientSession() as http, http.get(health) as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "slack": True, "temporal": True}


async def test_ops_turn_the_review_off_for_one_user_with_flags(sw: SlackWorld) -> None:
    await sw.world.import_sample_history()
    await sw.send_command("UOLIVIA", "/flags", "automated-review-enabled off user <@UALICE>")
    await sw.ephemeral_to("UOLIVIA", "automated-review-enabled")
    await sw.send_command("UOLIVIA", "/flags", "")
    await sw.ephemeral_to("UOLIVIA", "UALICE")

    result = await sw.send_command("UALICE", "/purchase", f"{BOOK_URL} 39.90")
    assert result.ok
    filed = await sw.ephemeral_to("UALICE", "filed")
    request_id = filed.text.split("`")[1]
    await sw.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)
    status = await sw.world.service.status(request_id)
    assert status.review is None
    assert any(
        e.action == "flags_evaluated" and "automated review off" in e.detail for e in status.audit
    )


async def test_manager_flags_a_wrong_auto_approval(sw: SlackWorld) -> None:
    await sw.world.import_sample_history()
    await sw.send_command("UALICE", "/purchase", f"{BOOK_URL} 39.90")
    fyi = await sw.bot_message_to("UCARLOS", "FYI")
    assert "flag_auto_approval_wrong" in buttons(fyi)

    await sw.click_button("UBOB", fyi.channel, fyi.ts, "flag_auto_approval_wrong")
    await sw.ephemeral_to("UBOB", "Only the requester's manager")
    await sw.click_button("UCARLOS", fyi.channel, fyi.ts, "flag_auto_approval_wrong")

    async def flagged() -> bool:
        [now] = [m for m in sw.ws.messages(fyi.channel) if m.ts == fyi.ts]
        return "Flagged as a wrong auto-approval" in str(now.blocks) and not buttons(now)

    await poll_until(flagged, 10, "the FYI to show it was flagged")
    state = (await sw.rollout.status()).controller
    assert sum(len(v) for v in state.flagged.values()) == 1


async def test_rollout_status_for_ops(sw: SlackWorld) -> None:
    await sw.send_command("UOLIVIA", "/rollout", "status")
    await sw.ephemeral_to("UOLIVIA", "Feature flags: readable")
    await sw.send_command("UOLIVIA", "/rollout", "plan b1 10,5 every 1m")
    await sw.ephemeral_to("UOLIVIA", "must go up and end at 100")
    await sw.send_command("UOLIVIA", "/rollout", "b1 department Sales")
    await sw.ephemeral_to("UOLIVIA", "No one is in department `Sales`")
    await sw.send_command("UOLIVIA", "/rollback", "to")
    await sw.ephemeral_to("UOLIVIA", "Say which build to go back to")


async def test_a_wait_is_not_satisfied_by_a_message_from_before_the_action(sw: SlackWorld) -> None:
    """The usage and `/flags` listing checks above can fail: an answer already in the
    workspace does not count as the answer to a later action."""
    await sw.send_command("UNICO", "/purchase", "help")
    await sw.ephemeral_to("UNICO", "How to use /purchase")
    await sw.send_command("UNICO", "/purchase", "status")  # answered, but not with the usage
    await sw.ephemeral_to("UNICO", "no purchase requests yet")
    with pytest.raises(TimeoutError):
        await sw.ephemeral_to("UNICO", "How to use /purchase", timeout=1)

    await sw.send_command("UOLIVIA", "/flags", "automated-review-enabled off user <@UALICE>")
    await sw.ephemeral_to("UOLIVIA", "UALICE")  # the change's answer already names Alice
    await sw.send_command("UOLIVIA", "/rollout", "status")  # answered, but not with the flags
    await sw.ephemeral_to("UOLIVIA", "Feature flags: readable")
    with pytest.raises(TimeoutError):
        await sw.ephemeral_to("UOLIVIA", "UALICE", timeout=1)
