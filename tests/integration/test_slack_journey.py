"""The approval journey in Slack (the real Bolt app and the local workspace, on the time-skipping
server): a reminder DM with the same working buttons, `/purchase status` saying when it was
reminded, the escalation's message to the manager's manager and the original message updated
(`chat.update`: no buttons, "Moved to ..."), and a decision from the escalated message; two
approval levels, each with its own message, and a double click across them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.models import PurchaseStatus
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_slack_bot import buttons, request_waiting_for_carlos
from tests.integration.world import poll_until

DECISION_BUTTONS = ["approve_request", "reject_request"]
LAPTOP = "https://www.amazon.es/dp/B0CX23V2ZK"  # 1199 EUR: two need a second approval


def current(sw: SlackWorld, channel: str, ts: str) -> str:
    [message] = [m for m in sw.ws.messages(channel) if m.ts == ts]
    return str(message.blocks) if buttons(message) == [] else ""


async def test_reminder_then_escalation_then_approved_in_slack(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with slack_world(time_env.client, tmp_path, versioned=False) as sw:
        request_id, first = await request_waiting_for_carlos(sw)

        await time_env.sleep(timedelta(days=1, minutes=1))
        reminder = await sw.bot_message_to("UCARLOS", "Reminder 1 of 2")
        assert buttons(reminder) == DECISION_BUTTONS and request_id in str(reminder.blocks)
        await sw.send_command("UNICO", "/purchase", f"status {request_id}")
        shown = await sw.ephemeral_to("UNICO", "reminded <!date^")
        assert "Asked <@UCARLOS>" in str(shown.blocks)

        await time_env.sleep(timedelta(days=4))  # day 5: escalated to Carlos's manager, Helen
        escalated = await sw.bot_message_to("UHELEN", "Escalated to you")
        assert buttons(escalated) == DECISION_BUTTONS
        await sw.bot_message_to("UCARLOS", "nothing more is needed from you")
        await sw.bot_message_to("UNICO", "now waits for <@UHELEN>")

        async def carlos_messages_moved() -> bool:
            return all(
                "Moved to <@UHELEN>" in current(sw, m.channel, m.ts) for m in (first, reminder)
            )

        await poll_until(carlos_messages_moved, 15, "Carlos's messages to lose their buttons")

        click = await sw.click_button("UHELEN", escalated.channel, escalated.ts, "approve_request")
        assert click.ok
        outcome = await sw.bot_message_to("UNICO", "approved and ordered")
        assert request_id in outcome.text
        result = await sw.world.service.outcome(request_id, wait_seconds=15)
        assert result is not None and result.status is PurchaseStatus.COMPLETED
        assert result.approval is not None and result.approval.decided_by == "UHELEN"


async def test_two_levels_in_slack_with_a_double_click_across_levels(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with slack_world(time_env.client, tmp_path, versioned=False) as sw:
        result = await sw.send_command("UNICO", "/purchase", f"{LAPTOP} 2398 2 two dev laptops")
        assert result.ok, result
        filed = await sw.ephemeral_to("UNICO", "filed")
        request_id = filed.text.split("`")[1]
        first = await sw.bot_message_to("UCARLOS", "First approval (level 1 of 2)")
        assert buttons(first) == DECISION_BUTTONS

        # Carlos clicks Approve twice: the first click is level 1's approval, the second must
        # not become the second approval.
        clicks = [
            await sw.click_button("UCARLOS", first.channel, first.ts, "approve_request")
            for _ in range(2)
        ]
        assert all(c.ok for c in clicks)
        second = await sw.bot_message_to("UHELEN", "Second approval (level 2 of 2)")
        assert buttons(second) == DECISION_BUTTONS

        async def second_click_refused() -> bool:
            status = await sw.world.service.status(request_id)
            return any(e.action == "decision_refused" for e in status.audit)

        await poll_until(second_click_refused, 15, "Carlos's second click to be refused")
        status = await sw.world.service.status(request_id)
        assert (status.level, status.approval) == (2, None)
        assert [e.action for e in status.audit].count("approved") == 1
        refused = [e for e in status.audit if e.action == "decision_refused"]
        assert len(refused) == 1 and refused[0].actor == "UCARLOS"

        click = await sw.click_button("UHELEN", second.channel, second.ts, "approve_request")
        assert click.ok
        outcome = await sw.bot_message_to("UNICO", "approved and ordered")
        assert request_id in outcome.text
        assert len(sw.world.ledger.orders_for(request_id)) == 1
