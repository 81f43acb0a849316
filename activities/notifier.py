"""The Notifier interface: how people hear about requests. The Slack implementation lives with
the bot; `RecordingNotifier` keeps every message in SQLite and the log, for running without
Slack and for tests."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import sqlite_utils

from domain.models import (
    ApprovalRequestInput,
    MessageInput,
    MessageKind,
    OutcomeNotificationInput,
    RetiredMessageInput,
)
from domain.mrkdwn import escape
from domain.outcomes import describe_outcome, full_stop
from domain.workflow_ids import request_id_of

log = logging.getLogger(__name__)


class NotDeliveredYet(Exception):
    """The channel is having trouble and asked to be tried again after `retry_after` seconds
    (Slack's 429 Retry-After, a 5xx, a timeout). Activities turn it into a retry after that
    delay instead of the default backoff."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The message can never be delivered as addressed (Slack: channel_not_found,
    user_not_found, account_inactive, ...): retrying will not help; someone else must be told."""


class Notifier(Protocol):
    async def request_approval(self, input: ApprovalRequestInput) -> str:
        """Ask the manager to decide; returns a reference to the message sent."""

    async def announce_outcome(self, input: OutcomeNotificationInput) -> None:
        """Tell the requester (and, for auto-approvals, the manager) how it ended."""

    async def alert_ops(self, text: str, *, last_try: bool = True) -> None:
        """Tell the ops channel (rollouts, rollbacks, failed health checks). On the `last_try`
        a channel that cannot be reached is replaced by direct messages to the ops users; a
        caller that will try again passes False and gets NotDeliveredYet on Slack's trouble."""

    async def send_once(self, message: MessageInput, *, retrying: bool) -> str:
        """Send one message; returns its reference. When `retrying`, a message already sent
        under `message.key` (by an attempt whose answer was lost) is returned, not sent again.
        Raises NotDeliveredYet (try again later) or Undeliverable (never)."""

    async def update_approval_message(self, input: OutcomeNotificationInput) -> None:
        """Show the outcome on the approver's message (its buttons go); updating is idempotent."""

    async def retire_approval_message(self, input: RetiredMessageInput) -> None:
        """Take the buttons off an approver's message the request moved away from, saying why
        (`input.line`); idempotent."""


def approval_request_text(input: ApprovalRequestInput) -> str:
    r, p = input.request, input.product
    text = (
        f"Approval needed for request {r.request_id}: {r.requester} asks for {r.quantity} x "
        f"{escape(p.title)} ({escape(p.category)}, {escape(p.url)}) for {r.amount}."
    )
    if r.justification:
        text += f" Justification: {escape(r.justification)}."
    if input.review is not None:
        text += (
            f" Automated review: {escape(input.review.reason)} "
            f"(confidence {input.review.confidence:.2f}, risk {input.review.risk_score:.2f})."
        )
    text += f" Code path: {input.code_path}."
    # The note is the workflow's own text (a reminder, an escalation): shown first.
    return f"{input.note} {text}" if input.note else text


def history_unavailable_text(input: ApprovalRequestInput) -> str | None:
    """For the requester, when their request went to a person only because their purchase
    history could not be read: they should know it is not about them or their request."""
    review = input.review
    if review is None or not review.history_unavailable:
        return None
    return (
        f"Your request {input.request.request_id} ({input.product.title}) was sent to "
        f"{input.request.manager} for approval: the automated review could not read your "
        "purchase history just now, so a person decides instead. Nothing is wrong with your "
        "request; you will hear as soon as it is decided."
    )


def outcome_text(input: OutcomeNotificationInput) -> str:
    result = input.result
    what = escape(result.product.title if result.product else input.request.product_url)
    outcome = describe_outcome(result, literal=escape)
    return full_stop(f"Your request {result.request_id} ({what}) was {outcome.summary()}")


# Messages that carry the decision's buttons.
BUTTON_KINDS = (MessageKind.APPROVAL_REQUEST, MessageKind.REMINDER)


def message_request_id(message: MessageInput) -> str:
    if message.approval is not None:
        return message.approval.request.request_id
    if message.outcome is not None:
        return message.outcome.request.request_id
    return request_id_of(message.key.split(":", 1)[0])


def message_text(message: MessageInput) -> str:
    """The text of a message (Slack's fallback text; all the recording notifier keeps)."""
    if message.kind in BUTTON_KINDS and message.approval is not None:
        return approval_request_text(message.approval)
    if message.kind is MessageKind.REVIEW_FALLBACK and message.approval is not None:
        return history_unavailable_text(message.approval) or ""
    if message.outcome is not None:
        text = outcome_text(message.outcome)
        return f"FYI: {text}" if message.kind is MessageKind.AUTO_APPROVAL_FYI else text
    return message.text


class RecordingNotifier:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite_utils.Database(sqlite3.connect(path, isolation_level=None, timeout=10))
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.table("notifications").create(
            {"id": int, "at": str, "recipient": str, "kind": str, "request_id": str, "text": str},
            pk="id",
            if_not_exists=True,
        )
        if "key" not in self._db.table("notifications").columns_dict:  # files of older code
            self._db.table("notifications").add_column("key", str)

    def _record(
        self, recipient: str, kind: str, request_id: str, text: str, key: str | None = None
    ) -> str:
        log.info("notify %s (%s): %s", recipient, kind, text)
        table = self._db.table("notifications")
        table.insert(
            {
                "at": datetime.now(UTC).isoformat(),
                "recipient": recipient,
                "kind": kind,
                "request_id": request_id,
                "text": text,
                "key": key,
            }
        )
        return f"notification:{table.last_pk}"

    async def request_approval(self, input: ApprovalRequestInput) -> str:
        fallback = history_unavailable_text(input)
        if fallback is not None:
            self._record(
                input.request.requester, "review_fallback", input.request.request_id, fallback
            )
        return self._record(
            input.request.manager,
            "approval_request",
            input.request.request_id,
            approval_request_text(input),
        )

    async def announce_outcome(self, input: OutcomeNotificationInput) -> None:
        text = outcome_text(input)
        self._record(input.request.requester, "outcome", input.request.request_id, text)
        if describe_outcome(input.result).automated:
            self._record(input.request.manager, "auto_approval_fyi", input.request.request_id, text)

    async def alert_ops(self, text: str, *, last_try: bool = True) -> None:
        self._record("ops", "ops_alert", "", text)

    async def send_once(self, message: MessageInput, *, retrying: bool) -> str:
        table = self._db.table("notifications")
        if retrying:
            for row in table.rows_where("key = ?", [message.key], limit=1):
                return f"notification:{row['id']}"
        request_id = message_request_id(message)
        return self._record(
            message.recipient, message.kind.value, request_id, message_text(message), message.key
        )

    async def update_approval_message(self, input: OutcomeNotificationInput) -> None:
        # Recorded under the message it updates (as a retired one is): a request can have
        # several approval messages (levels, escalation, reminders), each updated.
        self._record(
            input.approval_message_ref,
            "approval_update",
            input.request.request_id,
            outcome_text(input),
        )

    async def retire_approval_message(self, input: RetiredMessageInput) -> None:
        request = input.approval.request
        self._record(input.message_ref, "approval_retired", request.request_id, input.line)

    def ops_alerts(self) -> list[str]:
        rows = self._db.table("notifications").rows_where("kind = ?", ["ops_alert"], order_by="id")
        return [str(row["text"]) for row in rows]

    def messages_for(self, request_id: str) -> list[dict[str, str]]:
        return [
            {k: str(v) for k, v in row.items()}
            for row in self._db.table("notifications").rows_where(
                "request_id = ?", [request_id], order_by="id"
            )
        ]
