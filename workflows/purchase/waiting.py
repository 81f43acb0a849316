"""Waiting for a decision: reminders at the plan's points (since REMINDERS_PATCH), the
escalation, then the week's timeout, which rejects. A decision or a cancel ends the wait.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.actors import SYSTEM
    from domain.models import (
        ApprovalPlan,
        ApprovalResult,
        JourneyStep,
        MessageInput,
        MessageKind,
        ProductInfo,
    )
    from workflows.names import APPROVAL_TIMEOUT_DAYS


from workflows.purchase.escalation import EscalationStep

# The follow-ups of a waiting request, in the order they happen when due at the same time.
_REMIND, _ESCALATE = 0, 1


class WaitingSteps(EscalationStep):
    """The follow-ups of a request that waits for a person, and its deadline."""

    async def _await_decision(
        self, product: ProductInfo, plan: ApprovalPlan | None, since: datetime
    ) -> None:
        """Follow up (reminders, escalation) then time out, a week after `since`."""
        deadline = since + timedelta(days=APPROVAL_TIMEOUT_DAYS)
        if self._reminding and not self._settled():
            plan = plan or await self._approval_plan()
            await self._follow_up_until_decided(product, plan, since, deadline)
        if not (self._reminding and self._settled()):
            await self._wait_for_decision(deadline - workflow.now())

    async def _follow_up_until_decided(
        self, product: ProductInfo, plan: ApprovalPlan, since: datetime, deadline: datetime
    ) -> None:
        """Remind the approver at each of the plan's points, and escalate at its escalation
        point (since ESCALATION_PATCH), all before the deadline, unless the request is decided
        or cancelled first."""
        due = [(since + after, _REMIND) for after in plan.reminders_after]
        if self._escalating and plan.escalate_after is not None:
            due.append((since + plan.escalate_after, _ESCALATE))
        due = sorted(d for d in due if d[0] < deadline)
        reminders = sum(what == _REMIND for _, what in due)
        reminded = 0
        for at, what in due:
            if await self._settled_before(at):
                return
            if what == _ESCALATE:
                await self._escalate(product, at - since)
            else:
                reminded += 1
                await self._remind(product, reminded, reminders)

    async def _settled_before(self, at: datetime) -> bool:
        """Wait until `at` for a decision or a cancellation; whether one came."""
        if at > workflow.now() and not self._settled():
            try:
                await workflow.wait_condition(self._settled, timeout=at - workflow.now())
            except TimeoutError:
                return False
        return self._settled()

    async def _wait_for_decision(
        self, within: timedelta = timedelta(days=APPROVAL_TIMEOUT_DAYS)
    ) -> None:
        """Wait for a decision, a cancellation or the timeout (which rejects)."""
        try:
            if within <= timedelta(0):
                raise TimeoutError
            await workflow.wait_condition(
                lambda: self._approval is not None or self._cancellation is not None,
                timeout=within,
            )
        except TimeoutError:
            self._approval = ApprovalResult(
                approved=False,
                decided_by=SYSTEM,
                decided_at=workflow.now(),
                comments=f"Approval timeout after {APPROVAL_TIMEOUT_DAYS} days",
            )
            self._record(SYSTEM, "approval_timed_out", self._approval.comments)

    async def _remind(self, product: ProductInfo, number: int, of: int) -> None:
        # Since JOURNEY_PATCH every second-level approver asked is reminded, on their own message.
        # One approver: awaited directly, as before the patch (a gather's extra task hop could
        # order the reminder's command after a concurrent handler's on replay).
        if not self._second_deciders:
            await self._remind_one(product, self._approver, number, of)
            return
        people = list(self._second_deciders)
        await asyncio.gather(*(self._remind_one(product, p, number, of) for p in people))

    async def _remind_one(self, product: ProductInfo, person: str, number: int, of: int) -> None:
        since = self._asked_since(person)
        note = f"Reminder {number} of {of}: this request has been waiting for you{since}."
        ref, failure = await self._ask(
            MessageInput(
                kind=MessageKind.REMINDER,
                key=self._message_key(f"reminder-{number}:{person}"),
                recipient=person,
                approval=self._approval_request(product, note),
            )
        )
        if not ref:
            if self._cancellation is None:
                self._record(SYSTEM, "message_not_delivered", f"reminder to {person}: {failure}")
            return
        self._reminder_refs.append(ref)
        self._record(SYSTEM, "reminded", f"{person} (reminder {number} of {of})")
        self._step(JourneyStep.REMINDED, person)
