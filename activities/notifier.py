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

from domain.models import ApprovalRequestInput, OutcomeNotificationInput
from domain.mrkdwn import escape
from domain.outcomes import describe_outcome, full_stop

log = logging.getLogger(__name__)


class NotDeliveredYet(Exception):
    """The channel is having trouble and asked to be tried again after `retry_after` seconds
    (Slack's 429 Retry-After, a 5xx, a timeout). Activities turn it into a retry after that
    delay instead of the default backoff."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Notifier(Protocol):
    async def request_approval(self, input: ApprovalRequestInput) -> str:
        """Ask the manager to decide; returns a reference to the message sent."""

    async def announce_outcome(self, input: OutcomeNotificationInput) -> None:
        """Tell the requester (and, for auto-approvals, the manager) how it ended."""

    async def alert_ops(self, text: str, *, last_try: bool = True) -> None:
        """Tell the ops channel (rollouts, rollbacks, failed health checks). On the `last_try`
        a channel that cannot be reached is replaced by direct messages to the ops users; a
        caller that will try again passes False and gets NotDeliveredYet on Slack's trouble."""


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
    return text + f" Code path: {input.code_path}."


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

    def _record(self, recipient: str, kind: str, request_id: str, text: str) -> str:
        log.info("notify %s (%s): %s", recipient, kind, text)
        table = self._db.table("notifications")
        table.insert(
            {
                "at": datetime.now(UTC).isoformat(),
                "recipient": recipient,
                "kind": kind,
                "request_id": request_id,
                "text": text,
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
