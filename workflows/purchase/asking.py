"""Asking the first approver. The approval plan (reminder and escalation timings, whether a
second approval follows) is read in an activity; the approver (or their delegate) gets the
message with buttons; one Slack can never reach hands the request to their manager, and so
up the chain. Before NOTIFY_PATCH: one notification to the manager (`_ask_manager`).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.approval_plan import ApprovalPlanActivities
    from activities.notifications import NotificationActivities
    from domain.actors import SYSTEM
    from domain.models import (
        ApprovalPlan,
        ApprovalPlanInput,
        ApprovalRequestInput,
        ApproverInput,
        JourneyStep,
        MessageInput,
        MessageKind,
        ProductInfo,
        Stage,
    )
    from domain.mrkdwn import escape

from workflows.purchase.activity_options import (
    LOOKUP_RETRY,
    MESSAGE_TIMEOUT,
    NOTIFY_TIMEOUT,
    VALIDATION_TIMEOUT,
)
from workflows.purchase.delegation import DelegationSteps


class AskingSteps(DelegationSteps):
    """The first ask of the approval stage."""

    async def _approval_plan(self) -> ApprovalPlan:
        """The worker's reminder timings, recorded in history (the configuration may change
        while the request waits). Unreadable: no reminders, the week's timeout still holds."""
        try:
            return await workflow.execute_local_activity_method(
                ApprovalPlanActivities.approval_plan,
                ApprovalPlanInput(request=self._request),
                start_to_close_timeout=VALIDATION_TIMEOUT,
                retry_policy=LOOKUP_RETRY,
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as err:
            self._record(SYSTEM, "plan_unavailable", f"no reminders: {err.cause or err}")
            return ApprovalPlan()

    async def _ask_manager(self, product: ProductInfo) -> str:
        assert self._code_path is not None
        self._stage = Stage.AWAITING_APPROVAL
        self._asked_manager = True
        sent = await workflow.execute_activity_method(
            NotificationActivities.send_approval_request,
            ApprovalRequestInput(
                request=self._request,
                product=product,
                review=self._review,
                code_path=self._code_path,
            ),
            start_to_close_timeout=NOTIFY_TIMEOUT,
        )
        self._record(SYSTEM, "approval_requested", f"approver {self._request.manager}")
        self._step(JourneyStep.ASKED, self._request.manager)
        return sent.message_ref

    async def _ask_approvers(self, product: ProductInfo, *, first: bool = True) -> str:
        """Ask the approver; when Slack can never reach them, their manager, and so on. Returns
        the approval message's reference; "" when cancelled first or nobody could be asked
        (then `_unreachable` says why, the requester is told by the outcome and ops by an
        alert)."""
        assert self._code_path is not None
        if first and self._review is not None and self._review.history_unavailable:
            # Told first: once the request waits for approval, the requester knows why.
            await self._send(
                MessageInput(
                    kind=MessageKind.REVIEW_FALLBACK,
                    key=self._message_key("review-fallback"),
                    recipient=self._request.requester,
                    approval=self._approval_request(product),
                )
            )
        self._stage = Stage.AWAITING_APPROVAL
        self._asked_manager = True
        if self._delegating and first:
            # The second level is a pool (the head or any finance user): no delegation there.
            await self._look_up_delegate()
        tried: list[str] = []
        while self._cancellation is None:
            ref, failure = await self._ask(self._approval_message(product))
            if ref:
                self._approval_message_ref = ref
                self._record(SYSTEM, "approval_requested", f"approver {self._approver}")
                self._step(JourneyStep.ASKED, self._approver)
                if self._delegating:
                    self._publish_approver()
                return ref
            if self._cancellation is not None:
                break
            tried.append(self._approver)
            self._record(SYSTEM, "approver_unreachable", f"{self._approver}: {failure}")
            above = await workflow.execute_activity_method(
                NotificationActivities.escalation_target,
                ApproverInput(
                    approver=self._approver, requester=self._request.requester, tried=tried
                ),
                start_to_close_timeout=MESSAGE_TIMEOUT,
                retry_policy=LOOKUP_RETRY,
            )
            if not above.escalate_to:
                self._unreachable = (
                    f"Nobody could be asked to approve it (Slack could not reach "
                    f"{', '.join(tried)}: {failure}). Ops have been told; please file it again "
                    "later."
                )
                await self._alert_ops(
                    f":warning: Request `{self._request.request_id}` by "
                    f"<@{self._request.requester}> could not reach an approver "
                    f"({escape(failure)}) and was closed."
                )
                return ""
            unreachable, self._approver = self._approver, above.escalate_to
            self._on_behalf_of = ""  # the manager decides in their own right
            self._record(SYSTEM, "escalated", f"to {self._approver}: {unreachable} unreachable")
            await self._send(
                MessageInput(
                    kind=MessageKind.NOTICE,
                    key=self._message_key(f"escalated:{self._approver}"),
                    recipient=self._request.requester,
                    text=(
                        f"Your request `{self._request.request_id}` could not reach "
                        f"<@{unreachable}> ({escape(failure)}), so it now waits for "
                        f"<@{self._approver}>."
                    ),
                )
            )
        return ""

    def _approval_message(self, product: ProductInfo) -> MessageInput:
        return MessageInput(
            kind=MessageKind.APPROVAL_REQUEST,
            key=self._message_key(f"approval:{self._approver}"),
            recipient=self._approver,
            approval=self._approval_request(product),
        )
