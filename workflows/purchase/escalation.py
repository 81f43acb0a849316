"""Escalation, since ESCALATION_PATCH: with no decision by the plan's escalation point the
request moves to the approver's own manager (or their delegate, since JOURNEY_PATCH), who is
asked with buttons; the original approver's messages are retired, they and the requester
are told.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.notifications import NotificationActivities
    from domain.actors import SYSTEM
    from domain.models import (
        ApproverInput,
        JourneyStep,
        MessageInput,
        MessageKind,
        ProductInfo,
    )

from workflows.purchase.activity_options import (
    LOOKUP_RETRY,
    MESSAGE_TIMEOUT,
)
from workflows.purchase.levels import LevelRules
from workflows.purchase.state import ASKING
from workflows.purchase.wording import days


class EscalationStep(LevelRules):
    """Moving a waiting request one step up the management chain."""

    async def _escalate(self, product: ProductInfo, waited: timedelta) -> None:
        """Move the request to the approver's own manager: ask them with buttons, then retire
        the original approver's messages and tell them and the requester. Nobody above (or the
        manager is the requester): the request keeps waiting for the same approver."""
        original = self._approver
        tried = [e.person for e in self._journey if e.step in ASKING]
        above = await workflow.execute_activity_method(
            NotificationActivities.escalation_target,
            ApproverInput(approver=original, requester=self._request.requester, tried=tried),
            start_to_close_timeout=MESSAGE_TIMEOUT,
            retry_policy=LOOKUP_RETRY,
        )
        after = days(waited)
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
