"""`/purchase reassign` (ops only, in the ops audit trail) and `/purchase delegate`."""

from __future__ import annotations

from bot.delegations_admin import Handover
from bot.slack import blocks
from bot.slack.command_parsing import (
    Delegate,
    DelegateOff,
    DelegationCommand,
    ReassignRequest,
    ShowDelegation,
)
from bot.slack.deps import BotDeps
from domain.actors import mention
from domain.refusal import Refused

DELEGATE_USAGE = (
    "`/purchase delegate @someone until 2026-12-24` — while you are away (through that day, UTC) "
    "your requests to approve go to them, including the ones already waiting; "
    "`/purchase delegate off` — they come back to you"
)


async def answer_delegation(
    parsed: DelegationCommand, user: str, deps: BotDeps
) -> list[blocks.Block]:
    if isinstance(parsed, ReassignRequest):
        return await _reassign(parsed, user, deps)
    if deps.directory.get().value.person(user) is None:
        raise Refused("You are not in the company directory, so you have nothing to delegate.")
    if isinstance(parsed, Delegate):
        handover = await deps.delegations.set(user, parsed.to, parsed.until, actor=user)
        until = blocks.when(handover.delegation.until)
        return [
            blocks.text(
                f":white_check_mark: Until {until}, requests that would go to you go to "
                f"{mention(parsed.to)} (never to whoever filed them: those go to your "
                f"manager). {_handover_line(handover, 'handed over')}"
            )
        ]
    if isinstance(parsed, DelegateOff):
        handover = await deps.delegations.end(user, actor=user)
        delegate = mention(handover.delegation.delegate)
        return [
            blocks.text(
                f":white_check_mark: Your delegation to {delegate} is off: new requests come to "
                f"you again. {_handover_line(handover, 'came back')}"
            )
        ]
    assert isinstance(parsed, ShowDelegation)
    delegation = await deps.delegations.active_for(user)
    if delegation is None:
        return [blocks.text(f"You have no delegation.\n{DELEGATE_USAGE}")]
    return [
        blocks.text(
            f"Until {blocks.when(delegation.until)}, requests that would go to you go to "
            f"{mention(delegation.delegate)}.\n{DELEGATE_USAGE}"
        )
    ]


async def _reassign(parsed: ReassignRequest, user: str, deps: BotDeps) -> list[blocks.Block]:
    detail = f"/purchase reassign {parsed.request_id} {parsed.to} {parsed.reason}".strip()
    if not deps.directory.get().value.is_ops(user):
        await deps.ops_audit.record(user, "ops_command_refused", detail)
        raise Refused("`/purchase reassign` is for the ops team only. This attempt was recorded.")
    try:
        moved = await deps.service.reassign(
            parsed.request_id, to=parsed.to, by=user, reason=parsed.reason
        )
    except Refused as refused:
        await deps.ops_audit.record(user, "ops_command_refused_by_system", f"{detail}: {refused}")
        raise
    await deps.ops_audit.record(user, "ops_command", detail)
    return [
        blocks.text(
            f":white_check_mark: `{parsed.request_id}` now waits for "
            f"{mention(moved.approver)} instead of {mention(moved.previous)}; "
            "both and the requester have been told."
        )
    ]


def _handover_line(handover: Handover, verb: str) -> str:
    moved = ", ".join(f"`{r}`" for r in handover.moved)
    line = f"{len(handover.moved)} waiting requests {verb}" + (f": {moved}." if moved else ".")
    if handover.not_moved:
        kept = "; ".join(f"`{r}`: {why}" for r, why in handover.not_moved.items())
        line += f" Not moved: {kept}."
    return line
