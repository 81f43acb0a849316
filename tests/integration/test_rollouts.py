"""Safe evolution on the real dev server: two builds of one Worker Deployment with different
workflow code, ramped, promoted and rolled back by the rollout controller."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.common import AutoUpgradeVersioningOverride
from temporalio.testing import WorkflowEnvironment

from domain.models import ApprovalDecision, CodePath, PurchaseStatus, Stage
from domain.refusal import Refused
from domain.rollout_models import PlanStatus, Thresholds
from tests.fixtures.failing_workflow import FailingPurchaseApprovalWorkflow
from tests.fixtures.original_workflow import OriginalPurchaseApprovalWorkflow
from tests.fixtures.stuck_workflow import StuckPurchaseApprovalWorkflow
from tests.integration.deployment_world import BOOK, DeploymentWorld, deployment_world
from tests.integration.world import poll_until
from workflows.purchase_approval import PurchaseApprovalWorkflow


async def results(handles: list[WorkflowHandle[Any, Any]], timeout: float = 120) -> list[Any]:  # noqa: ASYNC109
    """Every request's result, with a deadline for the whole batch: 200 requests took over 30 s
    beside two CPU burners."""
    return list(await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), timeout))


async def two_builds(world: DeploymentWorld) -> None:
    """Build A (the original code) current, build B (the current code) polling."""
    await world.start_build("A", OriginalPurchaseApprovalWorkflow)
    await world.admin.promote("A", "UOLIVIA")
    await world.start_build("B", PurchaseApprovalWorkflow)


async def test_ramp_sends_about_that_share_of_new_requests_then_promote(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world:
        await two_builds(world)
        await world.admin.ramp("B", 30, "UOLIVIA")

        # Started at once (the share is the server's per-workflow-id routing, not timing).
        handles = list(await asyncio.gather(*(world.start_request() for _ in range(200))))
        await results(handles)
        builds = await world.builds_of(handles)
        share = builds.count("B") / len(builds)
        assert 0.2 <= share <= 0.4, share
        assert set(builds) == {"A", "B"}

        await world.admin.promote("B", "UOLIVIA")
        await world.until_new_requests_run_on("B")
        after = list(await asyncio.gather(*(world.start_request() for _ in range(10))))
        await results(after)
        assert set(await world.builds_of(after)) == {"B"}
        status = await world.admin.status()
        assert status.deployment.current_build == "B" and status.deployment.ramping_build is None
        actions = [e.action for e in status.controller.events]
        assert actions == ["promoted", "ramped", "promoted"]


async def test_unknown_build_and_bad_percentages_are_refused(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world:
        await world.start_build("A", PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        with pytest.raises(Refused, match="No worker of build 'nope'"):
            await world.admin.ramp("nope", 10, "UOLIVIA")
        with pytest.raises(Refused, match="not a percentage"):
            await world.admin.ramp("A", 130, "UOLIVIA")
        with pytest.raises(Refused, match="no previous build"):
            await world.admin.rollback("UOLIVIA", "nothing to go back to")


async def test_rollback_with_pinned_and_auto_upgrade_requests_in_flight(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world:
        await two_builds(world)
        await world.admin.promote("B", "UOLIVIA")
        await world.until_new_requests_run_on("B")
        # Requests waiting for a manager, started on B: pinned (default) and auto-upgrade.
        pinned = [await world.start_request(url=BOOK, amount="39.90") for _ in range(3)]
        upgrading = [
            await world.start_request(
                url=BOOK, amount="39.90", override=AutoUpgradeVersioningOverride()
            )
            for _ in range(3)
        ]
        in_flight = pinned + upgrading

        async def all_waiting() -> bool:
            stages = [(await h.query(PurchaseApprovalWorkflow.status)).stage for h in in_flight]
            return all(s is Stage.AWAITING_APPROVAL for s in stages)

        await poll_until(all_waiting, 20, "requests on B to wait for approval")

        rollback = await world.admin.rollback("UOLIVIA", "bad numbers")
        assert (rollback.from_build, rollback.to_build) == ("B", "A")
        assert rollback.pinned_workflows == 3

        new = await world.start_request()
        await results([new])
        assert await world.build_of(new.id) == "A"

        for handle in in_flight:
            await handle.signal(
                PurchaseApprovalWorkflow.approval_decision,
                ApprovalDecision(approved=True, decided_by="UCARLOS"),
            )
        finished = await results(in_flight)
        assert [r.status for r in finished] == [PurchaseStatus.COMPLETED] * 6
        assert {r.code_path for r in finished} == {CodePath.PATCHED}  # all finished on B
        assert any("rolled back from build `B` to `A`" in a for a in world.notifier.ops_alerts())


@pytest.mark.parametrize(
    ("broken_build", "symptom"),
    [(FailingPurchaseApprovalWorkflow, "error rate"), (StuckPurchaseApprovalWorkflow, "stuck")],
    ids=["fails-requests", "requests-get-stuck"],
)
async def test_monitor_rolls_back_a_broken_build_by_itself(
    dev_env: WorkflowEnvironment, tmp_path: Path, broken_build: type, symptom: str
) -> None:
    thresholds = Thresholds(check_interval_seconds=0.5, min_sample=3, failure_limit=2)
    async with deployment_world(dev_env.client, tmp_path, thresholds) as world:
        await world.start_build("A", PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        await world.start_build("B", broken_build)
        await world.admin.ramp("B", 50, "UOLIVIA")

        async def rolled_back() -> bool:
            await world.start_request()  # traffic keeps flowing while we wait
            return (await world.admin.deployments.describe()).ramping_build is None

        await poll_until(rolled_back, 30, "the monitor to roll back build B", every=0.2)
        status = await world.admin.status()
        rollback = [e for e in status.controller.events if e.action == "rolled_back"]
        assert rollback and rollback[0].actor == "monitor"
        await poll_until(rollback_announced(world), 10, "the rollback's ops alert")
        alerts = world.notifier.ops_alerts()
        failed_checks = [a for a in alerts if "Health check failed for build `B`" in a]
        assert len(failed_checks) >= 2 and symptom in failed_checks[0]
        assert any("The monitor rolled back" in a for a in alerts)
        after = [await world.start_request() for _ in range(5)]
        await results(after)
        assert set(await world.builds_of(after)) == {"A"}


async def test_plan_resumes_after_the_controller_worker_restarts(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    thresholds = Thresholds(check_interval_seconds=0.5, min_sample=2)
    async with deployment_world(dev_env.client, tmp_path, thresholds) as world:
        await two_builds(world)
        await world.admin.plan("B", [50, 100], 1.0, "UOLIVIA")
        await world.restart_control_worker()

        async def promoted() -> bool:
            await world.start_request()
            status = await world.admin.status()
            # The controller makes B current, then records the plan as completed: wait for both.
            plan = status.controller.plan
            return status.deployment.current_build == "B" and (
                plan is not None and plan.status is PlanStatus.COMPLETED
            )

        await poll_until(promoted, 40, "the plan to promote B and complete", every=0.2)
        status = await world.admin.status()
        assert "plan_step" in [e.action for e in status.controller.events]


def rollback_announced(world: DeploymentWorld) -> Callable[[], Awaitable[bool]]:
    """The controller alerts ops just after it moved the traffic: wait for that alert too."""

    async def announced() -> bool:
        return any("The monitor rolled back" in a for a in world.notifier.ops_alerts())

    return announced
