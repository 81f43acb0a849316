"""The approval stage from the first ask to a decision, in order: the plan, the first
approver asked, the wait (reminders, escalation, timeout), then the second level if due.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import ProductInfo


from workflows.purchase.second_approval import SecondApprovalStep
from workflows.purchase.waiting import WaitingSteps


class ApprovalStage(SecondApprovalStep, WaitingSteps):
    """A request a person must decide, from asking to the decision."""

    async def _approval_stage(self, product: ProductInfo, filed_at: datetime) -> str:
        """Ask, wait, and ask the second level when due. Returns the approval message whose
        update shows the outcome. Ends early when nobody could be asked (`_unreachable` says
        why) or the request was cancelled (`_cancellation`): the caller ends the request."""
        if not self._exactly_once:
            message_ref = await self._ask_manager(product)
            await self._wait_for_decision()
            return message_ref
        plan = await self._levels_plan() if self._leveled else None
        message_ref = await self._ask_approvers(product)
        if self._unreachable is not None:
            return ""
        if self._cancellation is None:
            # The approver's week runs from filing, not from when Slack let us ask.
            await self._await_decision(product, plan, filed_at)
            if self._reminding:
                # An escalation moved the buttons to another message.
                message_ref = self._approval_message_ref
            # A reassignment moved the approval message: the outcome updates the current one.
            message_ref = self._approval_message_ref or message_ref
        if self._cancellation is None and self._second_level_due():
            since = workflow.now()  # the second approver's week runs from the first's
            await self._second_approval(product)
            if self._unreachable is not None:
                return ""
            if self._cancellation is None:
                await self._await_decision(product, plan, since)
            message_ref = self._approval_message_ref
        return message_ref
