"""The README's "approval journey in Slack, step by step", run as written: signed commands and
clicks through the real Bolt app against the local Slack workspace, on the dev server (a
delegation lists the delegator's waiting requests in visibility, which the time-skipping server
lacks). Part 1 shrinks the days to seconds (the worker's reminder and escalation settings, as
the README's `make run` line does); part 2 needs no waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.models import PurchaseStatus
from slack_workspace.state import Message
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_slack_bot import buttons
from tests.integration.world import poll_until

BOOK = "https://www.amazon.es/dp/1449373321 39.90 1 team book"
LAPTOPS = "https://www.amazon.es/dp/B0CX23V2ZK 2398 2 two dev laptops"
UNTIL = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")
DECISION_BUTTONS = ["approve_request", "reject_request"]
# Part 1's days, in seconds: reminded ~1.7 s after filing, escalated ~4.3 s after.
REMINDER_AFTER_DAYS = "0.00002"
ESCALATE_AFTER_DAYS = "0.00005"


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


async def files(sw: SlackWorld, what: str) -> str:
    """Nico files `what`; its request id."""
    assert (await sw.send_command("UNICO", "/purchase", what)).ok
    filed = await sw.ephemeral_to("UNICO", "filed")
    return filed.text.split("`")[1]


async def away(sw: SlackWorld) -> None:
    await sw.send_command("UHELEN", "/purchase", f"delegate <@UDIANA|diana> until {UNTIL}")
    await sw.ephemeral_to("UHELEN", "go to <@UDIANA>")


async def click(sw: SlackWorld, user: str, message: Message, action: str) -> None:
    assert (await sw.click_button(user, message.channel, message.ts, action)).ok


async def no_buttons_left(sw: SlackWorld, request_id: str, decider: str, messages: int) -> None:
    """Every message of the request that had buttons (`messages` of them) now shows the outcome
    and who decided, and no message of it has buttons."""

    def of_request() -> list[Message]:
        return [m for m in sw.ws.state.all_messages() if request_id in str(m.blocks)]

    async def done() -> bool:
        decided = [
            m
            for m in of_request()
            if "Purchase request decided" in str(m.blocks) and decider in str(m.blocks)
        ]
        return not any(buttons(m) for m in of_request()) and len(decided) == messages

    await poll_until(done, 20, f"every approval message of {request_id} to show the outcome")


async def in_dm(sw: SlackWorld, user: str, contains: str) -> Message:
    """A bot message in `user`'s DM containing `contains`, posted or edited at any time: the
    days shrunk to seconds may move the request on while a step is still being checked."""
    found: list[Message] = []

    async def there() -> bool:
        found[:] = [m for m in sw.ws.messages(sw.dm(user)) if contains in str(m.blocks)]
        return bool(found)

    await poll_until(there, 20, f"{user} to have a message saying {contains!r}")
    return found[-1]


async def status_of(sw: SlackWorld, request_id: str, contains: str) -> str:
    await sw.send_command("UNICO", "/purchase", f"status {request_id}")
    return str((await sw.ephemeral_to("UNICO", contains)).blocks)


async def test_part_1_reminder_then_escalation_to_a_manager_who_is_away(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PURCHASEBOT_REMINDER_AFTER_DAYS", REMINDER_AFTER_DAYS)
    monkeypatch.setenv("PURCHASEBOT_ESCALATE_AFTER_DAYS", ESCALATE_AFTER_DAYS)
    async with slack_world(dev_env.client, tmp_path) as sw:
        await away(sw)  # 1
        request_id = await files(sw, BOOK)  # 2
        asked = await sw.bot_message_to("UCARLOS", request_id)
        assert buttons(asked) == DECISION_BUTTONS
        reminder = await sw.bot_message_to("UCARLOS", "Reminder 1 of 1")  # 3
        assert buttons(reminder) == DECISION_BUTTONS and request_id in str(reminder.blocks)
        assert "reminded <!date^" in await status_of(sw, request_id, "Asked <@UCARLOS>")

        diana = await in_dm(sw, "UDIANA", "Escalated to you on behalf of <@UHELEN>")  # 4
        assert buttons(diana) == DECISION_BUTTONS and request_id in str(diana.blocks)
        await in_dm(sw, "UCARLOS", "nothing more is needed from you")
        await in_dm(sw, "UNICO", "now waits for <@UDIANA> on behalf of <@UHELEN>")

        async def carlos_moved() -> bool:
            now = [m for m in sw.ws.messages(sw.dm("UCARLOS")) if m.ts in (asked.ts, reminder.ts)]
            moved = "Moved to <@UDIANA> on behalf of <@UHELEN>"
            return all(buttons(m) == [] and moved in str(m.blocks) for m in now)

        await poll_until(carlos_moved, 20, "Carlos's messages to say where the request went")
        shown = await status_of(sw, request_id, "delegated to <@UDIANA>")
        assert "escalated to <@UHELEN>" in shown
        assert "Waiting for <@UDIANA> on behalf of <@UHELEN>" in shown

        await click(sw, "UDIANA", diana, "approve_request")  # 5
        await sw.bot_message_to("UNICO", "approved and ordered")
        await no_buttons_left(sw, request_id, "<@UDIANA>", messages=3)
        result = await sw.world.service.outcome(request_id, wait_seconds=15)
        assert result is not None and result.approval is not None
        assert (result.approval.decided_by, result.approval.on_behalf_of) == ("UDIANA", "UHELEN")


async def test_part_2_two_levels_a_delegate_at_the_second_and_a_hand_over(sw: SlackWorld) -> None:
    await away(sw)  # 1
    request_id = await files(sw, LAPTOPS)  # 2
    carlos = await sw.bot_message_to("UCARLOS", "First approval (level 1 of 2)")
    await click(sw, "UCARLOS", carlos, "approve_request")
    second = {  # 3
        who: await sw.bot_message_to(who, "Second approval (level 2 of 2)")
        for who in ("UDIANA", "UFIONA", "UGEORGE")
    }
    assert all(buttons(m) == DECISION_BUTTONS for m in second.values())
    assert "On behalf of <@UHELEN>" in str(second["UDIANA"].blocks)
    assert not [m for m in sw.ws.messages(sw.dm("UHELEN")) if request_id in str(m.blocks)]
    waiting = await sw.bot_message_to("UCARLOS", "waiting for the second approval by")
    assert all(f"<@{who}>" in str(waiting.blocks) for who in second)

    await click(sw, "UFIONA", second["UFIONA"], "approve_request")  # 4
    await sw.bot_message_to("UNICO", "approved and ordered")
    await no_buttons_left(sw, request_id, "<@UFIONA>", messages=4)
    result = await sw.world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.COMPLETED
    assert result.approval is not None and result.approval.decided_by == "UFIONA"

    book = await files(sw, BOOK)  # 5
    asked = await sw.bot_message_to("UCARLOS", book)

    async def waits_for_carlos() -> bool:  # the message can arrive before the workflow knows it
        return book in await sw.world.service.waiting_for(["UCARLOS"])

    await poll_until(waits_for_carlos, 15, f"{book} to wait for UCARLOS")
    await sw.send_command(
        "UOLIVIA", "/purchase", f"reassign {book} <@UGEORGE|george> Carlos is at a conference"
    )
    await sw.ephemeral_to("UOLIVIA", "now waits for <@UGEORGE>")
    george = await sw.bot_message_to("UGEORGE", book)
    moved = await sw.bot_message_to("UCARLOS", "Handed to <@UGEORGE>")
    assert moved.ts == asked.ts and "Carlos is at a conference" in str(moved.blocks)
    await click(sw, "UGEORGE", george, "approve_request")
    await sw.bot_message_to("UNICO", "approved and ordered")
    handed = await sw.world.service.outcome(book, wait_seconds=15)
    assert handed is not None and handed.approval is not None
    assert handed.approval.decided_by == "UGEORGE"

    await sw.send_command("UHELEN", "/purchase", "delegate off")  # 6
    await sw.ephemeral_to("UHELEN", "is off")
