"""Ending a request: the order placed (a failed order fails the workflow, so the deployment
monitor counts it), the outcome kept in visibility and metrics, and everyone told.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from activities.ordering import OrderingActivities
    from domain import product_metrics
    from domain.actors import AUTOMATED_SYSTEM, SYSTEM, is_person
    from domain.models import (
        REJECTED_BY_SYSTEM,
        CodePath,
        MessageInput,
        MessageKind,
        OutcomeNotificationInput,
        PlaceOrderInput,
        PlaceOrderResult,
        ProductInfo,
        PurchaseResult,
        PurchaseStatus,
        Stage,
    )
    from workflows.names import (
        PURCHASE_OUTCOME,
        REVIEW_PATH,
    )

from workflows.purchase.activity_options import (
    NOTIFY_TIMEOUT,
    ORDER_HEARTBEAT_TIMEOUT,
    ORDER_TIMEOUT,
)
from workflows.purchase.messages import Messages


class ClosingSteps(Messages):
    """Ordering and the outcome."""

    async def _purchase(self, product: ProductInfo, message_ref: str) -> PurchaseResult:
        self._stage = Stage.PURCHASING
        try:
            order = await workflow.execute_activity_method(
                OrderingActivities.place_order,
                PlaceOrderInput(request=self._request, product=product),
                start_to_close_timeout=ORDER_TIMEOUT,
                heartbeat_timeout=ORDER_HEARTBEAT_TIMEOUT,
            )
        except ActivityError as err:
            # Nobody is left wondering: the requester and approver are told, then the workflow
            # fails, so the deployment monitor counts it against this build.
            reason = f"The order could not be placed ({err.cause or err}); nothing was bought."
            await self._finish(PurchaseStatus.FAILED, reason, message_ref)
            raise ApplicationError(reason, type="OrderFailed", non_retryable=True) from err
        self._record(SYSTEM, "ordered", f"order {order.order_id} for {order.total}")
        return await self._finish(PurchaseStatus.COMPLETED, "", message_ref, order=order)

    async def _finish(
        self,
        status: PurchaseStatus,
        reason: str,
        message_ref: str = "",
        *,
        order: PlaceOrderResult | None = None,
    ) -> PurchaseResult:
        if self._reassigning:
            # Only a cancel or the timeout ends a request while a reassignment is sending its
            # message; the reassignment finishes first (it stops at once when cancelled).
            await workflow.wait_condition(lambda: not self._reassigning)
            message_ref = self._approval_message_ref or message_ref
        self._stage = Stage(status.value)
        result = PurchaseResult(
            request_id=self._request.request_id,
            status=status,
            reason=reason,
            code_path=self._code_path or CodePath.ORIGINAL,
            product=self._product,
            review=self._review,
            approval=self._approval,
            order=order,
        )
        # Visibility keeps each requester's outcomes (the review reads them from there) and how
        # each was decided (the deployment monitor reads that).
        workflow.upsert_search_attributes(
            [
                PURCHASE_OUTCOME.value_set(self._history_outcome(status)),
                REVIEW_PATH.value_set(self._review_path()),
            ]
        )
        # A metric is no command: the workflow's meter records nothing on replay.
        product_metrics.request_closed(
            workflow.metric_meter(), self._request.department, status.value, self._review_path()
        )
        outcome = OutcomeNotificationInput(
            request=self._request, result=result, approval_message_ref=message_ref
        )
        if self._exactly_once:
            await self._announce(outcome)
        else:
            await workflow.execute_activity_method(
                NotificationActivities.notify_outcome,
                outcome,
                start_to_close_timeout=NOTIFY_TIMEOUT,
            )
        self._record(SYSTEM, status.value, reason)
        return result

    async def _announce(self, outcome: OutcomeNotificationInput) -> None:
        """The requester's DM, the approval message's update and the FYI: one activity each,
        in parallel, each exactly once. None of them can fail the request."""
        approval = outcome.result.approval
        sends = [
            self._send(
                MessageInput(
                    kind=MessageKind.OUTCOME,
                    key=self._message_key("outcome"),
                    recipient=self._request.requester,
                    outcome=outcome,
                )
            )
        ]
        if approval is not None and approval.decided_by == AUTOMATED_SYSTEM:
            sends.append(
                self._send(
                    MessageInput(
                        kind=MessageKind.AUTO_APPROVAL_FYI,
                        key=self._message_key("fyi"),
                        recipient=self._request.manager,
                        outcome=outcome,
                    )
                )
            )
        if outcome.approval_message_ref:
            sends.append(self._update_approval_message(outcome))
        later = list(self._reminder_refs)
        if self._journey_v2:
            # Every earlier approval message (the first level's, one escalated or handed from)
            # ends showing the outcome too: no stale "waiting for ..." anywhere.
            later += [r for r in self._retired_refs if r != outcome.approval_message_ref]
        for ref in later:
            reminder = outcome.model_copy(update={"approval_message_ref": ref})
            sends.append(self._update_approval_message(reminder))
        told = await asyncio.gather(*sends)
        if not told[0]:
            await self._alert_ops(
                f":warning: The requester <@{self._request.requester}> of "
                f"`{self._request.request_id}` could not be told it ended "
                f"({outcome.result.status.value})."
            )

    def _history_outcome(self, status: PurchaseStatus) -> str:
        """PurchaseOutcome, which the requester's history counts: since HISTORY_OUTCOMES_PATCH
        `rejected` only when a person rejected."""
        if self._history_outcomes and status is PurchaseStatus.REJECTED:
            decided_by = self._approval.decided_by if self._approval else None
            if decided_by is None or not is_person(decided_by):
                return REJECTED_BY_SYSTEM
        return status.value

    def _review_path(self) -> str:
        if self._approval is not None and self._approval.decided_by == AUTOMATED_SYSTEM:
            return "auto_approved"
        return "manual" if self._asked_manager else "not_reviewed"
