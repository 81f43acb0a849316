"""PurchaseApprovalWorkflow: one durable workflow per purchase request.

validate product -> [automated review, behind the `automated-review-v1` patch] ->
manual approval (up to 7 days) unless auto-approved -> place the order -> tell the requester.

Workflow code is deterministic: time comes from `workflow.now()`, everything that touches the
world is an activity.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from activities.approval_plan import ApprovalPlanActivities
    from activities.automated_review import AutomatedReviewActivities
    from activities.delegations import DelegationActivities
    from activities.feature_flags import FeatureFlagActivities
    from activities.notifications import UNDELIVERABLE, NotificationActivities
    from activities.ordering import OrderingActivities
    from activities.product_validation import ProductValidationActivities
    from domain import product_metrics
    from domain.actors import AUTOMATED_SYSTEM, SHADOW_REVIEW, SYSTEM, is_person, mention
    from domain.delegation import filed_before_reassignment
    from domain.feature_flags import EvaluateFlagsInput, FlagsEvaluation
    from domain.flag_registry import AUTOMATED_REVIEW, REVIEW_STRICTNESS
    from domain.models import (
        REJECTED_BY_SYSTEM,
        ApprovalDecision,
        ApprovalPlan,
        ApprovalPlanInput,
        ApprovalRequestInput,
        ApprovalResult,
        ApproverInput,
        AuditEntry,
        AutomatedReviewInput,
        AutomatedReviewResult,
        CancelInput,
        CancelResult,
        CodePath,
        DelegateLookupInput,
        DelegateLookupResult,
        JourneyEvent,
        JourneyStep,
        MessageInput,
        MessageKind,
        Money,
        OutcomeNotificationInput,
        PlaceOrderInput,
        PlaceOrderResult,
        ProductInfo,
        PurchaseResult,
        PurchaseStatus,
        PurchaseWorkflowInput,
        ReassignInput,
        ReassignResult,
        RetiredMessageInput,
        ShadowVerdict,
        Stage,
        StatusResult,
        ValidationInput,
    )
    from domain.mrkdwn import escape
    from domain.rollout_models import OpsAlertInput
    from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
    from workflows.names import (
        APPROVAL_TIMEOUT_DAYS,
        APPROVER,
        PURCHASE_OUTCOME,
        REVIEW_PATH,
    )
    from workflows.patches import Patch


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
)

# Short, local steps run as local activities: no extra round trip through the server's
# task queue, which is what makes the auto-approved path faster than a plain workflow.
VALIDATION_TIMEOUT = timedelta(seconds=30)
REVIEW_TIMEOUT = timedelta(minutes=5)
REVIEW_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=100),
    maximum_attempts=3,
)
# Ordering and Slack are the outside world: regular activities, retried by the server, so a
# crashed worker's step is picked up by another one. The order heartbeats so a dead worker is
# noticed in seconds, not after the whole start-to-close timeout.
ORDER_TIMEOUT = timedelta(minutes=2)
ORDER_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
NOTIFY_TIMEOUT = timedelta(seconds=30)
# Since NOTIFY_PATCH: each message is one short activity; Slack's trouble is retried after the
# delay Slack asks for (else this backoff), at most MESSAGE_RETRY.maximum_attempts times (about
# 10 minutes); a message that can never be delivered is not retried at all.
MESSAGE_TIMEOUT = timedelta(seconds=10)
MESSAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=8,
    non_retryable_error_types=[UNDELIVERABLE],
)
LOOKUP_RETRY = RetryPolicy(maximum_attempts=3)

M = TypeVar("M", MessageInput, OutcomeNotificationInput, OpsAlertInput, RetiredMessageInput)

# The follow-ups of a waiting request, in the order they happen when due at the same time.
_REMIND, _ESCALATE = 0, 1
# The steps after which a person has the request to decide.
_ASKING = (
    JourneyStep.ASKED,
    JourneyStep.ESCALATED,
    JourneyStep.DELEGATED,
    JourneyStep.REASSIGNED,
)


@workflow.defn(name=PURCHASE_WORKFLOW_TYPE)
class PurchaseApprovalWorkflow:
    @workflow.init
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
        filed_at = workflow.now()
        self._record(request.requester, "requested", f"{request.quantity} x {request.product_url}")

        validation = await workflow.execute_local_activity_method(
            ProductValidationActivities.validate_product,
            ValidationInput(request=request),
            start_to_close_timeout=VALIDATION_TIMEOUT,
        )
        if not validation.valid or validation.product is None:
            self._record(SYSTEM, "product_invalid", validation.reason)
            invalid = PurchaseStatus.INVALID if self._history_outcomes else PurchaseStatus.REJECTED
            return await self._finish(invalid, validation.reason)
        self._product = validation.product
        self._record(SYSTEM, "product_validated", validation.product.title)

        if self._code_path is CodePath.PATCHED:
            flags = await self._evaluate_flags() if flag_gated else None
            if flags is None or flags.value(AUTOMATED_REVIEW):
                strictness = flags.value(REVIEW_STRICTNESS) if flags else "standard"
                self._review = await self._automated_review(validation.product, strictness)

        message_ref = ""
        if self._review is not None and self._review.auto_approved:
            self._approval = ApprovalResult(
                approved=True,
                decided_by=AUTOMATED_SYSTEM,
                decided_at=workflow.now(),
                comments=(
                    f"Auto-approved: {self._review.reason} "
                    f"(confidence: {self._review.confidence:.2f})"
                ),
            )
            self._record(AUTOMATED_SYSTEM, "auto_approved", self._review.reason)
        elif self._exactly_once:
            plan = await self._levels_plan() if self._leveled else None
            message_ref = await self._ask_approvers(validation.product)
            if self._unreachable is not None:
                return await self._finish(PurchaseStatus.REJECTED, self._unreachable)
            if self._cancellation is None:
                # The approver's week runs from filing, not from when Slack let us ask.
                await self._await_decision(validation.product, plan, filed_at)
                if self._reminding:
                    # An escalation moved the buttons to another message.
                    message_ref = self._approval_message_ref
                # A reassignment moved the approval message: the outcome updates the current one.
                message_ref = self._approval_message_ref or message_ref
            if self._cancellation is None and self._second_level_due():
                since = workflow.now()  # the second approver's week runs from the first's
                await self._second_approval(validation.product)
                if self._unreachable is not None:
                    return await self._finish(PurchaseStatus.REJECTED, self._unreachable)
                if self._cancellation is None:
                    await self._await_decision(validation.product, plan, since)
                message_ref = self._approval_message_ref
            if self._cancellation is not None:
                return await self._finish(
                    PurchaseStatus.CANCELLED, self._cancellation.reason, message_ref
                )
        else:
            message_ref = await self._ask_manager(validation.product)
            await self._wait_for_decision()
            if self._cancellation is not None:
                return await self._finish(
                    PurchaseStatus.CANCELLED, self._cancellation.reason, message_ref
                )

        assert self._approval is not None
        if not self._approval.approved:
            return await self._finish(PurchaseStatus.REJECTED, self._approval.comments, message_ref)
        return await self._purchase(validation.product, message_ref)

    # --- steps ------------------------------------------------------------------------------

    async def _evaluate_flags(self) -> FlagsEvaluation | None:
        """Patched code AND the flag on -> automated review. Evaluated in an activity so the
        answer is recorded in history and replays the same. Unreadable flags mean no review:
        a person decides, which is always safe."""
        try:
            flags = await workflow.execute_local_activity_method(
                FeatureFlagActivities.evaluate_flags,
                EvaluateFlagsInput(
                    user=self._request.requester, department=self._request.department
                ),
                start_to_close_timeout=VALIDATION_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as err:
            self._record(SYSTEM, "flags_unavailable", f"no automated review: {err.cause or err}")
            return FlagsEvaluation.defaults()
        decided = ", ".join(f"{k}: {v}" for k, v in flags.decided_by.items())
        self._record(
            SYSTEM,
            "flags_evaluated",
            f"automated review {AUTOMATED_REVIEW.show(flags.value(AUTOMATED_REVIEW))}, "
            f"strictness {REVIEW_STRICTNESS.show(flags.value(REVIEW_STRICTNESS))} ({decided})",
        )
        return flags

    async def _automated_review(
        self, product: ProductInfo, strictness: str
    ) -> AutomatedReviewResult | None:
        self._stage = Stage.REVIEWING
        try:
            review = await workflow.execute_local_activity_method(
                AutomatedReviewActivities.automated_review,
                AutomatedReviewInput(
                    request=self._request,
                    product=product,
                    strictness=strictness,
                    shadow=self._shadow_review,
                ),
                start_to_close_timeout=REVIEW_TIMEOUT,
                retry_policy=REVIEW_RETRY,
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as err:
            # A broken review must never block or fail a purchase: a person decides instead.
            # (A local activity's last failure arrives unwrapped, not as ActivityError.)
            workflow.logger.warning("Automated review failed, falling back to manual: %s", err)
            self._record(
                SYSTEM, "review_failed", f"falling back to manual approval: {err.cause or err}"
            )
            return None
        self._record(
            AUTOMATED_SYSTEM,
            "reviewed",
            f"auto_approved={review.auto_approved} risk={review.risk_score} "
            f"confidence={review.confidence}: {review.reason}",
            rules_version=review.rules_version,
        )
        if self._shadow_review and review.shadow is not None:
            self._record_shadow(review.shadow)
        return review

    def _record_shadow(self, shadow: ShadowVerdict) -> None:
        """Only recorded: the shadow candidate's verdict never decides anything."""
        verdict = "would auto-approve" if shadow.auto_approved else "would send to a person"
        self._record(
            SHADOW_REVIEW,
            "shadow_reviewed",
            f"{verdict} (risk={shadow.risk_score} confidence={shadow.confidence}): {shadow.reason}",
            rules_version=shadow.candidate,
        )

    async def _ask_manager(self, product: ProductInfo) -> str:
        assert self._code_path is not None
        self._stage = Stage.AWAITING_APPROVAL
        self._asked_manager = True
        sent = await workflow.execute_activity_method(
            NotificationActivities.send_approval_request,
            ApprovalRequestInput(
                request=self._request,
                product=product,
                review=self._review,
                code_path=self._code_path,
            ),
            start_to_close_timeout=NOTIFY_TIMEOUT,
        )
        self._record(SYSTEM, "approval_requested", f"approver {self._request.manager}")
        self._step(JourneyStep.ASKED, self._request.manager)
        return sent.message_ref

    async def _wait_for_decision(
        self, within: timedelta = timedelta(days=APPROVAL_TIMEOUT_DAYS)
    ) -> None:
        """Wait for a decision, a cancellation or the timeout (which rejects)."""
        try:
            if within <= timedelta(0):
                raise TimeoutError
            await workflow.wait_condition(
                lambda: self._approval is not None or self._cancellation is not None,
                timeout=within,
            )
        except TimeoutError:
            self._approval = ApprovalResult(
                approved=False,
                decided_by=SYSTEM,
                decided_at=workflow.now(),
                comments=f"Approval timeout after {APPROVAL_TIMEOUT_DAYS} days",
            )
            self._record(SYSTEM, "approval_timed_out", self._approval.comments)

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

    # --- reminders, since REMINDERS_PATCH ----------------------------------------------------

    async def _approval_plan(self) -> ApprovalPlan:
        """The worker's reminder timings, recorded in history (the configuration may change
        while the request waits). Unreadable: no reminders, the week's timeout still holds."""
        try:
            return await workflow.execute_local_activity_method(
                ApprovalPlanActivities.approval_plan,
                ApprovalPlanInput(request=self._request),
                start_to_close_timeout=VALIDATION_TIMEOUT,
                retry_policy=LOOKUP_RETRY,
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as err:
            self._record(SYSTEM, "plan_unavailable", f"no reminders: {err.cause or err}")
            return ApprovalPlan()

    async def _await_decision(
        self, product: ProductInfo, plan: ApprovalPlan | None, since: datetime
    ) -> None:
        """Follow up (reminders, escalation) then time out, a week after `since`."""
        deadline = since + timedelta(days=APPROVAL_TIMEOUT_DAYS)
        if self._reminding and not self._settled():
            plan = plan or await self._approval_plan()
            await self._follow_up_until_decided(product, plan, since, deadline)
        if not (self._reminding and self._settled()):
            await self._wait_for_decision(deadline - workflow.now())

    async def _follow_up_until_decided(
        self, product: ProductInfo, plan: ApprovalPlan, since: datetime, deadline: datetime
    ) -> None:
        """Remind the approver at each of the plan's points, and escalate at its escalation
        point (since ESCALATION_PATCH), all before the deadline, unless the request is decided
        or cancelled first."""
        due = [(since + after, _REMIND) for after in plan.reminders_after]
        if self._escalating and plan.escalate_after is not None:
            due.append((since + plan.escalate_after, _ESCALATE))
        due = sorted(d for d in due if d[0] < deadline)
        reminders = sum(what == _REMIND for _, what in due)
        reminded = 0
        for at, what in due:
            if await self._settled_before(at):
                return
            if what == _ESCALATE:
                await self._escalate(product, at - since)
            else:
                reminded += 1
                await self._remind(product, reminded, reminders)

    async def _settled_before(self, at: datetime) -> bool:
        """Wait until `at` for a decision or a cancellation; whether one came."""
        if at > workflow.now() and not self._settled():
            try:
                await workflow.wait_condition(self._settled, timeout=at - workflow.now())
            except TimeoutError:
                return False
        return self._settled()

    def _settled(self) -> bool:
        return self._approval is not None or self._cancellation is not None

    def _asked_since(self, person: str = "") -> str:
        """Since when `person` (the current approver) has had the request, for their messages."""
        who = person or self._approver
        asked = [e.at for e in self._journey if e.person == who and e.step in _ASKING]
        return f" since {_utc(asked[-1])}" if asked else ""

    async def _remind(self, product: ProductInfo, number: int, of: int) -> None:
        # Since JOURNEY_PATCH every second-level approver asked is reminded, on their own message.
        # One approver: awaited directly, as before the patch (a gather's extra task hop could
        # order the reminder's command after a concurrent handler's on replay).
        if not self._second_deciders:
            await self._remind_one(product, self._approver, number, of)
            return
        people = list(self._second_deciders)
        await asyncio.gather(*(self._remind_one(product, p, number, of) for p in people))

    async def _remind_one(self, product: ProductInfo, person: str, number: int, of: int) -> None:
        since = self._asked_since(person)
        note = f"Reminder {number} of {of}: this request has been waiting for you{since}."
        ref, failure = await self._ask(
            MessageInput(
                kind=MessageKind.REMINDER,
                key=self._message_key(f"reminder-{number}:{person}"),
                recipient=person,
                approval=self._approval_request(product, note),
            )
        )
        if not ref:
            if self._cancellation is None:
                self._record(SYSTEM, "message_not_delivered", f"reminder to {person}: {failure}")
            return
        self._reminder_refs.append(ref)
        self._record(SYSTEM, "reminded", f"{person} (reminder {number} of {of})")
        self._step(JourneyStep.REMINDED, person)

    # --- approval levels, since LEVELS_PATCH --------------------------------------------------

    async def _levels_plan(self) -> ApprovalPlan:
        """The plan, read before the first approver is asked so that their message says
        whether a second approval follows."""
        plan = await self._approval_plan()
        if plan.second_level is not None:
            self._levels = 2
            self._second_pool = list(plan.second_level.approvers)
            self._second_threshold = plan.second_level.threshold
        return plan

    def _second_level_due(self) -> bool:
        return self._levels == 2 and self._approval is not None and self._approval.approved

    async def _second_approval(self, product: ProductInfo) -> None:
        """The first approval is given: ask for the second with its own message and buttons;
        the first level's messages lose theirs. Nobody may give it: the request ends (set in
        `_unreachable`) and ops are told."""
        first = self._approval
        assert first is not None
        self._first_approval, self._approval = first, None
        self._level = 2
        self._on_behalf_of = ""  # a level-1 delegate's stand-in ends with their approval
        barred = self._first_approvers()
        pool = [p for p in self._second_pool if p not in barred]
        if not pool:
            self._unreachable = (
                f"It needs a second approval (above {self._second_threshold}) and nobody may "
                "give it (no department head or finance user besides the requester and the "
                "first approver). Ops have been told."
            )
            self._record(SYSTEM, "second_approval_impossible", self._unreachable)
            if self._journey_v2:
                # The first level's messages lose their buttons; the outcome replaces them.
                self._retire_buttons("", self._unreachable)
            await self._alert_ops(
                f":warning: Request `{self._request.request_id}` needs a second approval and "
                "nobody may give it: add a department head or finance_users to directory.yaml."
            )
            return
        if self._journey_v2:
            await self._ask_second_pool(product, pool, first)
            return
        self._approver = pool[0]
        self._record(
            SYSTEM, "second_approval_needed", f"above {self._second_threshold}: {', '.join(pool)}"
        )
        why = (
            f"That message was for the first approval, already given by {first.decided_by}; "
            f"the second approval is asked of {self._approver}."
        )
        first_messages = self._retire_buttons("", why)
        await self._ask_approvers(product, first=False)
        line = (
            f":white_check_mark: First approval given by <@{first.decided_by}> on "
            f"{_utc(first.decided_at)}; waiting for the second approval by <@{self._approver}>."
        )
        await asyncio.gather(*(self._retire_message(r, product, line) for r in first_messages))

    def _first_approvers(self) -> list[str]:
        """Who may not give the second approval: whoever gave the first, and since JOURNEY_PATCH
        the person they stood in for (nobody approves both levels, also not by delegation)."""
        first = self._first_approval
        if self._level < 2 or first is None:
            return []
        if self._journey_v2 and first.on_behalf_of:
            return [first.decided_by, first.on_behalf_of]
        return [first.decided_by]

    async def _ask_second_pool(
        self, product: ProductInfo, pool: list[str], first: ApprovalResult
    ) -> None:
        """Since JOURNEY_PATCH: every eligible second-level approver (a delegate in the place of
        one who is away) gets the message with buttons; the first decision wins and the others'
        messages show it. Nobody reachable: the request ends (`_unreachable`), ops are told."""
        self._record(
            SYSTEM, "second_approval_needed", f"above {self._second_threshold}: {', '.join(pool)}"
        )
        self._approver = pool[0]  # until the messages are out: the first approver no longer
        names = ", ".join(pool)
        first_messages = self._retire_buttons(
            "",
            f"That message was for the first approval, already given by {first.decided_by}; "
            f"the second approval is asked of {names}.",
        )
        barred = self._first_approvers()
        found = await asyncio.gather(*(self._stand_in(p, barred) for p in pool))
        if self._settled():
            return  # decided (a finance user, from the CLI) or cancelled during the lookups
        candidates: dict[str, str] = {}
        # Those asked for themselves first: someone in the pool is never asked "on behalf of"
        # another (stable sort: the pool's order otherwise).
        for stand_in in sorted(found, key=lambda f: bool(f.on_behalf_of)):
            candidates.setdefault(stand_in.approver, stand_in.on_behalf_of)
        self._stage = Stage.AWAITING_APPROVAL
        sent = await asyncio.gather(
            *(self._ask(self._second_message(product, p, b)) for p, b in candidates.items())
        )
        refs: list[str] = []
        failures: list[str] = []
        for (person, behalf), (ref, failure) in zip(candidates.items(), sent, strict=True):
            if not ref:
                failures.append(f"{person}: {failure}")
                continue
            refs.append(ref)
            self._second_deciders[person] = behalf
            instead = f" on behalf of {behalf}" if behalf else ""
            self._record(SYSTEM, "approval_requested", f"approver {person}{instead} (level 2)")
            self._step(JourneyStep.DELEGATED if behalf else JourneyStep.ASKED, person)
        if refs:  # also when cancelled meanwhile: the outcome updates them
            self._approval_message_ref, self._reminder_refs = refs[0], refs[1:]
        if self._cancellation is not None:
            return
        if failures:
            self._record(SYSTEM, "message_not_delivered", "; ".join(failures))
        if not refs:
            self._unreachable = (
                f"Nobody could be asked for the second approval (Slack could not reach "
                f"{'; '.join(failures)}). Ops have been told; please file it again later."
            )
            await self._alert_ops(
                f":warning: Request `{self._request.request_id}` could not reach any second "
                f"approver ({escape('; '.join(failures))}) and was closed."
            )
            return
        self._approver, self._on_behalf_of = next(iter(self._second_deciders.items()))
        if self._delegating:
            self._publish_approver()
        asked = ", ".join(f"<@{p}>" for p in self._second_deciders)
        line = (
            f":white_check_mark: First approval given by <@{first.decided_by}> on "
            f"{_utc(first.decided_at)}; waiting for the second approval by {asked}."
        )
        await asyncio.gather(*(self._retire_message(r, product, line) for r in first_messages))

    def _second_message(self, product: ProductInfo, person: str, behalf: str) -> MessageInput:
        note = f"On behalf of <@{behalf}>, who is away." if behalf else ""
        return MessageInput(
            kind=MessageKind.APPROVAL_REQUEST,
            key=self._message_key(f"second-approval:{person}"),
            recipient=person,
            approval=self._approval_request(product, note),
        )

    def _level_note(self) -> str:
        if self._levels < 2:
            return ""
        if self._level == 1:
            return (
                f"First approval (level 1 of 2): above {self._second_threshold}, a second "
                "approval follows yours."
            )
        first = self._first_approval
        by = f" <@{first.decided_by}> approved on {_utc(first.decided_at)};" if first else ""
        return f"Second approval (level 2 of 2):{by} above {self._second_threshold} you decide too."

    def _level_refusal(self, who: str) -> str | None:
        """A decision by an approver of the other level."""
        if self._levels < 2:
            return None
        if self._level == 1 and who != self._approver and who in self._second_pool:
            return (
                f"This request first needs {self._approver}'s approval (level 1 of 2); the "
                "second approval is asked after that."
            )
        if self._level == 2 and who in self._first_approvers():
            return (
                "You gave this request's first approval; the second must come from someone "
                f"else ({self._approver}, or finance)."
            )
        return None

    def _may_decide(self, who: str) -> bool:
        if who == self._approver:
            return True
        return self._level == 2 and (who in self._second_pool or who in self._second_deciders)

    def _behalf_of(self, who: str) -> str:
        """For whom `who` decides: since JOURNEY_PATCH each second-level approver for whom
        they were asked; before, whoever the current approver stood in for."""
        if not self._journey_v2 or who == self._approver:
            return self._on_behalf_of
        return self._second_deciders.get(who, "")

    # --- escalation, since ESCALATION_PATCH ------------------------------------------------

    async def _escalate(self, product: ProductInfo, waited: timedelta) -> None:
        """Move the request to the approver's own manager: ask them with buttons, then retire
        the original approver's messages and tell them and the requester. Nobody above (or the
        manager is the requester): the request keeps waiting for the same approver."""
        original = self._approver
        tried = [e.person for e in self._journey if e.step in _ASKING]
        above = await workflow.execute_activity_method(
            NotificationActivities.escalation_target,
            ApproverInput(approver=original, requester=self._request.requester, tried=tried),
            start_to_close_timeout=MESSAGE_TIMEOUT,
            retry_policy=LOOKUP_RETRY,
        )
        after = _days(waited)
        if self._settled():
            return  # decided or cancelled while the directory was read
        if not above.escalate_to:
            self._record(SYSTEM, "escalation_skipped", f"nobody above {original}; still theirs")
            return
        target, on_behalf = above.escalate_to, ""
        if self._journey_v2:
            # The manager may be away: their delegate is asked on their behalf (never the
            # requester, nor someone already asked, nor the first level's approver).
            found = await self._stand_in(target, [*tried, *self._first_approvers()])
            if self._settled():
                return
            target, on_behalf = found.approver, found.on_behalf_of
        instead = f" on behalf of <@{on_behalf}>" if on_behalf else ""
        note = (
            f"Escalated to you{instead}: <@{original}> has not decided{self._asked_since()} "
            f"({after})."
        )
        self._approver = target
        ref, failure = await self._ask(
            MessageInput(
                kind=MessageKind.APPROVAL_REQUEST,
                key=self._message_key(f"escalation:{target}"),
                recipient=target,
                approval=self._approval_request(product, note),
            )
        )
        if not ref:
            self._approver = original
            if self._cancellation is None:
                self._record(SYSTEM, "escalation_failed", f"{target} not reached: {failure}")
            return
        retired = self._retire_buttons(
            ref, f"This request was escalated to {target}; that message no longer decides it."
        )
        self._on_behalf_of = on_behalf  # "": the manager decides in their own right
        if self._delegating:
            self._publish_approver()
        if on_behalf:
            self._record(
                SYSTEM,
                "escalated",
                f"to {on_behalf}, delegated to {target} on behalf of {on_behalf}: no decision "
                f"from {original} ({after})",
            )
            self._step(JourneyStep.ESCALATED, on_behalf)
            self._step(JourneyStep.DELEGATED, target)
        else:
            self._record(SYSTEM, "escalated", f"to {target}: no decision from {original} ({after})")
            self._step(JourneyStep.ESCALATED, target)
        moved = f":arrow_heading_up: Moved to <@{target}>{instead}: no decision after {after}."
        request_id = self._request.request_id
        await asyncio.gather(
            *(self._retire_message(r, product, moved) for r in retired),
            self._send(
                MessageInput(
                    kind=MessageKind.NOTICE,
                    key=self._message_key(f"escalated-from:{original}"),
                    recipient=original,
                    text=(
                        f"Request `{request_id}` waited {after} for your decision, so it now "
                        f"waits for <@{target}>{instead}; nothing more is needed from you."
                    ),
                )
            ),
            self._send(
                MessageInput(
                    kind=MessageKind.NOTICE,
                    key=self._message_key(f"escalated-for:{target}"),
                    recipient=self._request.requester,
                    text=(
                        f"Your request `{request_id}` had no decision from <@{original}> after "
                        f"{after}, so it now waits for <@{target}>{instead}."
                    ),
                )
            ),
        )

    def _retire_buttons(self, new_ref: str, why: str) -> list[str]:
        """The buttons move to the message `new_ref`; the old ones refuse with `why`. Returns
        the old messages' references (to be updated)."""
        retired = [r for r in (self._approval_message_ref, *self._reminder_refs) if r]
        self._retired_refs.update(dict.fromkeys(retired, why))
        self._approval_message_ref, self._reminder_refs = new_ref, []
        self._second_deciders = {}  # the request moved on: only its new approver decides it
        return retired

    async def _retire_message(self, ref: str, product: ProductInfo, line: str) -> bool:
        retired = NotificationActivities.retire_approval_message
        update = RetiredMessageInput(
            message_ref=ref, approval=self._approval_request(product), line=line
        )
        return await self._deliver(retired, update, "approval message retired")

    # --- messages, since NOTIFY_PATCH ---------------------------------------------------------

    async def _ask_approvers(self, product: ProductInfo, *, first: bool = True) -> str:
        """Ask the approver; when Slack can never reach them, their manager, and so on. Returns
        the approval message's reference; "" when cancelled first or nobody could be asked
        (then `_unreachable` says why, the requester is told by the outcome and ops by an
        alert)."""
        assert self._code_path is not None
        if first and self._review is not None and self._review.history_unavailable:
            # Told first: once the request waits for approval, the requester knows why.
            await self._send(
                MessageInput(
                    kind=MessageKind.REVIEW_FALLBACK,
                    key=self._message_key("review-fallback"),
                    recipient=self._request.requester,
                    approval=self._approval_request(product),
                )
            )
        self._stage = Stage.AWAITING_APPROVAL
        self._asked_manager = True
        if self._delegating and first:
            # The second level is a pool (the head or any finance user): no delegation there.
            await self._look_up_delegate()
        tried: list[str] = []
        while self._cancellation is None:
            ref, failure = await self._ask(self._approval_message(product))
            if ref:
                self._approval_message_ref = ref
                self._record(SYSTEM, "approval_requested", f"approver {self._approver}")
                self._step(JourneyStep.ASKED, self._approver)
                if self._delegating:
                    self._publish_approver()
                return ref
            if self._cancellation is not None:
                break
            tried.append(self._approver)
            self._record(SYSTEM, "approver_unreachable", f"{self._approver}: {failure}")
            above = await workflow.execute_activity_method(
                NotificationActivities.escalation_target,
                ApproverInput(
                    approver=self._approver, requester=self._request.requester, tried=tried
                ),
                start_to_close_timeout=MESSAGE_TIMEOUT,
                retry_policy=LOOKUP_RETRY,
            )
            if not above.escalate_to:
                self._unreachable = (
                    f"Nobody could be asked to approve it (Slack could not reach "
                    f"{', '.join(tried)}: {failure}). Ops have been told; please file it again "
                    "later."
                )
                await self._alert_ops(
                    f":warning: Request `{self._request.request_id}` by "
                    f"<@{self._request.requester}> could not reach an approver "
                    f"({escape(failure)}) and was closed."
                )
                return ""
            unreachable, self._approver = self._approver, above.escalate_to
            self._on_behalf_of = ""  # the manager decides in their own right
            self._record(SYSTEM, "escalated", f"to {self._approver}: {unreachable} unreachable")
            await self._send(
                MessageInput(
                    kind=MessageKind.NOTICE,
                    key=self._message_key(f"escalated:{self._approver}"),
                    recipient=self._request.requester,
                    text=(
                        f"Your request `{self._request.request_id}` could not reach "
                        f"<@{unreachable}> ({escape(failure)}), so it now waits for "
                        f"<@{self._approver}>."
                    ),
                )
            )
        return ""

    def _approval_request(self, product: ProductInfo, note: str = "") -> ApprovalRequestInput:
        assert self._code_path is not None
        return ApprovalRequestInput(
            request=self._request,
            product=product,
            review=self._review,
            code_path=self._code_path,
            note=" ".join(n for n in (note, self._level_note()) if n),
        )

    def _approval_message(self, product: ProductInfo) -> MessageInput:
        return MessageInput(
            kind=MessageKind.APPROVAL_REQUEST,
            key=self._message_key(f"approval:{self._approver}"),
            recipient=self._approver,
            approval=self._approval_request(product),
        )

    async def _ask(self, message: MessageInput) -> tuple[str, str]:
        """One message with the decision's buttons, stopped at once by a cancel (the activity
        may be between retries). Returns (message reference, "") or ("", why it failed)."""
        sending = workflow.start_activity_method(
            NotificationActivities.send_message,
            message,
            start_to_close_timeout=MESSAGE_TIMEOUT,
            retry_policy=MESSAGE_RETRY,
            # An attempt already talking to Slack finishes; its message is then updated to show
            # the cancellation, so nobody is left with buttons on a cancelled request.
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        # While buttons are being sent (a reminder, an escalation) the request does not move.
        self._asking += 1
        try:
            await workflow.wait_condition(lambda: sending.done() or self._cancellation is not None)
            if not sending.done():
                sending.cancel()
            try:
                return (await sending).message_ref, ""
            except ActivityError as err:
                return "", _why(err)
            except asyncio.CancelledError:
                return "", "cancelled"
        finally:
            self._asking -= 1

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

    async def _send(self, message: MessageInput) -> bool:
        sent = NotificationActivities.send_message
        return await self._deliver(sent, message, f"{message.kind} to {message.recipient}")

    async def _update_approval_message(self, outcome: OutcomeNotificationInput) -> bool:
        updated = NotificationActivities.update_approval_message
        return await self._deliver(updated, outcome, "approval message update")

    async def _alert_ops(self, text: str) -> None:
        alerted = NotificationActivities.alert_ops_about_request
        await self._deliver(alerted, OpsAlertInput(text=text), f"ops alert: {text}")

    async def _deliver(
        self,
        activity: Callable[[NotificationActivities, M], Awaitable[object]],
        message: M,
        what: str,
    ) -> bool:
        """One message activity; a failure is audited and never fails the request."""
        try:
            await workflow.execute_activity_method(
                activity,
                message,
                start_to_close_timeout=MESSAGE_TIMEOUT,
                retry_policy=MESSAGE_RETRY,
            )
        except ActivityError as err:
            self._record(SYSTEM, "message_not_delivered", f"{what}: {_why(err)}")
            return False
        return True

    def _message_key(self, what: str) -> str:
        return f"{workflow.info().workflow_id}:{what}"

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

    # --- delegation and reassignment, since DELEGATION_PATCH / REASSIGN_PATCH ------------------

    async def _delegate_lookup(
        self, approver: str, excluded: Sequence[str] = ()
    ) -> DelegateLookupResult | None:
        """Who stands in for `approver` (never the requester nor anyone `excluded`); None when
        the delegations cannot be read (audited): the approver is then asked, a request never
        waits on the lookup."""
        try:
            return await workflow.execute_activity_method(
                DelegationActivities.delegate_for,
                DelegateLookupInput(
                    approver=approver,
                    requester=self._request.requester,
                    excluded=[e for e in excluded if e],
                ),
                start_to_close_timeout=MESSAGE_TIMEOUT,
                retry_policy=LOOKUP_RETRY,
            )
        except ActivityError as err:
            self._record(SYSTEM, "delegations_unavailable", f"asking {approver}: {_why(err)}")
            return None

    async def _stand_in(self, approver: str, excluded: Sequence[str]) -> DelegateLookupResult:
        """Since JOURNEY_PATCH, for an escalation target or a second-level approver: whom to ask
        instead of `approver`, audited as "delegated to X on behalf of `approver`"."""
        found = await self._delegate_lookup(approver, excluded)
        if found is None:
            return DelegateLookupResult(approver=approver)
        if found.approver != approver:
            self._record(
                SYSTEM,
                "delegated",
                f"delegated to {found.approver} on behalf of {approver}: {found.note}",
            )
        elif found.note:
            self._record(SYSTEM, "delegation_not_followed", found.note)
        return found

    async def _look_up_delegate(self) -> None:
        """A delegate stands in for an approver who is away (never the requester)."""
        found = await self._delegate_lookup(self._approver)
        if found is None:
            return
        if found.note:
            self._record(SYSTEM, "delegated", found.note)
        if found.approver != self._approver:
            self._step(JourneyStep.DELEGATED, found.approver)
        self._approver, self._on_behalf_of = found.approver, found.on_behalf_of

    def _publish_approver(self) -> None:
        """Visibility knows whom each waiting request waits for: a new delegation finds them."""
        workflow.upsert_search_attributes([APPROVER.value_set(self._approver)])

    def _reassign_refusal(self, move: ReassignInput) -> str | None:
        """Why the request cannot move to `move.to`, or None. Whether `to` is a person of the
        directory and `by` may move it is the caller's to check (the workflow has no directory)."""
        if self._approval is not None or self._cancellation is not None:
            return "This request is already decided or cancelled; nothing was changed."
        if not (self._reassignable and self._exactly_once):
            return filed_before_reassignment(self._request.request_id, self._approver)
        if self._stage != Stage.AWAITING_APPROVAL or not self._approval_message_ref:
            return "This request is not waiting for an approver yet; try again in a moment."
        if self._reassigning or self._asking:
            return "This request is being handed to someone else right now; try again in a moment."
        if move.to == self._request.requester:
            return f"{move.to} filed this request and cannot approve it; pick someone else."
        if move.to == self._approver:
            return f"This request already waits for {move.to}."
        if move.to in self._first_approvers():
            return f"{move.to} gave the first approval; the second must come from someone else."
        return None

    @workflow.update
    async def reassign(self, move: ReassignInput) -> ReassignResult:
        """The request now waits for `move.to`: they get the approval message with buttons,
        the previous approver's message loses its buttons and says where it went, the
        requester is told. Refused (validator: nothing written) when it cannot move."""
        refusal = self._reassign_refusal(move)
        if refusal is not None:  # unreachable after the validator; kept as the handler's guard
            raise ApplicationError(refusal, type="ReassignRefused", non_retryable=True)
        assert self._product is not None
        previous, previous_for = self._approver, self._on_behalf_of
        self._reassigning = True
        self._approver, self._on_behalf_of = move.to, move.on_behalf_of
        self._moves += 1
        try:
            ref, failure = await self._ask(
                MessageInput(
                    kind=MessageKind.APPROVAL_REQUEST,
                    key=self._message_key(f"reassigned:{self._moves}:{move.to}"),
                    recipient=move.to,
                    approval=self._approval_request(self._product),
                )
            )
            if not ref:
                self._approver, self._on_behalf_of = previous, previous_for
                self._record(move.by, "reassign_failed", f"to {move.to}: {failure}")
                raise ApplicationError(
                    f"{move.to} could not be asked ({failure}); the request still waits for "
                    f"{previous}.",
                    type="ReassignRefused",
                    non_retryable=True,
                )
            # The previous approver's messages (the first, reminders) lose their buttons.
            retired = self._retire_buttons(
                ref, f"This request was handed to {move.to}; that message no longer decides it."
            )
            self._publish_approver()
            delegated = bool(move.on_behalf_of)
            instead = f" on behalf of {move.on_behalf_of}" if delegated else ""
            why = f": {move.reason}" if move.reason else ""
            action = "delegated" if delegated else "reassigned"
            self._record(move.by, action, f"from {previous} to {move.to}{instead}{why}")
            self._step(JourneyStep.DELEGATED if delegated else JourneyStep.REASSIGNED, move.to)
            await self._tell_moved(retired, previous, move)
            return ReassignResult(
                previous=previous, approver=move.to, reassigned_at=workflow.now(), message_ref=ref
            )
        finally:
            self._reassigning = False

    @reassign.validator
    def _validate_reassign(self, move: ReassignInput) -> None:
        refusal = self._reassign_refusal(move)
        if refusal is not None:
            raise ApplicationError(refusal, type="ReassignRefused", non_retryable=True)

    async def _tell_moved(self, retired: list[str], previous: str, move: ReassignInput) -> None:
        """The previous approver's message and the requester: where the request went, and why."""
        assert self._product is not None
        instead = f" on behalf of <@{move.on_behalf_of}>" if move.on_behalf_of else ""
        why = f": {escape(move.reason)}" if move.reason else ""
        # `by` may be an API caller (`api:ops-1`): named, not a broken mention.
        line = f":arrow_right: Handed to <@{move.to}>{instead} by {mention(move.by)}{why}"
        await asyncio.gather(
            *(self._retire_message(r, self._product, line) for r in retired),
            self._send(
                MessageInput(
                    kind=MessageKind.NOTICE,
                    key=self._message_key(f"moved:{self._moves}:{move.to}"),
                    recipient=self._request.requester,
                    text=(
                        f"Your request `{self._request.request_id}` now waits for "
                        f"<@{move.to}>{instead} instead of <@{previous}>{why}."
                    ),
                )
            ),
        )

    # --- decisions ----------------------------------------------------------------------------

    def _refusal(self, decision: ApprovalDecision) -> str | None:
        """Why a decision cannot be taken, or None when it can."""
        if self._approval is not None:
            verb = "approved" if self._approval.approved else "rejected"
            return f"This request was already {verb} by {self._approval.decided_by}."
        if self._cancellation is not None:
            return "This request was cancelled by the requester."
        if decision.message_ref in self._retired_refs:
            return self._retired_refs[decision.message_ref]
        if (
            decision.message_ref
            and self._approval_message_ref
            and decision.message_ref != self._approval_message_ref
            and decision.message_ref not in self._reminder_refs
        ):
            return (
                "That button is on another request's message, not on "
                f"{self._request.request_id}'s; nothing was changed."
            )
        if decision.decided_by == self._request.requester:
            return "You cannot decide on your own purchase request."
        level_refusal = self._level_refusal(decision.decided_by)
        if level_refusal is not None:
            return level_refusal
        if not self._may_decide(decision.decided_by):
            return f"Only the assigned approver ({self._approver}) can decide this request."
        if self._stage != Stage.AWAITING_APPROVAL:
            return f"This request is not waiting for a decision (stage: {self._stage.value})."
        return None

    def _apply(self, decision: ApprovalDecision) -> ApprovalResult:
        self._approval = ApprovalResult(
            approved=decision.approved,
            decided_by=decision.decided_by,
            decided_at=workflow.now(),
            comments=decision.comments,
            on_behalf_of=self._behalf_of(decision.decided_by),
        )
        level = f"level {self._level} of 2" if self._levels == 2 else ""
        behalf = self._approval.on_behalf_of
        instead = f"on behalf of {behalf}" if behalf else ""
        self._record(
            decision.decided_by,
            "approved" if decision.approved else "rejected_by_approver",
            ": ".join(part for part in (level, instead, decision.comments) if part),
        )
        self._step(JourneyStep.DECIDED, decision.decided_by)
        return self._approval

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

    def _cancel_refusal(self, cancel: CancelInput) -> str | None:
        if cancel.requested_by != self._request.requester:
            return "Only the requester can cancel a purchase request."
        if self._stage != Stage.AWAITING_APPROVAL or self._approval is not None:
            return (
                f"This request can no longer be cancelled (stage: {self._stage.value}); "
                "only requests waiting for approval can."
            )
        if self._cancellation is not None:
            return "This request is already cancelled."
        return None

    @workflow.update(name="cancel")
    def cancel(self, cancel: CancelInput) -> CancelResult:
        refusal = self._cancel_refusal(cancel)  # audited like refused decisions (no validator)
        if refusal is not None:
            self._record(cancel.requested_by, "cancel_refused", refusal)
            raise ApplicationError(refusal, type="CancelRefused", non_retryable=True)
        self._cancellation = cancel
        self._record(cancel.requested_by, "cancelled", cancel.reason)
        return CancelResult(cancelled_at=workflow.now())

    @workflow.query(name="status")
    def status(self) -> StatusResult:
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
        )

    def _step(self, step: JourneyStep, person: str) -> None:
        level = self._level if self._levels == 2 else 0
        self._journey.append(JourneyEvent(at=workflow.now(), step=step, person=person, level=level))

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


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _days(waited: timedelta) -> str:
    """E.g. "5 days", "12 hours", for people."""
    if waited >= timedelta(days=1) and waited % timedelta(days=1) == timedelta(0):
        days = waited // timedelta(days=1)
        return f"{days} day{'s' if days != 1 else ''}"
    hours = waited / timedelta(hours=1)
    return f"{hours:g} hours" if hours >= 1 else f"{waited.total_seconds():g} seconds"


def _why(err: ActivityError) -> str:
    """The reason an activity failed, for the audit trail and people."""
    cause = err.cause
    if isinstance(cause, FailureError):
        return cause.message or type(cause).__name__
    return str(cause or err) or "unknown error"
