"""Approval levels, since LEVELS_PATCH: above the department's threshold (read with the
approval plan) a second approval follows the first. The rules of the levels: who may decide at
which level and on whose behalf. Who may not give the second approval (`_first_approvers`) and
who may decide now (`_deciders`) are in `state.py`: the status answers with them too.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import ApprovalPlan

from workflows.purchase.asking import AskingSteps


class LevelRules(AskingSteps):
    """How many levels a request has, and who may decide at which level (and for whom)."""

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
