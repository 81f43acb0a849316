"""One closed-or-running purchase request as the dashboard sees it, derived from what Temporal
keeps (the workflow's input, its result and its execution status): never a second copy."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.actors import SYSTEM, is_automated, is_person
from domain.models import PurchaseRequest, PurchaseResult, PurchaseStatus


class Fate(StrEnum):
    """How a request ended, each request exactly one (the dashboard's `counts`)."""

    RUNNING = "running"
    INVALID = "invalid"  # refused by validation: nobody reviewed or decided
    AUTO_APPROVED = "auto_approved"
    MANUALLY_APPROVED = "manually_approved"
    REJECTED = "rejected"  # by a person
    TIMED_OUT = "timed_out"  # nobody decided within the approval window
    CANCELLED = "cancelled"
    FAILED = "failed"  # the workflow failed (e.g. the order), or no approver was reachable


@dataclass(frozen=True, slots=True)
class RequestFacts:
    request_id: str
    department: str
    filed_at: datetime
    amount: Decimal
    currency: str
    fate: Fate
    reviewed: bool = False  # the automated review reached a verdict
    review_seconds: float | None = None  # filing to the review's verdict
    confidence: float | None = None
    decision_seconds: float | None = None  # filing to the approval decision (auto or person)
    flagged_wrong: bool = False

    @property
    def valid(self) -> bool:
        return self.fate is not Fate.INVALID


def facts_of(
    request: PurchaseRequest,
    started_at: datetime,
    result: PurchaseResult | None,
    *,
    workflow_failed: bool = False,
    flagged: bool = False,
) -> RequestFacts:
    """`result` is None while the request runs, or when its workflow failed (`workflow_failed`:
    then the result was never returned, although the decision may have been made)."""
    filed_at = request.requested_at or started_at
    base = RequestFacts(
        request_id=request.request_id,
        # One string per department and currency, not one per request: the projection keeps
        # 100,000 of these.
        department=sys.intern(request.department),
        filed_at=filed_at,
        amount=request.amount.amount,
        currency=sys.intern(request.amount.currency),
        fate=Fate.FAILED if workflow_failed else Fate.RUNNING,
    )
    if result is None:
        return base
    review = result.review
    approval = result.approval
    return RequestFacts(
        request_id=base.request_id,
        department=base.department,
        filed_at=filed_at,
        amount=base.amount,
        currency=base.currency,
        fate=_fate(result),
        reviewed=review is not None,
        review_seconds=_seconds(filed_at, review.review_time) if review else None,
        confidence=review.confidence if review is not None and review.auto_approved else None,
        decision_seconds=(
            _seconds(filed_at, approval.decided_at)
            if approval is not None and (is_person(approval.decided_by) or approval.approved)
            else None
        ),
        flagged_wrong=flagged and review is not None and review.auto_approved,
    )


def _fate(result: PurchaseResult) -> Fate:
    approval = result.approval
    if result.status is PurchaseStatus.CANCELLED:
        return Fate.CANCELLED
    if result.status is PurchaseStatus.FAILED:
        return Fate.FAILED
    if approval is None:
        # Closed before anyone could decide: an invalid product, or nobody reachable.
        return Fate.INVALID if result.product is None else Fate.FAILED
    if approval.approved:
        return Fate.AUTO_APPROVED if is_automated(approval.decided_by) else Fate.MANUALLY_APPROVED
    return Fate.TIMED_OUT if approval.decided_by == SYSTEM else Fate.REJECTED


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())
