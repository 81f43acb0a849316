"""Delegations: an approver away until a date names someone who decides in their place.

Pure rules shared by the DelegationsWorkflow entity (its Updates and their validators), the
activity that picks a new request's approver, and the bot that hands already-waiting requests
over. One hop only: a delegate's own delegation is not followed (nobody ends up deciding for
three people without knowing it).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field

from domain.actors import mention
from domain.models import AuditEntry, DelegateLookupResult

# A delegation is for an absence, not a permanent change of approver (that is directory.yaml).
LONGEST_DELEGATION = timedelta(days=90)
# The entity keeps this many recent changes in its state (the rest are in closed runs' histories).
KEEP_CHANGES = 200


class Delegation(BaseModel):
    delegator: str = Field(description="Slack user id of the approver who is away")
    delegate: str = Field(description="Slack user id of who decides in their place")
    until: datetime
    set_at: datetime
    set_by: str


class DelegationsState(BaseModel):
    delegations: list[Delegation] = Field(default_factory=list)
    changes: list[AuditEntry] = Field(default_factory=list)

    def active_for(self, delegator: str, now: datetime) -> Delegation | None:
        return next(
            (d for d in self.delegations if d.delegator == delegator and d.until > now), None
        )


class SetDelegationInput(BaseModel):
    delegator: str
    delegate: str
    until: datetime
    actor: str


class EndDelegationInput(BaseModel):
    delegator: str
    actor: str


class DelegationChange(BaseModel):
    """What a change did: the delegation set or ended, and its audit entry."""

    delegation: Delegation
    change: AuditEntry


def set_delegation(
    delegations: list[Delegation], input: SetDelegationInput, now: datetime
) -> tuple[list[Delegation], Delegation]:
    """The delegations with `input` in force (replacing the delegator's previous one), expired
    ones dropped. Raises ValueError with what to do when it cannot be set."""
    if input.delegate == input.delegator:
        raise ValueError("You cannot delegate to yourself; name who decides while you are away.")
    if input.until <= now:
        raise ValueError(
            f"The end of a delegation must be in the future (it was {input.until:%Y-%m-%d %H:%M} "
            "UTC); say e.g. `until 2026-12-24`."
        )
    if input.until - now > LONGEST_DELEGATION:
        raise ValueError(
            f"A delegation lasts at most {LONGEST_DELEGATION.days} days; pick a nearer date "
            "(a permanent change of approver belongs in directory.yaml)."
        )
    delegation = Delegation(
        delegator=input.delegator,
        delegate=input.delegate,
        until=input.until,
        set_at=now,
        set_by=input.actor,
    )
    kept = [d for d in delegations if d.delegator != input.delegator and d.until > now]
    return [*kept, delegation], delegation


def end_delegation(
    delegations: list[Delegation], input: EndDelegationInput, now: datetime
) -> tuple[list[Delegation], Delegation]:
    """The delegations without the delegator's (expired ones dropped too). A delegation that
    already expired can still be ended: that is how its requests come back (see the README).
    Raises ValueError when the delegator has none."""
    ended = next((d for d in delegations if d.delegator == input.delegator), None)
    if ended is None:
        raise ValueError("You have no delegation to turn off.")
    kept = [d for d in delegations if d.delegator != input.delegator and d.until > now]
    return kept, ended


def stand_in(
    approver: str,
    requester: str,
    delegation: Delegation | None,
    manager_of: Callable[[str], str | None],
    excluded: Collection[str] = (),
) -> DelegateLookupResult:
    """Who decides a request of `requester` that would go to `approver`.

    Never the requester, nor anyone in `excluded` (e.g. whoever gave the first approval: nobody
    approves both levels, also not through a delegation): when the delegate is one of them, the
    request goes to the approver's own manager (the person escalation would pick), or stays with
    the approver when that manager may not decide it either."""
    if delegation is None:
        return DelegateLookupResult(approver=approver)
    until = f"until {delegation.until:%Y-%m-%d %H:%M} UTC"
    barred = {requester, *excluded}
    if delegation.delegate not in barred:
        return DelegateLookupResult(
            approver=delegation.delegate,
            on_behalf_of=approver,
            note=f"{approver} delegated to {delegation.delegate} {until}",
        )
    who = "the requester" if delegation.delegate == requester else "not allowed to decide it"
    above = manager_of(approver)
    if above and above not in barred:
        return DelegateLookupResult(
            approver=above,
            on_behalf_of=approver,
            note=(
                f"{approver} delegated to {delegation.delegate} {until}, who is {who}: "
                f"goes to {approver}'s manager {above}"
            ),
        )
    return DelegateLookupResult(
        approver=approver,
        note=(
            f"{approver} delegated to {delegation.delegate} {until}, who is {who}: "
            f"stays with {approver}"
        ),
    )


def parse_until(text: str) -> datetime:
    """`2026-12-24` (through the end of that day, UTC) or an ISO time (`2026-12-24T18:00Z`; no
    zone means UTC). Raises ValueError with the accepted forms."""
    word = text.strip()
    try:
        if "T" not in word and len(word) == 10:
            day = date.fromisoformat(word)
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
        at = datetime.fromisoformat(word.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"`{word[:40]}` is not a date; say `until 2026-12-24` (through that day, UTC) or "
            "`until 2026-12-24T18:00Z`."
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def filed_before_reassignment(request_id: str, approver: str = "") -> str:
    """Why a request from before reassign-v1 cannot move, and what to do instead."""
    who = f"its approver {mention(approver)}" if approver else "its approver"
    return (
        f"Request {request_id} was filed before reassignment existed, so it cannot be handed to "
        f"someone else; it stays with {who}, who can still decide it. If they cannot, the "
        "requester can cancel it and file it again (it then goes to whoever stands in)."
    )
