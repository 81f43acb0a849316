"""The way to a decision on the time-skipping server: reminders (approval-reminders-v1),
escalation (approval-escalation-v1) and the 7-day timeout, in one request, with what status and
audit show of it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.models import JourneyStep, PurchaseStatus
from domain.refusal import Refused
from tests.corpus.paths import book, escalation_message, reminded
from tests.integration.world import World, poll_until, running_world
from workflows.names import APPROVAL_TIMEOUT_DAYS

# A reminder is sent within a minute of its point (a few activity round trips).
ON_TIME = timedelta(minutes=1)


def kinds(world: World, request_id: str, kind: str) -> list[dict[str, str]]:
    return [m for m in world.notifier.messages_for(request_id) if m["kind"] == kind]


async def nicos_book_asked(world: World) -> str:
    """Nico's book (no history: his manager Carlos decides), once Carlos is asked; its id."""
    url, amount = book(world)
    submitted = await world.service.submit(requester="UNICO", url=url, amount=amount)
    request_id = submitted.request.request_id

    async def asked() -> bool:
        status = await world.service.status(request_id)
        return any(e.step is JourneyStep.ASKED for e in status.journey)

    await poll_until(asked, 15, "Carlos to be asked")
    return request_id


async def refused(world: World, request_id: str, user: str, message_ref: str = "") -> str:
    try:
        await world.service.decide(request_id, user=user, approve=True, message_ref=message_ref)
    except Refused as refusal:
        return str(refusal)
    raise AssertionError(f"{user}'s decision was taken")


async def test_reminders_escalation_then_the_week_times_out(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(time_env.client, tmp_path, versioned=False) as w:
        request_id = await nicos_book_asked(w)
        await time_env.sleep(timedelta(days=1, minutes=1))
        first = await reminded(w, request_id)
        # The reminder's buttons decide this request only: a click from another request's
        # message is still refused.
        assert "another request's message" in await refused(
            w, request_id, "UCARLOS", "C9:another-request"
        )

        await time_env.sleep(timedelta(days=4))  # day 5: escalates to Carlos's manager, Helen
        helens = await escalation_message(w, request_id, "UHELEN")
        # Carlos can no longer decide, from his messages or anywhere; Helen's message is hers.
        assert "escalated to UHELEN" in await refused(w, request_id, "UCARLOS", first)
        assert "Only the assigned approver (UHELEN)" in await refused(w, request_id, "UCARLOS")
        [asked_helen] = [
            m
            for m in kinds(w, request_id, "approval_request")
            if f"notification:{m['id']}" == helens
        ]
        assert asked_helen["text"].startswith("Escalated to you: <@UCARLOS> has not decided since")

        await time_env.sleep(timedelta(days=APPROVAL_TIMEOUT_DAYS - 5))
        result = await w.service.outcome(request_id, wait_seconds=30)
        assert result is not None and result.status is PurchaseStatus.REJECTED
        assert result.approval is not None and result.approval.decided_by == "system"

        status = await w.service.status(request_id)
        filed = status.audit[0].at
        asked_at = [e.at for e in status.journey if e.step is JourneyStep.ASKED]
        reminded_at = [e.at for e in status.journey if e.step is JourneyStep.REMINDED]
        assert [e.person for e in status.journey if e.step is JourneyStep.ASKED] == ["UCARLOS"]
        assert len(asked_at) == 1 and asked_at[0] - filed < ON_TIME
        assert len(reminded_at) == 2
        for at, days in zip(reminded_at, (1, 4), strict=True):
            assert timedelta(days=days) <= at - filed < timedelta(days=days) + ON_TIME
        week = timedelta(days=APPROVAL_TIMEOUT_DAYS)
        assert week <= result.approval.decided_at - filed < week + ON_TIME
        trail = [(e.action, e.detail) for e in status.audit]
        assert ("reminded", "UCARLOS (reminder 1 of 2)") in trail
        assert ("reminded", "UCARLOS (reminder 2 of 2)") in trail
        assert ("escalated", "to UHELEN: no decision from UCARLOS (5 days)") in trail
        [escalated] = [e for e in status.journey if e.step is JourneyStep.ESCALATED]
        assert escalated.person == "UHELEN"
        assert timedelta(days=5) <= escalated.at - filed < timedelta(days=5) + ON_TIME
        assert status.approver == "UHELEN"
        # Both were told; the requester too.
        notices = {m["recipient"]: m["text"] for m in kinds(w, request_id, "notice")}
        assert "now waits for <@UHELEN>; nothing more is needed from you" in notices["UCARLOS"]
        assert "had no decision from <@UCARLOS> after 5 days" in notices["UNICO"]

        reminders = kinds(w, request_id, "approval_reminder")
        assert [m["recipient"] for m in reminders] == ["UCARLOS", "UCARLOS"]
        assert first == f"notification:{reminders[0]['id']}"
        assert reminders[0]["text"].startswith("Reminder 1 of 2: this request has been waiting")
        # Carlos's three messages lost their buttons at the escalation (moved to Helen); at the
        # end (journey-delegates-pool-v1) Helen's message and Carlos's three show the outcome.
        retired = kinds(w, request_id, "approval_retired")
        assert len(retired) == 3 and all("Moved to <@UHELEN>" in m["text"] for m in retired)
        updated = {m["recipient"] for m in kinds(w, request_id, "approval_update")}
        carlos = {
            f"notification:{m['id']}"
            for m in w.notifier.messages_for(request_id)
            if m["recipient"] == "UCARLOS"
            and m["kind"] in ("approval_request", "approval_reminder")
        }
        assert len(carlos) == 3 and updated == {helens, *carlos}


async def test_no_reminder_once_decided(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with running_world(time_env.client, tmp_path, versioned=False) as w:
        request_id = await nicos_book_asked(w)
        await w.service.decide(request_id, user="UCARLOS", approve=True)
        result = await w.service.outcome(request_id, wait_seconds=30)
        assert result is not None and result.status is PurchaseStatus.COMPLETED
        await time_env.sleep(timedelta(days=5))
        assert kinds(w, request_id, "approval_reminder") == []
