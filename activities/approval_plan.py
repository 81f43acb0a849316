"""Activity: the approval plan of a request: when its approver is reminded, when it escalates, and
whether it needs a second approval (and from whom).

The timings are the worker's configuration (`PURCHASEBOT_REMINDER_AFTER_DAYS`,
`PURCHASEBOT_ESCALATE_AFTER_DAYS`); the second-approval threshold is the department's
`second_approval_above` in the live rules; the second approvers come from the directory. A
workflow reads them in this activity, so the plan a request started with is in its history and
replays the same even after the configuration, the rules or the directory change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from temporalio import activity

from activities.review_rules_source import LiveRules, RulesUnavailable
from domain.directory import Directory
from domain.models import ApprovalPlan, ApprovalPlanInput, Money, PurchaseRequest, SecondLevel
from domain.review_rules import DEFAULT_SECOND_APPROVAL_ABOVE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApprovalTimings:
    reminders_after: tuple[timedelta, ...] = field(default=(timedelta(days=1), timedelta(days=4)))
    escalate_after: timedelta | None = timedelta(days=5)

    @classmethod
    def from_days(
        cls, reminder_after_days: tuple[float, ...], escalate_after_days: float = 5.0
    ) -> ApprovalTimings:
        return cls(
            reminders_after=tuple(timedelta(days=d) for d in reminder_after_days),
            escalate_after=timedelta(days=escalate_after_days) if escalate_after_days else None,
        )


class ApprovalPlanActivities:
    def __init__(
        self,
        timings: ApprovalTimings,
        rules: LiveRules | None = None,
        directory: Callable[[], Directory] | None = None,
    ) -> None:
        self._timings = timings
        self._rules = rules
        self._directory = directory

    @activity.defn
    async def approval_plan(self, input: ApprovalPlanInput) -> ApprovalPlan:
        return ApprovalPlan(
            reminders_after=list(self._timings.reminders_after),
            escalate_after=self._timings.escalate_after,
            second_level=await self._second_level(input.request),
        )

    async def _second_level(self, request: PurchaseRequest) -> SecondLevel | None:
        if self._directory is None:
            return None
        threshold = await self._threshold(request.department)
        amount = request.amount
        # Another currency than the rules' cannot be compared (no exchange rates): a second
        # person looks at it, which is the safe side.
        if amount.currency == threshold.currency and amount.amount <= threshold.amount:
            return None
        excluded = {request.requester, request.manager}
        approvers = self._directory().second_approvers(request.department)
        return SecondLevel(
            threshold=threshold, approvers=[a for a in approvers if a not in excluded]
        )

    async def _threshold(self, department: str) -> Money:
        if self._rules is None:
            return Money(amount=DEFAULT_SECOND_APPROVAL_ABOVE)
        try:
            version = await self._rules.current()
        except RulesUnavailable as err:
            # The default threshold still asks for the second approval of large purchases.
            log.warning("second-approval threshold from the default: %s", err)
            return Money(amount=DEFAULT_SECOND_APPROVAL_ABOVE)
        rules = version.rules.for_department(department)
        return Money(amount=Decimal(rules.second_approval_above), currency=rules.currency)
