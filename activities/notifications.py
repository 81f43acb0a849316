"""Activities: ask the manager, announce the outcome. Delivery is the Notifier's business.

`send_approval_request` and `notify_outcome` are the activities of requests started before
`notify-exactly-once-v1` (they must stay registered for those to finish). Since that patch every
message is its own activity (`send_message`), sent exactly once under a key, retried on a
bounded schedule after the delay Slack asks for, and never retried when it cannot succeed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifier import NotDeliveredYet, Notifier, Undeliverable
from domain.directory import Directory
from domain.models import (
    ApprovalRequestInput,
    ApprovalRequestResult,
    ApproverInput,
    ApproverResult,
    MessageInput,
    MessageResult,
    NotificationResult,
    OutcomeNotificationInput,
    RetiredMessageInput,
)
from domain.rollout_models import OpsAlertInput

UNDELIVERABLE = "Undeliverable"  # the error type the workflow does not retry


class NotificationActivities:
    def __init__(
        self, notifier: Notifier, directory: Callable[[], Directory] | None = None
    ) -> None:
        self._notifier = notifier
        self._directory = directory

    @activity.defn
    async def send_approval_request(self, input: ApprovalRequestInput) -> ApprovalRequestResult:
        return ApprovalRequestResult(message_ref=await self._notifier.request_approval(input))

    @activity.defn
    async def notify_outcome(self, input: OutcomeNotificationInput) -> NotificationResult:
        await self._notifier.announce_outcome(input)
        return NotificationResult()

    @activity.defn
    async def send_message(self, input: MessageInput) -> MessageResult:
        retrying = activity.info().attempt > 1
        with delivery_errors():
            return MessageResult(
                message_ref=await self._notifier.send_once(input, retrying=retrying)
            )

    @activity.defn
    async def update_approval_message(self, input: OutcomeNotificationInput) -> NotificationResult:
        with delivery_errors():
            await self._notifier.update_approval_message(input)
        return NotificationResult()

    @activity.defn
    async def retire_approval_message(self, input: RetiredMessageInput) -> NotificationResult:
        with delivery_errors():
            await self._notifier.retire_approval_message(input)
        return NotificationResult()

    @activity.defn
    async def alert_ops_about_request(self, input: OpsAlertInput) -> NotificationResult:
        with delivery_errors():
            await self._notifier.alert_ops(input.text, last_try=last_try())
        return NotificationResult()

    @activity.defn
    async def escalation_target(self, input: ApproverInput) -> ApproverResult:
        """The approver's own manager, unless that is the requester or someone already tried."""
        if self._directory is None:
            return ApproverResult()
        person = self._directory().person(input.approver)
        above = person.manager if person is not None else ""
        if above in ("", input.requester, input.approver, *input.tried):
            return ApproverResult()
        return ApproverResult(escalate_to=above)


@contextlib.contextmanager
def delivery_errors() -> Iterator[None]:
    """Slack's trouble becomes a retry after the delay it asked for; a message that can never
    be delivered becomes a non-retryable error the workflow acts on."""
    try:
        yield
    except NotDeliveredYet as err:
        raise ApplicationError(
            str(err), type="NotDeliveredYet", next_retry_delay=timedelta(seconds=err.retry_after)
        ) from err
    except Undeliverable as err:
        raise ApplicationError(str(err), type=UNDELIVERABLE, non_retryable=True) from err


def last_try() -> bool:
    """Whether this attempt is the activity's last (a fallback must be used now)."""
    info = activity.info()
    limit = info.retry_policy.maximum_attempts if info.retry_policy else 0
    return 0 < limit <= info.attempt
