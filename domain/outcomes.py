"""How a request ended, described once. The Slack messages (bot/slack/blocks.py), the plain-text
notifications and message fallbacks (activities/notifier.py) and the CLI all render this
`Outcome`; none of them decides on its own what a status means or who decided."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from domain.actors import is_automated, is_person
from domain.models import PurchaseResult, PurchaseStatus

EMOJI = {
    PurchaseStatus.COMPLETED: ":white_check_mark:",
    PurchaseStatus.REJECTED: ":x:",
    PurchaseStatus.CANCELLED: ":no_entry_sign:",
    PurchaseStatus.FAILED: ":warning:",
    PurchaseStatus.INVALID: ":no_entry:",
}
# What followed the decision, by status.
CONSEQUENCE = {
    PurchaseStatus.COMPLETED: " and ordered",
    PurchaseStatus.FAILED: " but could not be ordered",
}


@dataclass(frozen=True)
class Outcome:
    status: PurchaseStatus
    decision: str  # "approved", "auto-approved", "rejected", "cancelled" or "invalid"
    decided_by: str | None  # a person's Slack user id; None when no person decided
    decided_at: datetime | None
    detail: str  # the order ("order ORD-1, 39.90 EUR") or the reason
    automated: bool  # approved by the automated review (the manager gets an FYI)
    comment: str = ""  # the approver's words on an approval (a rejection's are the detail)
    why: str = ""  # for an automated approval: the review's reason and confidence

    @property
    def emoji(self) -> str:
        return EMOJI[self.status]

    @property
    def headline(self) -> str:
        """Without who or why: "approved and ordered", "approved but could not be ordered"."""
        return f"{self.decision}{CONSEQUENCE.get(self.status, '')}"

    def summary(self, person: Callable[[str], str] = str) -> str:
        """ "approved by UCARLOS and ordered: order ORD-1, 39.90 EUR" (`person` renders the
        approver: a Slack mention in Slack)."""
        by = f" by {person(self.decided_by)}" if self.decided_by else ""
        text = f"{self.decision}{by}{CONSEQUENCE.get(self.status, '')}"
        return f"{text}: {self.detail}" if self.detail else text

    def sentence(self, person: Callable[[str], str] = str) -> str:
        """The summary as a sentence: capitalised, ending in a full stop."""
        text = self.summary(person)
        return full_stop(text[:1].upper() + text[1:])


def full_stop(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def describe_outcome(result: PurchaseResult, literal: Callable[[str], str] = str) -> Outcome:
    """`literal` renders text that came from people or the outside world (reasons, comments) for
    the medium: `domain.mrkdwn.escape` for anything Slack shows."""
    approval = result.approval
    if result.status is PurchaseStatus.CANCELLED or approval is None:
        # Cancelled by the requester, or refused before anyone decided (an invalid product:
        # `invalid` since history-outcomes-v1, `rejected` before).
        decision = {
            PurchaseStatus.CANCELLED: "cancelled",
            PurchaseStatus.INVALID: "invalid",
        }.get(result.status, "rejected")
        return Outcome(result.status, decision, None, None, literal(result.reason), automated=False)
    automated = is_automated(approval.decided_by)
    verb = "approved" if approval.approved else "rejected"
    person = approval.decided_by if is_person(approval.decided_by) else None
    review = result.review
    if result.status is PurchaseStatus.COMPLETED and result.order is not None:
        detail = literal(f"order {result.order.order_id}, {result.order.total}")
    else:
        detail = literal(result.reason)
    return Outcome(
        status=result.status,
        decision=f"auto-{verb}" if automated else verb,
        decided_by=person,
        decided_at=approval.decided_at if person else None,
        detail=detail,
        automated=automated and approval.approved,
        comment=literal(approval.comments) if approval.approved and person else "",
        why=(
            literal(f"{review.reason} (confidence {review.confidence:.2f})")
            if automated and review is not None
            else ""
        ),
    )
