"""The data that crosses Temporal boundaries: workflow, activity, signal, update and query
inputs and results.

Every model is pydantic v2 and travels through `pydantic_data_converter`. New fields must get
defaults so histories recorded by older code still decode.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.actors import AUTOMATED_SYSTEM

DEFAULT_CURRENCY = "EUR"


class Money(BaseModel):
    """An amount of money. Never a float: float arithmetic loses cents."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValueError(f"'{value}' is not a three-letter currency code such as EUR")
        return code

    def __str__(self) -> str:
        return f"{self.amount:.2f} {self.currency}"


# --- the request -------------------------------------------------------------------------


class PurchaseRequest(BaseModel):
    """A validated purchase request, built by intake from what the employee typed plus the
    company directory (department, manager)."""

    request_id: str
    requester: str = Field(description="Slack user id of the employee asking")
    employee_id: str
    department: str
    manager: str = Field(description="Slack user id of the approver")
    product_url: str
    quantity: int = 1
    amount: Money
    justification: str = ""
    requested_at: datetime | None = None


class PurchaseWorkflowInput(BaseModel):
    request: PurchaseRequest


# --- product validation -------------------------------------------------------------------


class ProductInfo(BaseModel):
    asin: str
    title: str
    category: str
    unit_price: Money
    vendor: str = Field(description="Marketplace domain, e.g. amazon.es")
    url: str


class ValidationInput(BaseModel):
    request: PurchaseRequest


class ValidationResult(BaseModel):
    valid: bool
    reason: str = ""
    product: ProductInfo | None = None


# --- automated review ---------------------------------------------------------------------


class AutomatedReviewInput(BaseModel):
    request: PurchaseRequest
    product: ProductInfo
    strictness: str = "standard"
    # Since `shadow-review-v1`: also evaluate the shadow candidate rules, if there are any.
    shadow: bool = False


class ShadowVerdict(BaseModel):
    """What a candidate rule set running in shadow would have decided. Recorded in the request's
    audit trail; it never decides anything."""

    auto_approved: bool
    reason: str
    risk_score: float
    confidence: float
    candidate: str = Field(description="the candidate's reference, `c<n> (<content hash>)`")


class AutomatedReviewResult(BaseModel):
    auto_approved: bool
    confidence: float
    reason: str
    risk_score: float
    reviewed_by: str = AUTOMATED_SYSTEM
    review_time: datetime
    rules_version: str
    # Why the requester's history could not be read; empty when it was. The request then goes
    # to a person, and the requester and ops are told why (never a silent fallback).
    history_unavailable: str = ""
    # The shadow candidate's verdict on the same request and history, when one ran in shadow.
    shadow: ShadowVerdict | None = None


# --- approval -------------------------------------------------------------------------------


class ApprovalDecision(BaseModel):
    """Input of the `approval_decision` signal and the `decide` update."""

    approved: bool
    decided_by: str = Field(description="Slack user id of whoever clicked")
    comments: str = ""
    message_ref: str = Field(
        default="",
        description="channel:ts of the approval message clicked; a decision made from another "
        "request's message is refused",
    )


class ApprovalResult(BaseModel):
    approved: bool
    decided_by: str
    decided_at: datetime
    comments: str = ""
    # The delegator, when the approver decided as someone's delegate (since reassign-v1).
    on_behalf_of: str = ""


class CancelInput(BaseModel):
    requested_by: str
    reason: str = ""


class CancelResult(BaseModel):
    cancelled_at: datetime


class ApprovalRequestInput(BaseModel):
    request: PurchaseRequest
    product: ProductInfo
    review: AutomatedReviewResult | None = None
    code_path: str
    # Shown above the request's facts: why this message (a reminder, an escalation, a level).
    note: str = ""


class ApprovalRequestResult(BaseModel):
    message_ref: str = ""


class ReassignInput(BaseModel):
    """Input of the `reassign` update: the request now waits for `to`. `by` is who moved it (an
    ops user, or the approver who delegated); `on_behalf_of` the approver `to` stands in for
    when it is a delegation ("" for an ops reassignment)."""

    to: str = Field(description="Slack user id of the new approver")
    by: str
    reason: str = ""
    on_behalf_of: str = ""


class ReassignResult(BaseModel):
    previous: str
    approver: str
    reassigned_at: datetime
    message_ref: str = ""


class DelegateLookupInput(BaseModel):
    approver: str
    requester: str
    # Who may not stand in either (besides the requester): whoever gave the first approval.
    excluded: list[str] = Field(default_factory=list)


class DelegateLookupResult(BaseModel):
    """Who is asked instead of `approver`: `approver` itself when nobody stands in; otherwise
    `on_behalf_of` is the approver and `note` says why (for the audit trail)."""

    approver: str
    on_behalf_of: str = ""
    note: str = ""


# --- purchase -----------------------------------------------------------------------------


class PlaceOrderInput(BaseModel):
    request: PurchaseRequest
    product: ProductInfo


class PlaceOrderResult(BaseModel):
    order_id: str
    idempotency_key: str
    total: Money
    placed_at: datetime


# --- outcome --------------------------------------------------------------------------------


class PurchaseStatus(StrEnum):
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"  # approved, but the order could not be placed
    INVALID = "invalid"  # the product could not be bought as asked (link, store, amount)


# PurchaseOutcome of a rejection no person made (timeout, nobody reachable): not counted in the
# requester's history as a rejection.
REJECTED_BY_SYSTEM = "rejected_by_system"


class CodePath(StrEnum):
    """Which branch of `workflow.patched("automated-review-v1")` a request took."""

    ORIGINAL = "original"
    PATCHED = "patched"


class PurchaseResult(BaseModel):
    request_id: str
    status: PurchaseStatus
    reason: str = ""
    code_path: CodePath
    product: ProductInfo | None = None
    review: AutomatedReviewResult | None = None
    approval: ApprovalResult | None = None
    order: PlaceOrderResult | None = None


class OutcomeNotificationInput(BaseModel):
    request: PurchaseRequest
    result: PurchaseResult
    approval_message_ref: str = Field(
        default="", description="The manager's approval message, to be updated with the outcome"
    )


class NotificationResult(BaseModel):
    delivered: bool = True


class MessageKind(StrEnum):
    APPROVAL_REQUEST = "approval_request"
    OUTCOME = "outcome"
    AUTO_APPROVAL_FYI = "auto_approval_fyi"
    NOTICE = "notice"  # a plain note to the requester (e.g. their request was escalated)
    REVIEW_FALLBACK = "review_fallback"  # the requester: a person decides, history unreadable
    REMINDER = "approval_reminder"  # the approver again, with the same buttons


class MessageInput(BaseModel):
    """One message to one person, sent exactly once: `key` names it across activity retries
    (a retry first looks for a message already sent under that key)."""

    kind: MessageKind
    key: str
    recipient: str = Field(description="Slack user id")
    approval: ApprovalRequestInput | None = None  # APPROVAL_REQUEST
    outcome: OutcomeNotificationInput | None = None  # OUTCOME, AUTO_APPROVAL_FYI
    text: str = ""  # NOTICE: mrkdwn, user text already escaped


class MessageResult(BaseModel):
    message_ref: str = ""


class ApproverInput(BaseModel):
    approver: str
    requester: str
    tried: list[str] = Field(default_factory=list)


class ApproverResult(BaseModel):
    """Who is asked when `approver` cannot be reached: their manager; "" when nobody."""

    escalate_to: str = ""


class RetiredMessageInput(BaseModel):
    """An approver's message whose buttons no longer decide (the request moved on): it keeps
    the request's facts and says why, with no buttons."""

    message_ref: str
    approval: ApprovalRequestInput
    line: str = Field(description="mrkdwn written by the workflow")


class SecondLevel(BaseModel):
    threshold: Money
    approvers: list[str]


class ApprovalPlanInput(BaseModel):
    request: PurchaseRequest


class ApprovalPlan(BaseModel):
    """When the approver is reminded, measured from when they were first due to decide (filing,
    for the manager). The worker's configuration, read in an activity so that the workflow keeps
    the plan it started with in its history."""

    reminders_after: list[timedelta] = Field(default_factory=list)
    # When the request moves to the approver's own manager; None: never.
    escalate_after: timedelta | None = None
    # Above the department's threshold, who may give the second approval (asked in order).
    second_level: SecondLevel | None = None


class JourneyStep(StrEnum):
    ASKED = "asked"
    REMINDED = "reminded"
    ESCALATED = "escalated"  # the person is the one the request moved to
    DELEGATED = "delegated"  # a delegate stands in (delegation-v1, reassign-v1)
    REASSIGNED = "reassigned"  # ops handed it to someone else (reassign-v1)
    DECIDED = "decided"


class JourneyEvent(BaseModel):
    """One step of a request's way to a decision, for `status`: who, when."""

    at: datetime
    step: JourneyStep
    person: str
    level: int = 0  # of a request with two approval levels: 1 or 2


# --- status query and audit -----------------------------------------------------------------


class Stage(StrEnum):
    VALIDATING = "validating"
    REVIEWING = "reviewing"
    AWAITING_APPROVAL = "awaiting_approval"
    PURCHASING = "purchasing"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INVALID = "invalid"


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: str = ""
    code_path: CodePath | None = None
    rules_version: str = ""


class StatusResult(BaseModel):
    request_id: str
    stage: Stage
    request: PurchaseRequest
    code_path: CodePath | None = None
    product: ProductInfo | None = None
    review: AutomatedReviewResult | None = None
    approval: ApprovalResult | None = None
    audit: list[AuditEntry] = Field(default_factory=list)
    # Who the request waits for now (the manager, or whom it escalated to). None from builds
    # that predate the field: their approver is `request.manager` unless the trail escalated.
    approver: str | None = None
    # `<channel>:<ts>` of the approval message with the buttons ("" until it is sent).
    approval_message_ref: str = ""
    # Who was asked, reminded, and decided, with times (oldest first).
    journey: list[JourneyEvent] = Field(default_factory=list)
    # Approval levels (approval-levels-v1): which one it is at, of how many; the first's result.
    level: int = 1
    levels: int = 1
    first_approval: ApprovalResult | None = None
    # Whom the approver stands in for (a delegation, since delegation-v1 / reassign-v1).
    on_behalf_of: str = ""
    # Everyone who may decide now: the approver and, at the second level, the eligible pool.
    # Empty from builds that predate the field (their only decider is `approver`).
    deciders: list[str] = Field(default_factory=list)

    def involves(self, person: str) -> bool:
        """The requester, their manager, and everyone asked to decide it, now or at any step of
        its way (a first approver, an approver it was handed from, a delegate who decided)."""
        asked = (event.person for event in self.journey)
        named = (self.request.requester, self.request.manager, self.approver, *self.deciders)
        return person in {*named, *asked}


class OpsAuditState(BaseModel):
    entries: list[AuditEntry] = Field(default_factory=list)
