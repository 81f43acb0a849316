"""`GET /api/dashboard` on the bot's port, over a seeded scenario with known answers.

The requests are real workflow executions on the dev server under the purchase workflow's type,
run by a stand-in workflow (registered under the real name, like a fake activity) that returns
the result it is given: visibility, histories and the rollout controller's flags are the real
ones, and the scenario takes a second instead of a week."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from temporalio import workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bot.api.tokens import Role
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
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
from tests.integration.slack_world import API_TOKENS, SlackWorld, slack_world
from tests.integration.world import poll_until
from workflows.names import DEPARTMENT, EMPLOYEE_ID


@workflow.defn(name=PURCHASE_WORKFLOW_TYPE, sandboxed=False)
class SeededPurchase:
    """Ends as the seed says; without a seed it keeps running (a request awaiting approval)."""

    def __init__(self) -> None:
        self._seed: PurchaseResult | None = None

    @workflow.signal
    def seed(self, result: PurchaseResult) -> None:
        self._seed = result

    @workflow.run
    async def run(self, input: PurchaseWorkflowInput) -> PurchaseResult:
        await workflow.wait_condition(lambda: self._seed is not None)
        assert self._seed is not None
        if self._seed.status is PurchaseStatus.FAILED:
            raise ApplicationError("order failed", non_retryable=True)
        return self._seed


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


FILED = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
PRODUCT = ProductInfo(
    asin="B0SEED",
    title="Seeded thing",
    category="electronics",
    unit_price=Money(amount=Decimal("10.00")),
    vendor="amazon.es",
    url="https://www.amazon.es/dp/B0SEED",
)


def _review(auto: bool, confidence: float, after_s: float) -> AutomatedReviewResult:
    return AutomatedReviewResult(
        auto_approved=auto,
        confidence=confidence,
        reason="seeded",
        risk_score=0.1,
        review_time=FILED + timedelta(seconds=after_s),
        rules_version="seed-1",
    )


def _decided(by: str, approved: bool, after_s: float) -> ApprovalResult:
    return ApprovalResult(
        approved=approved, decided_by=by, decided_at=FILED + timedelta(seconds=after_s)
    )


def _result(
    status: PurchaseStatus,
    *,
    product: bool = True,
    review: AutomatedReviewResult | None = None,
    approval: ApprovalResult | None = None,
) -> PurchaseResult:
    return PurchaseResult(
        request_id="",
        status=status,
        code_path=CodePath.PATCHED,
        product=PRODUCT if product else None,
        review=review,
        approval=approval,
    )


C, R, X = PurchaseStatus.COMPLETED, PurchaseStatus.REJECTED, PurchaseStatus.CANCELLED
# (department, amount, seeded end or None = still running)
SCENARIO: list[tuple[str, str, PurchaseResult | None]] = [
    # IT: two auto-approvals (one flagged as wrong), a manual approval after a review that did
    # not auto-approve, a timeout, an invalid link.
    (
        "IT",
        "20.00",
        _result(C, review=_review(True, 0.875, 2), approval=_decided(AUTOMATED_SYSTEM, True, 2)),
    ),
    (
        "IT",
        "40.00",
        _result(C, review=_review(True, 0.625, 4), approval=_decided(AUTOMATED_SYSTEM, True, 4)),
    ),
    (
        "IT",
        "90.00",
        _result(C, review=_review(False, 0.3, 6), approval=_decided("UCARLOS", True, 600)),
    ),
    ("IT", "50.00", _result(R, approval=_decided(SYSTEM, False, 7 * 86400))),
    ("IT", "999.00", _result(R, product=False)),
    # Marketing: a manual rejection, a cancellation, a failed order, one still waiting.
    ("Marketing", "100.00", _result(R, approval=_decided("UDIANA", False, 1800))),
    ("Marketing", "30.00", _result(X)),
    ("Marketing", "60.00", _result(PurchaseStatus.FAILED)),
    ("Marketing", "10.00", None),
]


async def _seed(client: Client, task_queue: str) -> tuple[list[WorkflowHandle[Any, Any]], str]:
    handles: list[WorkflowHandle[Any, Any]] = []
    flagged = ""
    for number, (department, amount, end) in enumerate(SCENARIO):
        request_id = f"seed-{uuid.uuid4().hex[:10]}"
        request = PurchaseRequest(
            request_id=request_id,
            requester="UALICE",
            employee_id="E1001",
            department=department,
            manager="UCARLOS",
            product_url=PRODUCT.url,
            amount=Money(amount=Decimal(amount)),
            requested_at=FILED,
        )
        handle = await client.start_workflow(
            SeededPurchase.run,
            PurchaseWorkflowInput(request=request),
            id=request_id,
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(DEPARTMENT, department),
                    SearchAttributePair(EMPLOYEE_ID, "E1001"),
                ]
            ),
        )
        if end is not None:
            await handle.signal(
                SeededPurchase.seed, end.model_copy(update={"request_id": request_id})
            )
        handles.append(handle)
        if number == 0:
            flagged = request_id
    return handles, flagged


async def _get(sw: SlackWorld, role: Role | None, **params: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {API_TOKENS[role]}"} if role else {}
    async with (
        aiohttp.ClientSession() as http,
        http.get(sw.api_url + "/dashboard", headers=headers, params=params) as response,
    ):
        return response.status, await response.json()


async def test_the_dashboard_answers_every_field_of_a_seeded_scenario(
    sw: SlackWorld, dev_env: WorkflowEnvironment
) -> None:
    client = dev_env.client
    since = datetime.now(UTC) - timedelta(seconds=1)
    task_queue = f"seed-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[SeededPurchase]):
        handles, flagged = await _seed(client, task_queue)
        await sw.rollout.flag_wrong(flagged, "build-seed", "UCARLOS")
        for handle in handles[:-2]:
            await handle.result()
        until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        window = {"since": since.isoformat(), "until": until}
        answer: Any = None

        async def settled() -> bool:  # visibility lags the closes by tens of ms
            nonlocal answer
            status, answer = await _get(sw, Role.FINANCE, **window)
            assert status == 200, answer
            return bool(
                answer["counts"]["failed"] == 1 and answer["counts"]["filed"] == len(SCENARIO)
            )

        await poll_until(settled, 10, "the dashboard to count every request of the scenario")
        await handles[-1].terminate("scenario over")

    assert answer["period"] == {
        "since": since.isoformat().replace("+00:00", "Z"),
        "until": until.replace("+00:00", "Z"),
        "department": None,
    }
    assert answer["counts"] == {
        "filed": 9,
        "invalid": 1,
        "reviewed": 3,
        "auto_approved": 2,
        "manually_approved": 1,
        "rejected": 1,
        "timed_out": 1,
        "cancelled": 1,
        "failed": 1,
        "flagged_wrong": 1,
    }
    assert answer["automated_review_metrics"] == {
        "auto_approval_rate": 2 / 3,
        "avg_review_time": 4.0,
        "confidence_score_avg": 0.75,
        "false_positive_rate": 0.5,
    }
    # The monitor's view of the world's own deployment, as the rollout controller reports it.
    rollout = await sw.rollout.status()
    build = rollout.deployment.current_build
    health = rollout.controller.health.get(build) if build else None
    assert build is not None
    assert answer["deployment_metrics"] == {
        "current_build_id": build,
        "rollout_percentage": 0.0,
        "error_rate": health.error_rate if health and health.sample else None,
        "avg_latency_p99": health.p99_seconds if health else None,
    }
    assert answer["department_breakdown"] == {
        # IT's valid requests: 20, 40, 90, 50 (the invalid link's 999 is left out).
        "IT": {"auto_approval": 2 / 3, "avg_amount": "50.00", "currency": "EUR", "requests": 5},
        # Marketing: nothing reviewed; 100, 30, 60, 10.
        "Marketing": {
            "auto_approval": None,
            "avg_amount": "50.00",
            "currency": "EUR",
            "requests": 4,
        },
    }
    # Decisions: auto 2 s and 4 s; by a person 600 s and 1800 s (the timeout is nobody's).
    assert answer["kpis"] == {
        "median_time_to_decision_auto_s": 3.0,
        "median_time_to_decision_manual_s": 1200.0,
        "approval_time_reduction": 1 - 302.0 / 1200.0,
        "precision": 0.5,
        "rollbacks": 0,
        "median_rollback_s": None,
    }
    status, only_it = await _get(sw, Role.AUDITOR, **window, department="IT")
    assert status == 200
    assert only_it["counts"]["filed"] == 5 and set(only_it["department_breakdown"]) == {"IT"}
    await _bad_input_is_400_and_roles_are_checked(sw)


async def _bad_input_is_400_and_roles_are_checked(sw: SlackWorld) -> None:
    cases = [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-12-02", "until": "2026-12-01"}, "until"),
        ({"department": "Astrology"}, "department"),
    ]
    for params, field in cases:
        status, answer = await _get(sw, Role.OPS, **params)
        assert (status, answer["field"]) == (400, field), answer
    _, answer = await _get(sw, Role.OPS, department="Astrology")
    assert answer["message"] == (
        "There is no department `Astrology`; known: Finance, IT, Marketing, Operations."
    )
    _, answer = await _get(sw, Role.OPS, since="2026-12-02", until="2026-12-01")
    assert "must be after" in answer["message"]
    assert (await _get(sw, Role.INTEGRATION))[0] == 403
    assert (await _get(sw, None))[0] == 401
