"""The approver's week runs from filing: time Slack spends refusing the approval request counts
(time-skipping server)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.models import MessageInput, MessageKind, MessageResult, PurchaseStatus
from tests.integration.world import poll_until, running_world
from workflows.names import APPROVAL_TIMEOUT_DAYS

SLACK_DOWN_FOR = timedelta(days=2)


@activity.defn(name="send_message")
async def slack_back_after_two_days(input: MessageInput) -> MessageResult:
    if input.kind is MessageKind.APPROVAL_REQUEST and activity.info().attempt == 1:
        raise ApplicationError(
            "ratelimited", type="NotDeliveredYet", next_retry_delay=SLACK_DOWN_FOR
        )
    return MessageResult(message_ref=f"C1:{input.key}")


async def test_the_decision_clock_runs_from_filing(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(
        time_env.client,
        tmp_path,
        replace_activities=(slack_back_after_two_days,),
        versioned=False,  # the time-skipping server has no worker deployments
    ) as w:
        book = w.product(lambda p: p.category == "books" and p.price < Decimal(100))
        submitted = await w.service.submit(
            requester="UNICO", url=w.url(book), amount=str(book.price)
        )
        request_id = submitted.request.request_id

        async def asked() -> bool:
            status = await w.service.status(request_id)
            return any(e.action == "approval_requested" for e in status.audit)

        await time_env.sleep(SLACK_DOWN_FOR + timedelta(minutes=1))
        await poll_until(asked, 15, "the approval request to go out once Slack is back")
        # Two days went to Slack: five remain, not seven.
        await time_env.sleep(timedelta(days=4, hours=23))
        assert await w.service.outcome(request_id, wait_seconds=0.5) is None
        await time_env.sleep(timedelta(hours=2))
        result = await w.service.outcome(request_id, wait_seconds=15)

        assert result is not None and result.status is PurchaseStatus.REJECTED
        assert result.approval is not None and result.approval.decided_by == "system"
        status = await w.service.status(submitted.request.request_id)
        [requested] = [e for e in status.audit if e.action == "approval_requested"]
        filed = status.audit[0].at
        assert requested.at - filed >= SLACK_DOWN_FOR  # Slack refused for two days...
        waited = result.approval.decided_at - filed
        week = timedelta(days=APPROVAL_TIMEOUT_DAYS)
        assert week <= waited < week + timedelta(hours=1)  # ...and that was part of the week
