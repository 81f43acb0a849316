"""Slack messages of a purchase request, since NOTIFY_PATCH: one activity a message, each sent
exactly once. The approval message (with its level note) and its buttons: sent, moved to
another message (the old one refuses and is updated) or stopped by a cancel. A message that
cannot be delivered is audited and never fails the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from domain.actors import SYSTEM
    from domain.models import (
        ApprovalRequestInput,
        MessageInput,
        OutcomeNotificationInput,
        ProductInfo,
        RetiredMessageInput,
    )
    from domain.rollout_models import OpsAlertInput

from workflows.purchase.activity_options import (
    MESSAGE_RETRY,
    MESSAGE_TIMEOUT,
)
from workflows.purchase.state import PurchaseState
from workflows.purchase.wording import utc, why

M = TypeVar("M", MessageInput, OutcomeNotificationInput, OpsAlertInput, RetiredMessageInput)


class Messages(PurchaseState):
    """Sending, updating and retiring the request's messages."""

    def _approval_request(self, product: ProductInfo, note: str = "") -> ApprovalRequestInput:
        assert self._code_path is not None
        return ApprovalRequestInput(
            request=self._request,
            product=product,
            review=self._review,
            code_path=self._code_path,
            note=" ".join(n for n in (note, self._level_note()) if n),
        )

    def _level_note(self) -> str:
        if self._levels < 2:
            return ""
        if self._level == 1:
            return (
                f"First approval (level 1 of 2): above {self._second_threshold}, a second "
                "approval follows yours."
            )
        first = self._first_approval
        by = f" <@{first.decided_by}> approved on {utc(first.decided_at)};" if first else ""
        return f"Second approval (level 2 of 2):{by} above {self._second_threshold} you decide too."

    async def _ask(self, message: MessageInput) -> tuple[str, str]:
        """One message with the decision's buttons, stopped at once by a cancel (the activity
        may be between retries). Returns (message reference, "") or ("", why it failed)."""
        sending = workflow.start_activity_method(
            NotificationActivities.send_message,
            message,
            start_to_close_timeout=MESSAGE_TIMEOUT,
            retry_policy=MESSAGE_RETRY,
            # An attempt already talking to Slack finishes; its message is then updated to show
            # the cancellation, so nobody is left with buttons on a cancelled request.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        # While buttons are being sent (a reminder, an escalation) the request does not move.
        self._asking += 1
        try:
            await workflow.wait_condition(lambda: sending.done() or self._cancellation is not None)
            if not sending.done():
                sending.cancel()
            try:
                return (await sending).message_ref, ""
            except ActivityError as err:
                return "", why(err)
            except asyncio.CancelledError:
                return "", "cancelled"
        finally:
            self._asking -= 1

    def _retire_buttons(self, new_ref: str, why: str) -> list[str]:
        """The buttons move to the message `new_ref`; the old ones refuse with `why`. Returns
        the old messages' references (to be updated)."""
        retired = [r for r in (self._approval_message_ref, *self._reminder_refs) if r]
        self._retired_refs.update(dict.fromkeys(retired, why))
        self._approval_message_ref, self._reminder_refs = new_ref, []
        self._second_deciders = {}  # the request moved on: only its new approver decides it
        return retired

    async def _retire_message(self, ref: str, product: ProductInfo, line: str) -> bool:
        retired = NotificationActivities.retire_approval_message
        update = RetiredMessageInput(
            message_ref=ref, approval=self._approval_request(product), line=line
        )
        return await self._deliver(retired, update, "approval message retired")

    async def _send(self, message: MessageInput) -> bool:
        sent = NotificationActivities.send_message
        return await self._deliver(sent, message, f"{message.kind} to {message.recipient}")

    async def _update_approval_message(self, outcome: OutcomeNotificationInput) -> bool:
        updated = NotificationActivities.update_approval_message
        return await self._deliver(updated, outcome, "approval message update")

    async def _alert_ops(self, text: str) -> None:
        alerted = NotificationActivities.alert_ops_about_request
        await self._deliver(alerted, OpsAlertInput(text=text), f"ops alert: {text}")

    async def _deliver(
        self,
        activity: Callable[[NotificationActivities, M], Awaitable[object]],
        message: M,
        what: str,
    ) -> bool:
        """One message activity; a failure is audited and never fails the request."""
        try:
            await workflow.execute_activity_method(
                activity,
                message,
                start_to_close_timeout=MESSAGE_TIMEOUT,
                retry_policy=MESSAGE_RETRY,
            )
        except ActivityError as err:
            self._record(SYSTEM, "message_not_delivered", f"{what}: {why(err)}")
            return False
        return True
