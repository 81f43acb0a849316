"""The approval journey in Slack (the real Bolt app and the local workspace, on the time-skipping
server): a reminder DM with the same working buttons, `/purchase status` saying when it was
reminded, the escalation's message to the manager's manager and the original message updated
(`chat.update`: no buttons, "Moved to ..."), and a decision from the escalated message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.models import PurchaseStatus
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_slack_bot import buttons, request_waiting_for_carlos
from tests.integration.world import poll_until

DECISION_BUTTONS = ["approve_request", "reject_request"]


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
