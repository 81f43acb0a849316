"""The way to a decision on the time-skipping server: reminders (approval-reminders-v1) and the
7-day timeout, in one request, with what status and audit show of it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.models import JourneyStep, PurchaseStatus
from domain.refusal import Refused
from tests.corpus.paths import book, reminded
from tests.integration.world import World, poll_until, running_world
from workflows.names import APPROVAL_TIMEOUT_DAYS

# A reminder is sent within a minute of its point (a few activity round trips).
ON_TIME = timedelta(minutes=1)


def kinds(world: World, request_id: str, kind: str) -> list[dict[str, str]]:
    return [m for m in world.notifier.messages_for(request_id) if m["kind"] == kind]


async def test_reminders_then_the_week_times_out(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(time_env.client, tmp_path, versioned=False) as w:
        url, amount = book(w)
        submitted = await w.service.submit(requester="UNICO", url=url, amount=amount)
        request_id = submitted.request.request_id

        async def asked() -> bool:
            status = await w.service.status(request_id)
            return any(e.step is JourneyStep.ASKED for e in status.journey)

        await poll_until(asked, 15, "Carlos to be asked")
        await time_env.sleep(timedelta(days=1, minutes=1))
        first = await reminded(w, request_id)
        # The reminder's buttons decide this request only: a click from another request's
        # message is still refused.
        try:
            await w.service.decide(
                request_id, user="UCARLOS", approve=True, message_ref="C9:another-request"
            )
            raise AssertionError("a click on another request's message was taken")
        except Refused as refused:
            assert "another request's message" in str(refused)

        await time_env.sleep(timedelta(days=APPROVAL_TIMEOUT_DAYS - 1))
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

        reminders = kinds(w, request_id, "approval_reminder")
        assert [m["recipient"] for m in reminders] == ["UCARLOS", "UCARLOS"]
        assert first == f"notification:{reminders[0]['id']}"
        assert reminders[0]["text"].startswith("Reminder 1 of 2: this request has been waiting")
        # Every message with buttons shows the outcome at the end: the first and both reminders.
        assert len(kinds(w, request_id, "approval_update")) == 3


async def test_no_reminder_once_decided(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with running_world(time_env.client, tmp_path, versioned=False) as w:
        url, amount = book(w)
        submitted = await w.service.submit(requester="UNICO", url=url, amount=amount)
        request_id = submitted.request.request_id

        async def waiting() -> bool:
            status = await w.service.status(request_id)
            return any(e.step is JourneyStep.ASKED for e in status.journey)

        await poll_until(waiting, 15, "Carlos to be asked")
        await w.service.decide(request_id, user="UCARLOS", approve=True)
        result = await w.service.outcome(request_id, wait_seconds=30)
        assert result is not None and result.status is PurchaseStatus.COMPLETED
        await time_env.sleep(timedelta(days=5))
        assert kinds(w, request_id, "approval_reminder") == []
