"""Closed purchase requests in bulk for `bench.dashboard`: real workflow executions of the purchase
workflow's type, with its search attributes, input and result models, run by a stand-in workflow
that returns a result at once instead of reviewing, asking and ordering for a week.

Driving 100,000 requests through the product takes hours on this machine (~17 requests/s);
what the dashboard reads (visibility rows, the start event's input, the close event's result) is
the same either way. The mix of outcomes is fixed by each request id's number."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from domain.actors import AUTOMATED_SYSTEM, SYSTEM
from domain.models import (
    ApprovalResult,
    AutomatedReviewResult,
    CodePath,
    Money,
    ProductInfo,
    PurchaseRequest,
    PurchaseResult,
    PurchaseStatus,
    PurchaseWorkflowInput,
)
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE, purchase_workflow_id
from workflows.names import DEPARTMENT, EMPLOYEE_ID

DEPARTMENTS = ("IT", "Marketing", "Finance", "Operations")
PRODUCT = ProductInfo(
    asin="B0BENCH",
    title="Benchmark thing",
    category="books",
    unit_price=Money(amount=Decimal("20.00")),
    vendor="amazon.es",
    url="https://www.amazon.es/dp/B0BENCH",
)


def number_of(request_id: str) -> int:
    return int(request_id.rsplit("-", 1)[1])


def synthetic_result(request: PurchaseRequest, now: datetime) -> PurchaseResult:
    """Per 20 requests: 11 auto-approved, 3 approved and 2 rejected by a manager, 1 timed out,
    1 invalid link, 1 cancelled, 1 failed order (raised, so the workflow fails)."""
    n = number_of(request.request_id)
    kind = n % 20
    filed = request.requested_at or now

    def review(auto: bool) -> AutomatedReviewResult:
        return AutomatedReviewResult(
            auto_approved=auto,
            confidence=0.5 + (n % 50) / 100,
            reason="bench",
            risk_score=0.1,
            review_time=filed + timedelta(seconds=1 + n % 3),
            rules_version="bench-1",
        )

    def decided(by: str, approved: bool, after: timedelta) -> ApprovalResult:
        return ApprovalResult(approved=approved, decided_by=by, decided_at=filed + after)

    base = PurchaseResult(
        request_id=request.request_id,
        status=PurchaseStatus.COMPLETED,
        code_path=CodePath.PATCHED,
        product=PRODUCT,
    )
    if kind < 11:
        return base.model_copy(
            update={
                "review": review(True),
                "approval": decided(AUTOMATED_SYSTEM, True, timedelta(seconds=2 + n % 3)),
            }
        )
    if kind < 14:
        return base.model_copy(
            update={
                "review": review(False),
                "approval": decided("UCARLOS", True, timedelta(minutes=5 + n % 120)),
            }
        )
    if kind < 16:
        return base.model_copy(
            update={
                "status": PurchaseStatus.REJECTED,
                "review": review(False),
                "approval": decided("UDIANA", False, timedelta(minutes=10 + n % 60)),
            }
        )
    if kind == 16:
        return base.model_copy(
            update={
                "status": PurchaseStatus.REJECTED,
                "approval": decided(SYSTEM, False, timedelta(days=7)),
            }
        )
    if kind == 17:
        return base.model_copy(update={"status": PurchaseStatus.REJECTED, "product": None})
    if kind == 18:
        return base.model_copy(update={"status": PurchaseStatus.CANCELLED})
    return base.model_copy(update={"status": PurchaseStatus.FAILED})


@workflow.defn(name=PURCHASE_WORKFLOW_TYPE, sandboxed=False)
class SyntheticPurchase:
    @workflow.run
    async def run(self, input: PurchaseWorkflowInput) -> PurchaseResult:
        result = synthetic_result(input.request, workflow.now())
        if result.status is PurchaseStatus.FAILED:
            raise ApplicationError("bench: the order failed", non_retryable=True)
        return result


def bench_request(n: int, filed: datetime) -> PurchaseRequest:
    return PurchaseRequest(
        request_id=f"bench-dash-{n:07d}",
        requester=f"U{n % 5000:05d}",
        employee_id=f"E{n % 5000:05d}",
        department=DEPARTMENTS[n % len(DEPARTMENTS)],
        manager="UCARLOS",
        product_url=PRODUCT.url,
        amount=Money(amount=Decimal(10 + n % 90) + Decimal("0.90")),
        requested_at=filed,
    )


async def start_requests(
    client: Client,
    count: int,
    task_queue: str,
    concurrency: int = 48,
    first: int = 0,
    eager: bool = False,
) -> float:
    """Starts `count` requests (numbers first.. first+count-1); returns the seconds it took.
    Their workflows close as soon as a worker of `SyntheticPurchase` on `task_queue` runs them."""
    began = time.monotonic()
    todo = iter(range(first, first + count))

    async def one_by_one() -> None:
        for n in todo:
            request = bench_request(n, datetime.now(UTC))
            with contextlib.suppress(WorkflowAlreadyStartedError):  # a reused server's
                await client.start_workflow(
                    SyntheticPurchase.run,
                    PurchaseWorkflowInput(request=request),
                    id=purchase_workflow_id(request.request_id),
                    task_queue=task_queue,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(DEPARTMENT, request.department),
                            SearchAttributePair(EMPLOYEE_ID, request.employee_id),
                        ]
                    ),
                    request_eager_start=eager,
                )

    await asyncio.gather(*(one_by_one() for _ in range(concurrency)))
    return time.monotonic() - began
