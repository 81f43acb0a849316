"""The 7-day approval timeout (time-skipping server) and requests started by the original,
pre-patch code finishing on the current code (dev server)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bot.worker import PURCHASE_WORKFLOWS
from domain.models import CodePath, PurchaseStatus, Stage
from tests.fixtures.original_workflow import OriginalPurchaseApprovalWorkflow
from tests.integration.world import World, running_world
from workflows.names import PURCHASE_OUTCOME

ORIGINAL_WORKFLOWS = (OriginalPurchaseApprovalWorkflow,)


def book(world: World) -> tuple[str, str]:
    product = world.product(lambda p: p.category == "books" and p.price < Decimal(100))
    return world.url(product), str(product.price)


@pytest.mark.parametrize("original", [False, True], ids=["patched", "original"])
async def test_no_decision_for_seven_days_rejects(
    time_env: WorkflowEnvironment, tmp_path: Path, original: bool
) -> None:
    workflows = ORIGINAL_WORKFLOWS if original else PURCHASE_WORKFLOWS
    # The time-skipping server ignores Worker Deployments: unversioned there.
    async with running_world(time_env.client, tmp_path, workflows=workflows, versioned=False) as w:
        url, amount = book(w)
        submitted = await w.service.submit(requester="UNICO", url=url, amount=amount)
        await w.wait_for_stage(submitted.request.request_id, Stage.AWAITING_APPROVAL)

        await time_env.sleep(timedelta(days=6, hours=23))
        assert await w.service.outcome(submitted.request.request_id, wait_seconds=0.5) is None
        await time_env.sleep(timedelta(hours=1, seconds=1))
        result = await w.service.outcome(submitted.request.request_id, wait_seconds=15)

        assert result is not None and result.status is PurchaseStatus.REJECTED
        assert result.reason == "Approval timeout after 7 days"
        assert result.approval is not None and result.approval.decided_by == "system"
        assert w.ledger.orders_for(submitted.request.request_id) == []
        # Nobody rejected it: the requester's history does not count it as a rejection
        # (since history-outcomes-v1; the original code's requests stay `rejected`).
        described = await w.client.get_workflow_handle(submitted.workflow_id).describe()
        outcome = described.typed_search_attributes.get(PURCHASE_OUTCOME)
        assert outcome == ("rejected" if original else "rejected_by_system")
        # Unversioned here (the check that the other worlds run PINNED can fail).
        assert not await w.ran_pinned_on_this_build(submitted.workflow_id)


@pytest.mark.parametrize("decision", ["approve", "reject", "cancel"])
async def test_original_code_paths(
    dev_env: WorkflowEnvironment, tmp_path: Path, decision: str
) -> None:
    async with running_world(dev_env.client, tmp_path, workflows=ORIGINAL_WORKFLOWS) as w:
        await w.import_sample_history()  # the original code ignores history: still manual
        url, amount = book(w)
        submitted = await w.service.submit(requester="UALICE", url=url, amount=amount)
        request_id = submitted.request.request_id
        await w.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)
        if decision == "approve":
            await w.service.decide(request_id, user="UCARLOS", approve=True)
            expected = PurchaseStatus.COMPLETED
        elif decision == "reject":
            await w.service.decide(request_id, user="UCARLOS", approve=False, reason="no")
            expected = PurchaseStatus.REJECTED
        else:
            await w.service.cancel(request_id, user="UALICE")
            expected = PurchaseStatus.CANCELLED

        result = await w.service.outcome(request_id, wait_seconds=15)

        assert result is not None and result.status is expected
        assert result.code_path is CodePath.ORIGINAL and result.review is None


async def test_original_invalid_product(dev_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with running_world(dev_env.client, tmp_path, workflows=ORIGINAL_WORKFLOWS) as w:
        submitted = await w.service.submit(
            requester="UNICO", url="https://www.amazon.es/dp/B000000000", amount="10"
        )
        result = await w.service.outcome(submitted.request.request_id, wait_seconds=15)
        assert result is not None and result.status is PurchaseStatus.REJECTED


async def test_request_started_by_original_code_finishes_on_current_code(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # Unversioned: a PINNED request would stay on the old build; this is the deploy of the
    # patch itself, where old and new code share one unversioned task queue.
    async with running_world(
        dev_env.client, tmp_path, workflows=ORIGINAL_WORKFLOWS, versioned=False
    ) as old:
        await old.import_sample_history()
        url, amount = book(old)
        submitted = await old.service.submit(requester="UALICE", url=url, amount=amount)
        request_id = submitted.request.request_id
        await old.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)
        task_queue = old.settings.task_queue

    # The deploy: the old worker is gone, the current code takes the same task queue.
    async with running_world(
        dev_env.client, tmp_path / "new", task_queue=task_queue, versioned=False
    ) as new:
        await new.service.decide(request_id, user="UCARLOS", approve=True)
        result = await new.service.outcome(request_id, wait_seconds=15)

        assert result is not None and result.status is PurchaseStatus.COMPLETED
        # It replayed on the original path: no automated review was inserted mid-flight.
        assert result.code_path is CodePath.ORIGINAL and result.review is None
