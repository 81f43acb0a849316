"""What a purchase request's workflow knows while it runs, and its bookkeeping: the audit
trail, the journey (asked, reminded, escalated, delegated, decided) and the status snapshot.

Every other part of the workflow reads and writes these fields; none keeps state of its own.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import (
        ApprovalResult,
        AuditEntry,
        AutomatedReviewResult,
        CancelInput,
        CodePath,
        JourneyEvent,
        JourneyStep,
        Money,
        ProductInfo,
        PurchaseWorkflowInput,
        Stage,
        StatusResult,
    )

from workflows.purchase.wording import utc

# The steps after which a person has the request to decide.
ASKING = (
    JourneyStep.ASKED,
    JourneyStep.ESCALATED,
    JourneyStep.DELEGATED,
    JourneyStep.REASSIGNED,
)


class PurchaseState:
    """The request's state (set up from the workflow's input) and how it is recorded."""

    def __init__(self, input: PurchaseWorkflowInput) -> None:
        self._request = input.request
        self._stage = Stage.VALIDATING
        self._code_path: CodePath | None = None
        self._product: ProductInfo | None = None
        self._review: AutomatedReviewResult | None = None
        self._approval: ApprovalResult | None = None
        self._cancellation: CancelInput | None = None
        self._audit: list[AuditEntry] = []
        self._asked_manager = False
        # Who may decide: the requester's manager, or whoever the request escalated to.
        self._approver = input.request.manager
        self._approval_message_ref = ""
        self._unreachable: str | None = None  # why nobody could be asked, when so
        self._exactly_once = False
        self._history_outcomes = False
        self._shadow_review = False
        self._reminding = False
        # Messages whose buttons decide this request beside the first one (reminders); they
        # are updated with the outcome too.
        self._reminder_refs: list[str] = []
        self._journey: list[JourneyEvent] = []
        self._escalating = False
        # Messages whose buttons no longer decide (the request moved on), with why not.
        self._retired_refs: dict[str, str] = {}
        # Approval levels, since LEVELS_PATCH: the level being decided, of how many; who may
        # give the second approval (from the plan); the first level's decision.
        self._leveled = False
        self._level = 1
        self._levels = 1
        self._second_pool: list[str] = []
        self._second_threshold: Money | None = None
        self._first_approval: ApprovalResult | None = None
        # Since REASSIGN_PATCH / DELEGATION_PATCH: whom the approver stands in for (a
        # delegation), and whether a reassignment is sending its message right now.
        self._delegating = False
        self._reassignable = False
        self._on_behalf_of = ""
        self._moves = 0
        self._reassigning = False
        self._asking = 0  # messages with buttons being sent right now
        # Since JOURNEY_PATCH: escalation and the second level consult delegations; every
        # eligible second-level approver is asked (who was asked -> on whose behalf, "" if for
        # themselves); every earlier approval message is updated with the outcome.
        self._journey_v2 = False
        self._second_deciders: dict[str, str] = {}
        # Since DECIDERS_PATCH: everyone who may decide is kept in the `Deciders` search
        # attribute beside the `Approver`.
        self._deciders_listed = False

    def _record(
        self, actor: str, action: str, detail: str = "", *, rules_version: str = ""
    ) -> None:
        """The audit trail lives in the workflow: durable, replayed, readable by `status`."""
        self._audit.append(
            AuditEntry(
                at=workflow.now(),
                actor=actor,
                action=action,
                detail=detail,
                code_path=self._code_path,
                rules_version=rules_version or (self._review.rules_version if self._review else ""),
            )
        )

    def _step(self, step: JourneyStep, person: str) -> None:
        level = self._level if self._levels == 2 else 0
        self._journey.append(JourneyEvent(at=workflow.now(), step=step, person=person, level=level))

    def _settled(self) -> bool:
        return self._approval is not None or self._cancellation is not None

    def _asked_since(self, person: str = "") -> str:
        """Since when `person` (the current approver) has had the request, for their messages."""
        who = person or self._approver
        asked = [e.at for e in self._journey if e.person == who and e.step in ASKING]
        return f" since {utc(asked[-1])}" if asked else ""

    def _message_key(self, what: str) -> str:
        return f"{workflow.info().workflow_id}:{what}"

    def _first_approvers(self) -> list[str]:
        """Who may not give the second approval: whoever gave the first, and since JOURNEY_PATCH
        the person they stood in for (nobody approves both levels, also not by delegation)."""
        first = self._first_approval
        if self._level < 2 or first is None:
            return []
        if self._journey_v2 and first.on_behalf_of:
            return [first.decided_by, first.on_behalf_of]
        return [first.decided_by]

    def _deciders(self) -> list[str]:
        """Who may decide now, as the decision rules allow (`_may_decide`, `_level_refusal`):
        the approver and, at the second level, the pool and whoever was asked in a pool
        member's place, less whoever gave (or stood in for) the first approval."""
        people = [self._approver]
        if self._level == 2:
            barred = self._first_approvers()
            people += [p for p in (*self._second_pool, *self._second_deciders) if p not in barred]
        return list(dict.fromkeys(people))

    def _snapshot(self) -> StatusResult:
        """What `status` answers: the request, where it stands, its audit trail and journey."""
        return StatusResult(
            request_id=self._request.request_id,
            stage=self._stage,
            request=self._request,
            code_path=self._code_path,
            product=self._product,
            review=self._review,
            approval=self._approval,
            audit=list(self._audit),
            approver=self._approver,
            approval_message_ref=self._approval_message_ref,
            journey=list(self._journey),
            level=self._level,
            levels=self._levels,
            first_approval=self._first_approval,
            on_behalf_of=self._on_behalf_of,
            deciders=self._deciders(),
        )
