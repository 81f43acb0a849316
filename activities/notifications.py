"""Activities: ask the manager, announce the outcome. Delivery is the Notifier's business."""

from __future__ import annotations

from temporalio import activity

from activities.notifier import Notifier
from domain.models import (
    ApprovalRequestInput,
    ApprovalRequestResult,
    NotificationResult,
    OutcomeNotificationInput,
)


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn
    async def send_approval_request(self, input: ApprovalRequestInput) -> ApprovalRequestResult:
        return ApprovalRequestResult(message_ref=await self._notifier.request_approval(input))

    @activity.defn
    async def notify_outcome(self, input: OutcomeNotificationInput) -> NotificationResult:
        await self._notifier.announce_outcome(input)
        return NotificationResult()
