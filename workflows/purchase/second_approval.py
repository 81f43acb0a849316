"""The second approval, since LEVELS_PATCH: once the first is given, the department head or a
finance user is asked with their own message and buttons (every eligible one since
JOURNEY_PATCH, a delegate in the place of one who is away; the first decision wins); the first
level's messages lose their buttons. Nobody may give it, or nobody is reachable: the request
ends and ops are told.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.actors import SYSTEM
    from domain.models import (
        ApprovalResult,
        JourneyStep,
        MessageInput,
        MessageKind,
        ProductInfo,
        Stage,
    )
    from domain.mrkdwn import escape

from workflows.purchase.levels import LevelRules
from workflows.purchase.wording import utc


class SecondApprovalStep(LevelRules):
    """Asking for the second approval."""

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
            f"{utc(first.decided_at)}; waiting for the second approval by <@{self._approver}>."
        )
        await asyncio.gather(*(self._retire_message(r, product, line) for r in first_messages))

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
            f"{utc(first.decided_at)}; waiting for the second approval by {asked}."
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
