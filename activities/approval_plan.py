"""Activity: the approval plan of a request (when its approver is reminded).

The timings are the worker's configuration (`PURCHASEBOT_REMINDER_AFTER_DAYS`); a workflow reads
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

    @classmethod
    def from_days(cls, reminder_after_days: tuple[float, ...]) -> ApprovalTimings:
        return cls(reminders_after=tuple(timedelta(days=d) for d in reminder_after_days))


class ApprovalPlanActivities:
    def __init__(self, timings: ApprovalTimings) -> None:
        self._timings = timings

    @activity.defn
    async def approval_plan(self, input: ApprovalPlanInput) -> ApprovalPlan:
        return ApprovalPlan(reminders_after=list(self._timings.reminders_after))
