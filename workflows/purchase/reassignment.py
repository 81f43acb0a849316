"""Reassignment, since REASSIGN_PATCH: ops (or a delegation reaching requests already waiting)
hand a waiting request to someone else with the `reassign` Update; the new approver gets
the buttons, the previous approver's message says where it went, the requester is told.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.actors import mention
    from domain.delegation import filed_before_reassignment
    from domain.models import (
        JourneyStep,
        MessageInput,
        MessageKind,
        ReassignInput,
        ReassignResult,
        Stage,
    )
    from domain.mrkdwn import escape


from workflows.purchase.levels import LevelRules


class Reassignment(LevelRules):
    """The `reassign` Update's rule (shared by its validator and handler) and its work."""

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

    async def _reassign(self, move: ReassignInput) -> ReassignResult:
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
