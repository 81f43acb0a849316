"""The rules of a decision and of a cancel: one refusal rule each, shared by the signal, the
Update and (for `reassign`) its validator, so that a decision cannot be judged two ways.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.models import (
        ApprovalDecision,
        ApprovalResult,
        CancelInput,
        JourneyStep,
        Stage,
    )


from workflows.purchase.levels import LevelRules


class DecisionRules(LevelRules):
    """Whether a decision or a cancel can be taken, and taking a decision."""

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
