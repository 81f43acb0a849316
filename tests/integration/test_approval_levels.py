"""Approval levels (approval-levels-v1): above the department's `second_approval_above` (live
rules, 2,000 EUR) the manager's approval is followed by a second one, by the department head or
finance, each level with its own message and buttons; a rejection at any level ends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bot.purchase_service import Submitted
from domain.models import JourneyStep, PurchaseStatus
from domain.refusal import Refused
from tests.integration.world import World, poll_until, running_world

LAPTOP = "https://www.amazon.es/dp/B0CX23V2ZK"  # 1199 EUR: two are above 2,000 EUR


@pytest_asyncio.fixture
async def world(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(time_env.client, tmp_path, versioned=False) as w:
        yield w


def messages(world: World, request_id: str, kind: str, to: str) -> list[str]:
    return [
        f"notification:{m['id']}"
        for m in world.notifier.messages_for(request_id)
        if m["kind"] == kind and m["recipient"] == to
    ]


async def asked(world: World, request_id: str, who: str) -> str:
    """Wait until `who` was asked to decide; the reference of their approval message."""

    async def sent() -> bool:
        status = await world.service.status(request_id)
        return any(e.step is JourneyStep.ASKED and e.person == who for e in status.journey)

    await poll_until(sent, 20, f"{who} to be asked about {request_id}")
    [ref] = messages(world, request_id, "approval_request", who)
    return ref


async def two_laptops(world: World) -> Submitted:
    return await world.service.submit(requester="UNICO", url=LAPTOP, amount="2398", quantity=2)


async def refusal(
    world: World, request_id: str, user: str, message_ref: str = "", approve: bool = True
) -> str:
    try:
        await world.service.decide(request_id, user=user, approve=approve, message_ref=message_ref)
    except Refused as refused:
        return str(refused)
    raise AssertionError(f"{user}'s decision was taken")


async def test_approve_then_approve_with_refusals_across_levels(world: World) -> None:
    submitted = await two_laptops(world)
    request_id = submitted.request.request_id
    carlos_ref = await asked(world, request_id, "UCARLOS")
    status = await world.service.status(request_id)
    assert (status.level, status.levels) == (1, 2)
    [first_text] = [
        m["text"]
        for m in world.notifier.messages_for(request_id)
        if m["kind"] == "approval_request"
    ]
    assert first_text.startswith("First approval (level 1 of 2): above 2000.00 EUR")
    # A second-level approver cannot go first.
    assert "first needs UCARLOS's approval (level 1 of 2)" in await refusal(
        world, request_id, "UHELEN"
    )
    assert "first needs UCARLOS" in await refusal(world, request_id, "UFIONA")

    await world.service.decide(request_id, user="UCARLOS", approve=True, message_ref=carlos_ref)
    helen_ref = await asked(world, request_id, "UHELEN")
    # Carlos's double click (his message again) and any decision of his at level 2: refused.
    assert "already given by UCARLOS" in await refusal(world, request_id, "UCARLOS", carlos_ref)
    assert "You gave this request's first approval" in await refusal(world, request_id, "UCARLOS")
    assert "cannot decide on your own" in await refusal(world, request_id, "UNICO")
    assert "Only the assigned approver (UHELEN)" in await refusal(world, request_id, "UBOB")
    [retired] = [
        m for m in world.notifier.messages_for(request_id) if m["kind"] == "approval_retired"
    ]
    assert "First approval given by <@UCARLOS>" in retired["text"]
    assert "waiting for the second approval by <@UHELEN>" in retired["text"]
    status = await world.service.status(request_id)
    assert (status.level, status.levels) == (2, 2)
    assert status.first_approval is not None and status.first_approval.decided_by == "UCARLOS"

    # Finance may give the second approval too (from the CLI: the message went to Helen).
    await world.service.decide(request_id, user="UFIONA", approve=True, reason="budgeted")
    result = await world.service.outcome(request_id, wait_seconds=30)
    assert result is not None and result.status is PurchaseStatus.COMPLETED
    assert result.approval is not None and result.approval.decided_by == "UFIONA"
    assert len(world.ledger.orders_for(request_id)) == 1
    status = await world.service.status(request_id)
    trail = [(e.actor, e.action, e.detail) for e in status.audit]
    assert ("UCARLOS", "approved", "level 1 of 2") in trail
    assert ("UFIONA", "approved", "level 2 of 2: budgeted") in trail
    decided = [(e.person, e.level) for e in status.journey if e.step is JourneyStep.DECIDED]
    assert decided == [("UCARLOS", 1), ("UFIONA", 2)]
    # One message with buttons per level; the second level's is the one updated at the end.
    assert messages(world, request_id, "approval_request", "UHELEN") == [helen_ref]
    assert len(messages(world, request_id, "approval_request", "UCARLOS")) == 1


@pytest.mark.parametrize("level", [1, 2])
async def test_a_rejection_at_either_level_ends_it(world: World, level: int) -> None:
    submitted = await two_laptops(world)
    request_id = submitted.request.request_id
    carlos_ref = await asked(world, request_id, "UCARLOS")
    if level == 2:
        await world.service.decide(request_id, user="UCARLOS", approve=True, message_ref=carlos_ref)
        helen_ref = await asked(world, request_id, "UHELEN")
        await world.service.decide(
            request_id, user="UHELEN", approve=False, reason="too much", message_ref=helen_ref
        )
    else:
        await world.service.decide(
            request_id, user="UCARLOS", approve=False, reason="too much", message_ref=carlos_ref
        )
    result = await world.service.outcome(request_id, wait_seconds=30)
    assert result is not None and result.status is PurchaseStatus.REJECTED
    assert result.approval is not None and not result.approval.approved
    assert result.approval.decided_by == ("UHELEN" if level == 2 else "UCARLOS")
    assert result.order is None
    # Rejected at level 1: nobody is asked for the second approval.
    assert bool(messages(world, request_id, "approval_request", "UHELEN")) is (level == 2)


async def test_at_or_below_the_threshold_one_approval_is_enough(world: World) -> None:
    submitted = await world.service.submit(requester="UNICO", url=LAPTOP, amount="1199")
    request_id = submitted.request.request_id
    ref = await asked(world, request_id, "UCARLOS")
    status = await world.service.status(request_id)
    assert (status.level, status.levels) == (1, 1)
    await world.service.decide(request_id, user="UCARLOS", approve=True, message_ref=ref)
    result = await world.service.outcome(request_id, wait_seconds=30)
    assert result is not None and result.status is PurchaseStatus.COMPLETED
