"""Activity: the approval plan of a request (when its approver is reminded, when it escalates).

The timings are the worker's configuration (`PURCHASEBOT_REMINDER_AFTER_DAYS`,
`PURCHASEBOT_ESCALATE_AFTER_DAYS`); a workflow reads
them in this activity, so the plan a request started with is in its history and replays the same
even after the configuration changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity

from domain.models import ApprovalPlan, ApprovalPlanInput


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
    def __init__(self, timings: ApprovalTimings) -> None:
        self._timings = timings

    @activity.defn
    async def approval_plan(self, input: ApprovalPlanInput) -> ApprovalPlan:
        return ApprovalPlan(
            reminders_after=list(self._timings.reminders_after),
            escalate_after=self._timings.escalate_after,
        )
