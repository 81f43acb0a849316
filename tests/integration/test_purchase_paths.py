"""Every path of PurchaseApprovalWorkflow, on the real Temporal dev server with the real
activities (SQLite ledger, recording notifier, visibility-backed history)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bot.purchase_service import Submitted
from domain.models import CodePath, PurchaseStatus, Stage
from domain.refusal import Refused
from tests.fixtures.broken_activities import broken_review, store_says_no
from tests.integration.world import World, poll_until, running_world
from workflows.names import PURCHASE_OUTCOME

CHEAP_TRUSTED = "electronics"


@pytest_asyncio.fixture
async def world(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[World]:
    async with running_world(dev_env.client, tmp_path) as w:
        yield w


def cheap(world: World, category: str, below: str = "100") -> str:
    product = world.product(lambda p: p.category == category and p.price < Decimal(below))
    return world.url(product)


def price_of(world: World, url: str) -> str:
    asin = url.rsplit("/", 1)[-1]
    product = world.catalog.find(asin)
    assert product is not None
    return f"{product.price} {product.currency}"


async def waiting_for_carlos(world: World) -> Submitted:
    """Nico (no purchase history) asks for a cheap book: it waits for his manager, Carlos."""
    url = cheap(world, "books")
    submitted = await world.service.submit(requester="UNICO", url=url, amount=price_of(world, url))
    request_id = submitted.request.request_id
    await world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)

    # The stage is set before the message to Carlos is sent: wait for the message too.
    async def carlos_asked() -> bool:
        return any(m["kind"] == "approval_request" for m in world.notifier.messages_for(request_id))

    await poll_until(carlos_asked, 10, f"the approval message of {request_id}")
    return submitted


async def test_low_risk_request_is_auto_approved_and_ordered(world: World) -> None:
    await world.import_sample_history()
    url = cheap(world, "books")
    submitted = await world.service.submit(requester="UALICE", url=url, amount=price_of(world, url))

    result = await world.service.outcome(submitted.request.request_id, wait_seconds=15)

    assert result is not None and result.status is PurchaseStatus.COMPLETED
    assert result.code_path is CodePath.PATCHED
    assert result.review is not None and result.review.auto_approved
    assert result.review.reason == "All automated approval criteria met"
    assert result.approval is not None and result.approval.decided_by == "automated_system"
    assert len(world.ledger.orders_for(submitted.request.request_id)) == 1
    kinds = [m["kind"] for m in world.notifier.messages_for(submitted.request.request_id)]
    assert kinds == ["outcome", "auto_approval_fyi"]
    assert world.settings.deployment_name  # a versioned worker, as in production
    assert await world.ran_pinned_on_this_build(submitted.workflow_id)


async def test_requester_without_history_waits_for_manager_who_approves(world: World) -> None:
    submitted = await waiting_for_carlos(world)
    request_id = submitted.request.request_id
    status = await world.service.status(request_id)
    assert status.review is not None and not status.review.auto_approved
    assert status.review.reason == (
        "User purchase history doesn't meet approval criteria: 0 previous purchases, 5 needed"
    )
    [ask] = world.notifier.messages_for(request_id)
    assert ask["recipient"] == "UCARLOS" and ask["kind"] == "approval_request"
    assert "Automated review: User purchase history" in ask["text"]

    decision = await world.service.decide(request_id, user="UCARLOS", approve=True, reason="ok")
    assert decision.approved and decision.decided_by == "UCARLOS"

    result = await world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.COMPLETED
    assert result.order is not None
    assert len(world.ledger.orders_for(request_id)) == 1


async def test_manager_rejects(world: World) -> None:
    submitted = await waiting_for_carlos(world)
    request_id = submitted.request.request_id

    await world.service.decide(request_id, user="UCARLOS", approve=False, reason="not needed")

    result = await world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.REJECTED
    assert result.reason == "not needed"
    assert world.ledger.orders_for(request_id) == []


async def test_approval_signal_of_the_seed_still_decides(world: World) -> None:
    submitted = await waiting_for_carlos(world)
    request_id = submitted.request.request_id
    handle = world.client.get_workflow_handle(submitted.workflow_id)

    await handle.signal("approval_decision", {"approved": False, "decided_by": "UBOB"})
    await handle.signal("approval_decision", {"approved": True, "decided_by": "UCARLOS"})

    result = await world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.COMPLETED
    status = await world.service.status(request_id)
    assert [e.action for e in status.audit if e.actor == "UBOB"] == ["decision_ignored"]


async def test_invalid_product_ends_invalid_not_rejected_nor_failed(world: World) -> None:
    submitted = await world.service.submit(
        requester="UNICO", url="https://www.amazon.es/dp/B000000000", amount="10"
    )

    result = await world.service.outcome(submitted.request.request_id, wait_seconds=15)

    assert result is not None and result.status is PurchaseStatus.INVALID
    assert "B000000000" in result.reason
    assert world.ledger.orders_for(submitted.request.request_id) == []
    # Not a rejection: a mistyped link does not count against the requester's history.
    described = await world.client.get_workflow_handle(submitted.workflow_id).describe()
    assert described.typed_search_attributes.get(PURCHASE_OUTCOME) == "invalid"


async def test_same_request_started_twice_is_one_workflow(world: World) -> None:
    url = cheap(world, "books")
    first = await world.service.submit(
        requester="UNICO", url=url, amount=price_of(world, url), request_id="PR-DUPLICATE1"
    )
    second = await world.service.submit(
        requester="UNICO", url=url, amount=price_of(world, url), request_id="PR-DUPLICATE1"
    )
    assert first.workflow_id == second.workflow_id

    async def count() -> int:
        query = f"WorkflowId = '{first.workflow_id}'"
        return (await world.client.count_workflows(query)).count

    await world.wait_for_stage("PR-DUPLICATE1", Stage.AWAITING_APPROVAL)
    assert await count() == 1
    await world.service.decide("PR-DUPLICATE1", user="UCARLOS", approve=True)
    assert await world.service.outcome("PR-DUPLICATE1", wait_seconds=15) is not None
    # Finished: submitting again does not start it anew.
    await world.service.submit(
        requester="UNICO", url=url, amount=price_of(world, url), request_id="PR-DUPLICATE1"
    )
    assert await count() == 1
    assert len(world.ledger.orders_for("PR-DUPLICATE1")) == 1


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("UBOB", "Only the assigned approver (UCARLOS) can decide"),
        ("UNICO", "You cannot decide on your own purchase request"),
    ],
)
async def test_decision_by_the_wrong_person_is_refused(
    world: World, user: str, expected: str
) -> None:
    submitted = await waiting_for_carlos(world)
    request_id = submitted.request.request_id

    with pytest.raises(Refused, match=re.escape(expected)):
        await world.service.decide(request_id, user=user, approve=True)

    status = await world.service.status(request_id)
    assert status.stage is Stage.AWAITING_APPROVAL and status.approval is None
    await world.service.cancel(request_id, user="UNICO")


async def test_only_the_first_of_two_decisions_counts(world: World) -> None:
    submitted = await waiting_for_carlos(world)
    request_id = submitted.request.request_id

    outcomes = await asyncio.gather(
        world.service.decide(request_id, user="UCARLOS", approve=True),
        world.service.decide(request_id, user="UCARLOS", approve=False),
        return_exceptions=True,
    )

    accepted = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, Refused)]
    assert len(accepted) == 1 and len(refused) == 1, outcomes
    assert "already" in str(refused[0])
    result = await world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.approval is not None
    assert result.approval.approved == accepted[0].approved


async def test_requester_cancels_while_waiting(world: World) -> None:
    submitted = await waiting_for_carlos(world)
    request_id = submitted.request.request_id

    with pytest.raises(Refused, match="Only the requester can cancel"):
        await world.service.cancel(request_id, user="UCARLOS")
    await world.service.cancel(request_id, user="UNICO", reason="bought it myself")

    result = await world.service.outcome(request_id, wait_seconds=15)
    assert result is not None and result.status is PurchaseStatus.CANCELLED
    assert result.reason == "bought it myself"
    with pytest.raises(Refused, match="already finished"):
        await world.service.decide(request_id, user="UCARLOS", approve=True)


async def test_review_failing_every_attempt_falls_back_to_manager(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(dev_env.client, tmp_path, replace_activities=[broken_review]) as w:
        await w.import_sample_history()
        url = cheap(w, "books")
        submitted = await w.service.submit(requester="UALICE", url=url, amount=price_of(w, url))
        request_id = submitted.request.request_id

        await w.wait_for_stage(request_id, Stage.AWAITING_APPROVAL, within=20)
        status = await w.service.status(request_id)
        assert status.review is None and status.code_path is CodePath.PATCHED
        assert "review_failed" in [e.action for e in status.audit]
        await w.service.decide(request_id, user="UCARLOS", approve=True)
        result = await w.service.outcome(request_id, wait_seconds=15)
        assert result is not None and result.status is PurchaseStatus.COMPLETED


async def test_failed_order_tells_the_requester_and_fails_the_workflow(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(dev_env.client, tmp_path, replace_activities=[store_says_no]) as w:
        await w.import_sample_history()
        url = cheap(w, "books")
        submitted = await w.service.submit(requester="UALICE", url=url, amount=price_of(w, url))

        with pytest.raises(Refused, match="the store refused the order"):
            await w.service.outcome(submitted.request.request_id, wait_seconds=15)

        status = await w.service.status(submitted.request.request_id)
        assert status.stage is Stage.FAILED
        [told, *_] = w.notifier.messages_for(submitted.request.request_id)
        assert told["recipient"] == "UALICE" and "but could not be ordered" in told["text"]
        query = (
            f"WorkflowId = '{submitted.workflow_id}' AND ExecutionStatus = 'Failed' "
            "AND PurchaseOutcome = 'failed'"
        )

        async def counted_as_failed() -> bool:  # what the deployment monitor sees
            return (await w.client.count_workflows(query)).count == 1

        await poll_until(counted_as_failed, 10, "visibility to show the failed request")
