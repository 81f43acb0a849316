"""journey-delegates-pool-v1 on the time-skipping server: an escalation target or second-level
approver who delegated is replaced by their delegate (never the requester, nor whoever gave the
first approval); every eligible second-level approver is asked, the first decision wins; every
earlier approval message ends showing the outcome; a second approval nobody may give ends the
request, said to the requester and ops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from domain.models import JourneyStep, PurchaseStatus
from domain.refusal import Refused
from tests.corpus.paths import away
from tests.fixtures.reassign_v0_workflow import ReassignV0PurchaseApprovalWorkflow
from tests.integration.test_approval_journey import nicos_book_asked, refused
from tests.integration.test_approval_levels import LAPTOP, asked, messages, two_laptops
from tests.integration.world import World, poll_until, running_world


@pytest_asyncio.fixture
async def world(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(time_env.client, tmp_path, versioned=False) as w:
        yield w


def updated(world: World, request_id: str) -> set[str]:
    """The approval messages (by reference) updated with the outcome."""
    return {
        m["recipient"]
        for m in world.notifier.messages_for(request_id)
        if m["kind"] == "approval_update"
    }


async def finished(world: World, request_id: str) -> PurchaseStatus:
    result = await world.service.outcome(request_id, wait_seconds=30)
    assert result is not None
    return result.status


@pytest.mark.parametrize(
    ("delegate", "expected", "why"),
    [
        ("UDIANA", "UDIANA", "delegated to UDIANA on behalf of UHELEN"),
        # Helen's delegate filed the request: it goes to Helen's own manager, on her behalf.
        ("UNICO", "UOLIVIA", "delegated to UOLIVIA on behalf of UHELEN"),
    ],
)
async def test_escalation_goes_to_the_delegate_of_the_manager_who_is_away(
    world: World, time_env: WorkflowEnvironment, delegate: str, expected: str, why: str
) -> None:
    await away(world, "UHELEN", delegate)
    request_id = await nicos_book_asked(world)
    carlos = messages(world, request_id, "approval_request", "UCARLOS")
    await time_env.sleep(timedelta(days=5, minutes=1))

    async def escalated() -> bool:
        status = await world.service.status(request_id)
        return status.approver == expected

    await poll_until(escalated, 20, f"{request_id} to escalate to {expected}")
    status = await world.service.status(request_id)
    assert status.on_behalf_of == "UHELEN"
    steps = [(e.step, e.person) for e in status.journey]
    assert (JourneyStep.ESCALATED, "UHELEN") in steps
    assert (JourneyStep.DELEGATED, expected) in steps
    assert any(e.action == "escalated" and why in e.detail for e in status.audit)
    assert any(e.action == "delegated" and e.detail.startswith(why) for e in status.audit)
    [ref] = messages(world, request_id, "approval_request", expected)
    [text] = [
        m["text"]
        for m in world.notifier.messages_for(request_id)
        if f"notification:{m['id']}" == ref
    ]
    assert text.startswith("Escalated to you on behalf of <@UHELEN>: <@UCARLOS> has not decided")
    assert not messages(world, request_id, "approval_request", "UHELEN")
    assert not messages(world, request_id, "approval_request", "UNICO")
    # Helen, away, is not the approver; the requester never is.
    assert "cannot decide on your own" in await refused(world, request_id, "UNICO")

    await world.service.decide(request_id, user=expected, approve=True, message_ref=ref)
    assert await finished(world, request_id) is PurchaseStatus.COMPLETED
    status = await world.service.status(request_id)
    assert status.approval is not None and status.approval.on_behalf_of == "UHELEN"
    # Carlos's message ends showing the outcome too, not "moved".
    assert set(carlos) <= updated(world, request_id)


async def test_every_eligible_second_approver_is_asked_and_the_first_decision_wins(
    world: World,
) -> None:
    request_id = (await two_laptops(world)).request.request_id
    carlos_ref = await asked(world, request_id, "UCARLOS")
    await world.service.decide(request_id, user="UCARLOS", approve=True, message_ref=carlos_ref)
    refs = {who: await asked(world, request_id, who) for who in ("UHELEN", "UFIONA", "UGEORGE")}
    retired = [
        m for m in world.notifier.messages_for(request_id) if m["kind"] == "approval_retired"
    ]
    assert [m["recipient"] for m in retired] == [carlos_ref]
    assert "second approval by <@UHELEN>, <@UFIONA>, <@UGEORGE>" in retired[0]["text"]

    await world.service.decide(request_id, user="UFIONA", approve=True, message_ref=refs["UFIONA"])
    assert await finished(world, request_id) is PurchaseStatus.COMPLETED
    # Everyone's message (the other two approvers', Carlos's) says who decided: no buttons left.
    assert updated(world, request_id) == {carlos_ref, *refs.values()}
    outcome = [
        m["text"] for m in world.notifier.messages_for(request_id) if m["kind"] == "approval_update"
    ]
    assert all("UFIONA" in text for text in outcome)
    late = await refused(world, request_id, "UHELEN", refs["UHELEN"])
    assert "already approved by UFIONA" in late or "already finished" in late
    assert len(world.ledger.orders_for(request_id)) == 1


async def test_second_level_delegates_stand_in_but_never_the_first_approver(
    world: World,
) -> None:
    # Helen is away (Diana decides for her); Fiona delegated to Carlos, who gives the first
    # approval, so nobody asks Carlos again: Fiona's manager George is asked, for himself.
    await away(world, "UHELEN", "UDIANA")
    await away(world, "UFIONA", "UCARLOS")
    request_id = (await two_laptops(world)).request.request_id
    carlos_ref = await asked(world, request_id, "UCARLOS")
    await world.service.decide(request_id, user="UCARLOS", approve=True, message_ref=carlos_ref)
    george_ref = await asked(world, request_id, "UGEORGE")

    async def diana_asked() -> bool:
        return bool(messages(world, request_id, "approval_request", "UDIANA"))

    await poll_until(diana_asked, 20, "Diana to be asked for Helen")
    [diana_ref] = messages(world, request_id, "approval_request", "UDIANA")
    assert not messages(world, request_id, "approval_request", "UHELEN")
    assert not messages(world, request_id, "approval_request", "UFIONA")
    assert messages(world, request_id, "approval_request", "UCARLOS") == [carlos_ref]
    status = await world.service.status(request_id)
    trail = [(e.action, e.detail) for e in status.audit]
    assert ("approval_requested", "approver UDIANA on behalf of UHELEN (level 2)") in trail
    assert ("approval_requested", "approver UGEORGE (level 2)") in trail
    assert any(
        a == "delegated" and d.startswith("delegated to UDIANA on behalf of UHELEN")
        for a, d in trail
    )
    assert any(a == "delegated" and "who is not allowed to decide it" in d for a, d in trail)
    assert "You gave this request's first approval" in await refused(world, request_id, "UCARLOS")

    await world.service.decide(request_id, user="UDIANA", approve=True, message_ref=diana_ref)
    assert await finished(world, request_id) is PurchaseStatus.COMPLETED
    status = await world.service.status(request_id)
    assert status.approval is not None
    assert (status.approval.decided_by, status.approval.on_behalf_of) == ("UDIANA", "UHELEN")
    assert ("UDIANA", "approved", "level 2 of 2: on behalf of UHELEN") in [
        (e.actor, e.action, e.detail) for e in status.audit
    ]
    assert updated(world, request_id) == {carlos_ref, george_ref, diana_ref}


async def test_a_second_approval_nobody_may_give_ends_it_told_and_audited(world: World) -> None:
    # George (Fiona's manager) is away: Helen approves for him. Finance's second approvers are
    # Helen, Fiona and George: the requester, the first approver and the one she stood in for.
    await away(world, "UGEORGE", "UHELEN")
    submitted = await world.service.submit(
        requester="UFIONA", url=LAPTOP, amount="2398", quantity=2
    )
    request_id = submitted.request.request_id
    helen_ref = await asked(world, request_id, "UHELEN")
    await world.service.decide(request_id, user="UHELEN", approve=True, message_ref=helen_ref)
    result = await world.service.outcome(request_id, wait_seconds=30)
    assert result is not None and result.status is PurchaseStatus.REJECTED
    assert "nobody may give it" in result.reason
    status = await world.service.status(request_id)
    assert "second_approval_impossible" in [e.action for e in status.audit]
    # The requester is told why, ops are alerted, Helen's message shows the end (no buttons).
    [told] = [
        m["text"]
        for m in world.notifier.messages_for(request_id)
        if m["kind"] == "outcome" and m["recipient"] == "UFIONA"
    ]
    assert "nobody may give it" in told
    assert any(
        request_id in alert and "second approval" in alert for alert in world.notifier.ops_alerts()
    )
    assert updated(world, request_id) == {helen_ref}
    assert world.ledger.orders_for(request_id) == []


async def test_a_request_filed_before_reassign_v1_cannot_move_and_says_why(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # The dev server: the old worker's sticky queue times out there, so the new worker gets the
    # request (the time-skipping server never hands it over). Unversioned, as the deploy of the
    # patch itself. Still on a build from before reassign-v1: no `reassign` Update at all.
    async with running_world(
        dev_env.client, tmp_path, workflows=(ReassignV0PurchaseApprovalWorkflow,), versioned=False
    ) as old:
        request_id = await nicos_book_asked(old)
        with pytest.raises(Refused) as refused:
            await old.service.reassign(request_id, to="UHELEN", by="UOLIVIA")
        assert f"Request {request_id} was filed before reassignment existed" in str(refused.value)
        assert "expected but not found" not in str(refused.value)
        task_queue = old.settings.task_queue

    # The same request once the current code runs it (it replays on its path without the patch).
    async with running_world(
        dev_env.client, tmp_path / "new", task_queue=task_queue, versioned=False
    ) as new:
        with pytest.raises(Refused) as refused:
            await new.service.reassign(request_id, to="UHELEN", by="UOLIVIA")
        why = str(refused.value)
        assert f"Request {request_id} was filed before reassignment existed" in why
        assert "it stays with its approver <@UCARLOS>, who can still decide it" in why
        await new.service.decide(request_id, user="UCARLOS", approve=True)
        assert await finished(new, request_id) is PurchaseStatus.COMPLETED
