"""PurchaseApprovalWorkflow: one durable workflow per purchase request.

validate product -> [automated review, behind the `automated-review-v1` patch] ->
manual approval (up to 7 days) unless auto-approved -> place the order -> tell the requester.

This module holds the workflow's patch list, `run()` as the sequence of steps, and the
handlers people reach it by (decisions, cancel, reassign, status). Each step lives in its own
module under `workflows/purchase/` (see its `__init__.py` for which part uses which):
`review.py`, `approval_stage.py` (asking, waiting, levels, escalation, delegation),
`reassignment.py`, `decisions.py`, `closing.py` (order and outcome), `messages.py` (Slack),
`state.py` (the state, audit trail and status).

Workflow code is deterministic: time comes from `workflow.now()`, everything that touches the
world is an activity.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.product_validation import ProductValidationActivities
    from domain.actors import SYSTEM
    from domain.models import (
        ApprovalDecision,
        ApprovalResult,
        CancelInput,
        CancelResult,
        CodePath,
        PurchaseResult,
        PurchaseStatus,
        PurchaseWorkflowInput,
        ReassignInput,
        ReassignResult,
        StatusResult,
        ValidationInput,
    )
    from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
    from workflows.patches import Patch

from workflows.purchase.activity_options import VALIDATION_TIMEOUT
from workflows.purchase.approval_stage import ApprovalStage
from workflows.purchase.closing import ClosingSteps
from workflows.purchase.decisions import DecisionRules
from workflows.purchase.reassignment import Reassignment
from workflows.purchase.review import ReviewStep

# Every patch this workflow checks, oldest first: the one list `purchasebot patches`, the replay
# gate (tests/test_replay_gate.py, tests/test_replay_drift.py) and the README derive from.
# A change to the commands (a new activity, timer, marker...) gets a new entry here, then the
# replay corpus is re-recorded (`make histories`, see the README's replay-gate section).
AUTOMATED_REVIEW_PATCH = Patch(
    "automated-review-v1", "the automated review decides low-risk requests before the manager"
)
REVIEW_FLAGS_PATCH = Patch(
    "review-flags-v1",
    "the review runs only when the `automated-review-enabled` flag is on for the requester, "
    "with the strictness of `review-strictness`",
)
NOTIFY_PATCH = Patch(
    "notify-exactly-once-v1",
    "one message per activity, each sent exactly once (Retry-After honoured); an approver Slack "
    "can never reach escalates to their manager, else the request ends with the reason; the "
    "decision clock runs from filing; a cancel stops a notification being retried",
)
HISTORY_OUTCOMES_PATCH = Patch(
    "history-outcomes-v1",
    "an invalid product ends as `invalid` (not `rejected`), and a rejection no person made (the "
    "7-day timeout, nobody reachable) is `rejected_by_system` in PurchaseOutcome: a requester's "
    "history counts only a person's rejections",
)
SHADOW_REVIEW_PATCH = Patch(
    "shadow-review-v1",
    "the review also evaluates the candidate rules in shadow, if any (`/rules shadow`), and the "
    "audit trail records its verdict; it never decides anything",
)
REMINDERS_PATCH = Patch(
    "approval-reminders-v1",
    "the approver is reminded by DM, with the same buttons, at the worker's configured points "
    "(`PURCHASEBOT_REMINDER_AFTER_DAYS`, default 1 and 4 days after filing); status and audit "
    "show each reminder",
)
ESCALATION_PATCH = Patch(
    "approval-escalation-v1",
    "with no decision after the worker's `PURCHASEBOT_ESCALATE_AFTER_DAYS` (default 5 days after "
    "filing) the request moves to the approver's own manager, who is asked with buttons; the "
    "original approver's messages are updated and they and the requester are told; the 7-day "
    "timeout stays the last resort",
)
LEVELS_PATCH = Patch(
    "approval-levels-v1",
    "amounts above the department's `second_approval_above` (live rules, default 2,000 EUR) need "
    "a second approval after the manager's, by the department head or a finance_users member, "
    "each level with its own message and buttons; a rejection at any level ends the request",
)
DELEGATION_PATCH = Patch(
    "delegation-v1",
    "a new request's approver is looked up in the delegations (an activity) before being asked: "
    "a delegate stands in while the delegation lasts, never the requester; the approver is kept "
    "in the `Approver` search attribute so waiting requests can be found",
)
REASSIGN_PATCH = Patch(
    "reassign-v1",
    "requests started from here on accept the `reassign` Update (ops' `/purchase reassign`, or a "
    "delegation reaching requests already waiting): the new approver gets the approval message "
    "with buttons, the previous one's message says where it went, the requester is told; a "
    "delegate's decision is audited on behalf of the delegator",
)
JOURNEY_PATCH = Patch(
    "journey-delegates-pool-v1",
    "an escalation target or second-level approver who delegated is replaced by their delegate "
    "(never the requester, nor whoever gave the first approval); every eligible second-level "
    "approver gets the message with buttons (the first decision wins, the others' messages say "
    "who decided); every earlier approval message (first level, escalated or handed from) ends "
    "showing the outcome",
)
DECIDERS_PATCH = Patch(
    "deciders-listed-v1",
    "everyone who may decide a waiting request (its approver and, at the second level, every "
    "eligible approver of the pool) is kept in the `Deciders` search attribute (KeywordList) "
    "whenever the `Approver` is: each of them finds the request in their App Home",
)
PATCHES: tuple[Patch, ...] = (
    AUTOMATED_REVIEW_PATCH,
    REVIEW_FLAGS_PATCH,
    NOTIFY_PATCH,
    HISTORY_OUTCOMES_PATCH,
    SHADOW_REVIEW_PATCH,
    REMINDERS_PATCH,
    ESCALATION_PATCH,
    LEVELS_PATCH,
    DELEGATION_PATCH,
    REASSIGN_PATCH,
    JOURNEY_PATCH,
    DECIDERS_PATCH,
)


@workflow.defn(name=PURCHASE_WORKFLOW_TYPE)
class PurchaseApprovalWorkflow(
    ReviewStep, ClosingSteps, DecisionRules, Reassignment, ApprovalStage
):
    """The request's whole journey; its parts (the base classes) are in `workflows/purchase/`."""

    @workflow.init
    def __init__(self, input: PurchaseWorkflowInput) -> None:
        super().__init__(input)

    @workflow.run
    async def run(self, input: PurchaseWorkflowInput) -> PurchaseResult:
        request = input.request
        # Decided first, before any local activity: a local activity may end the workflow task
        # early (e.g. when a query arrives), and a patch checked after that task boundary is not
        # seen on replay. Checked here, the marker always lands in the first workflow task.
        reviewing = workflow.patched(AUTOMATED_REVIEW_PATCH.id)
        self._code_path = CodePath.PATCHED if reviewing else CodePath.ORIGINAL
        # The feature flags came after the review: requests that started reviewing without
        # them keep reviewing unconditionally on replay.
        flag_gated = reviewing and workflow.patched(REVIEW_FLAGS_PATCH.id)
        self._exactly_once = workflow.patched(NOTIFY_PATCH.id)
        self._history_outcomes = workflow.patched(HISTORY_OUTCOMES_PATCH.id)
        self._shadow_review = reviewing and workflow.patched(SHADOW_REVIEW_PATCH.id)
        self._reminding = workflow.patched(REMINDERS_PATCH.id)
        self._escalating = workflow.patched(ESCALATION_PATCH.id)
        self._leveled = workflow.patched(LEVELS_PATCH.id)
        self._delegating = workflow.patched(DELEGATION_PATCH.id)
        self._reassignable = workflow.patched(REASSIGN_PATCH.id)
        self._journey_v2 = workflow.patched(JOURNEY_PATCH.id)
        self._deciders_listed = workflow.patched(DECIDERS_PATCH.id)
        filed_at = workflow.now()
        self._record(request.requester, "requested", f"{request.quantity} x {request.product_url}")

        # 1. The product exists and may be bought.
        validation = await workflow.execute_local_activity_method(
            ProductValidationActivities.validate_product,
            ValidationInput(request=request),
            start_to_close_timeout=VALIDATION_TIMEOUT,
        )
        if not validation.valid or validation.product is None:
            self._record(SYSTEM, "product_invalid", validation.reason)
            invalid = PurchaseStatus.INVALID if self._history_outcomes else PurchaseStatus.REJECTED
            return await self._finish(invalid, validation.reason)
        product = self._product = validation.product
        self._record(SYSTEM, "product_validated", product.title)

        # 2. The automated review (`review.py`).
        if self._code_path is CodePath.PATCHED:
            await self._review_if_enabled(product, flag_gated)

        # 3. Auto-approved, or a person decides (`approval_stage.py`).
        message_ref = ""
        if self._review is not None and self._review.auto_approved:
            self._auto_approve()
        else:
            message_ref = await self._approval_stage(product, filed_at)
            if self._unreachable is not None:
                return await self._finish(PurchaseStatus.REJECTED, self._unreachable)
            if self._cancellation is not None:
                return await self._finish(
                    PurchaseStatus.CANCELLED, self._cancellation.reason, message_ref
                )

        # 4. Rejected, or ordered (`closing.py`); either way everyone is told.
        assert self._approval is not None
        if not self._approval.approved:
            return await self._finish(PurchaseStatus.REJECTED, self._approval.comments, message_ref)
        return await self._purchase(product, message_ref)

    # --- handlers: how people reach a running request -----------------------------------------

    @workflow.signal(name="approval_decision")
    def approval_decision(self, decision: ApprovalDecision) -> None:
        """Fire-and-forget decisions (the seed's interface). Invalid ones are ignored and
        audited; use the `decide` update to get the refusal back."""
        refusal = self._refusal(decision)
        if refusal is not None:
            self._record(decision.decided_by, "decision_ignored", refusal)
            return
        self._apply(decision)

    @workflow.update(name="decide")
    def decide(self, decision: ApprovalDecision) -> ApprovalResult:
        # No validator: a refused decision is accepted into history so that it is audited on
        # the request (who, what, why), then fails with the reason.
        refusal = self._refusal(decision)
        if refusal is not None:
            verb = "approve" if decision.approved else "reject"
            self._record(decision.decided_by, "decision_refused", f"{verb}: {refusal}")
            raise ApplicationError(refusal, type="DecisionRefused", non_retryable=True)
        return self._apply(decision)

    @workflow.update(name="cancel")
    def cancel(self, cancel: CancelInput) -> CancelResult:
        refusal = self._cancel_refusal(cancel)  # audited like refused decisions (no validator)
        if refusal is not None:
            self._record(cancel.requested_by, "cancel_refused", refusal)
            raise ApplicationError(refusal, type="CancelRefused", non_retryable=True)
        self._cancellation = cancel
        self._record(cancel.requested_by, "cancelled", cancel.reason)
        return CancelResult(cancelled_at=workflow.now())

    @workflow.update
    async def reassign(self, move: ReassignInput) -> ReassignResult:
        """The request now waits for `move.to`: they get the approval message with buttons,
        the previous approver's message loses its buttons and says where it went, the
        requester is told. Refused (validator: nothing written) when it cannot move."""
        return await self._reassign(move)

    @reassign.validator
    def _validate_reassign(self, move: ReassignInput) -> None:
        refusal = self._reassign_refusal(move)
        if refusal is not None:
            raise ApplicationError(refusal, type="ReassignRefused", non_retryable=True)

    @workflow.query(name="status")
    def status(self) -> StatusResult:
        return self._snapshot()
