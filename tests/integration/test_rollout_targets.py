"""Where traffic goes on the real dev server: a department rollout (that department's new
requests on the new build, nobody else's), a rollback that goes to the last build that was
healthy as current (three builds), `/rollback to <build>`, and a monitor rollback that no
failing alert can delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.common import PinnedVersioningOverride, VersioningOverride, WorkerDeploymentVersion
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from bot import purchase_service
from bot.department_routing import DepartmentRouting
from bot.purchase_service import PurchaseService
from domain.models import NotificationResult
from domain.refusal import Refused
from domain.rollout_models import OpsAlertInput, Thresholds, Verdict
from tests.fixtures.failing_workflow import FailingPurchaseApprovalWorkflow
from tests.integration.deployment_world import INVALID_PRODUCT, DeploymentWorld, deployment_world
from tests.integration.test_rollouts import results, two_builds
from tests.integration.world import poll_until
from workflows.purchase_approval import PurchaseApprovalWorkflow

IT_PEOPLE = ("UALICE", "UNICO", "UCARLOS")
OTHER_PEOPLE = ("UBOB", "UFIONA", "UDIANA", "UHELEN")


async def file(world: DeploymentWorld, requester: str) -> WorkflowHandle[Any, Any]:
    """A request filed as the bot files it (through PurchaseService and its routing)."""
    submitted = await world.service.submit(requester=requester, url=INVALID_PRODUCT, amount="10")
    return world.client.get_workflow_handle(submitted.workflow_id)


async def filed_builds(world: DeploymentWorld, people: tuple[str, ...], rounds: int) -> list[str]:
    handles = [await file(world, person) for _ in range(rounds) for person in people]
    await results(handles)
    return await world.builds_of(handles)


async def test_a_department_rollout_sends_all_its_new_requests_and_none_of_the_others(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    thresholds = Thresholds(check_interval_seconds=0.5, min_sample=2)
    async with deployment_world(dev_env.client, tmp_path, thresholds) as world:
        await two_builds(world)
        done = await world.admin.target_department("B", "it", "UOLIVIA")
        assert "every new request of department IT" in done.message

        assert await filed_builds(world, IT_PEOPLE, 4) == ["B"] * 12
        assert await filed_builds(world, OTHER_PEOPLE, 3) == ["A"] * 12
        status = await world.admin.status()
        assert status.deployment.current_build == "A" and status.deployment.ramping_build is None
        target = status.controller.department
        assert target is not None and (target.build_id, target.department) == ("B", "IT")

        # Requests of other departments that run on B anyway (pinned by hand) are not judged:
        # the monitor looks at the department's traffic only.
        pin_b = PinnedVersioningOverride(WorkerDeploymentVersion(world.deployment, "B"))
        await results([await world.start_request(requester="UBOB", override=pin_b) for _ in "123"])
        pinned_closed = datetime.now(UTC)

        async def judged() -> bool:
            # A check taken after the pinned requests closed: they would count, were they judged.
            health = (await world.admin.status()).controller.health.get("B")
            return health is not None and health.checked_at > pinned_closed

        await poll_until(judged, 20, "a check of B after the pinned requests closed", every=0.2)
        health = (await world.admin.status()).controller.health["B"]
        assert health.completed + health.failed == 12, health
        assert health.to_date is not None
        assert health.to_date.completed + health.to_date.failed == 12

        # Nothing else may move traffic while the department rollout runs.
        with pytest.raises(Refused, match="rolled out to department IT"):
            await world.admin.ramp("B", 10, "UOLIVIA")

        rollback = await world.admin.rollback("UOLIVIA", "IT saw trouble")
        assert (rollback.from_build, rollback.to_build) == ("B", "A")
        assert await filed_builds(world, IT_PEOPLE, 1) == ["A"] * 3
        status = await world.admin.status()
        assert status.controller.department is None
        assert status.deployment.current_build == "A"
        with pytest.raises(Refused, match="Nothing to roll back"):
            await world.admin.rollback("UOLIVIA", "again")
        with pytest.raises(Refused, match="`B` was rolled back"):
            await world.admin.target_department("B", "IT", "UOLIVIA")

        async def announced() -> bool:
            return any("from build `B` for department IT to `A`" in a for a in alerts())

        def alerts() -> list[str]:
            return world.notifier.ops_alerts()

        await poll_until(announced, 10, "the department rollback's ops alert")


async def test_promoting_a_department_build_gives_it_to_everyone(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world:
        await two_builds(world)
        with pytest.raises(Refused, match="No one is in department `Sales`"):
            await world.admin.target_department("B", "Sales", "UOLIVIA")
        with pytest.raises(Refused, match="already current"):
            await world.admin.target_department("A", "IT", "UOLIVIA")
        await world.admin.ramp("B", 10, "UOLIVIA")
        with pytest.raises(Refused, match="is ramping at 10%"):
            await world.admin.target_department("B", "Finance", "UOLIVIA")
        await world.admin.ramp("B", 0, "UOLIVIA")

        await world.admin.target_department("B", "Finance", "UOLIVIA")
        assert await filed_builds(world, ("UFIONA", "UBOB"), 3) == ["B", "A"] * 3
        await world.admin.promote("B", "UOLIVIA")
        await world.until_new_requests_run_on("B")
        assert await filed_builds(world, ("UFIONA", "UBOB"), 2) == ["B"] * 4
        status = await world.admin.status()
        assert status.controller.department is None
        assert "department_rollout_ended" in [e.action for e in status.controller.events]


async def test_rollback_goes_to_the_last_build_healthy_as_current_or_where_told(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A (healthy) -> B (failing as current; the monitor may not roll back) -> C: a rollback of
    C goes to A, not to B, the build current just before it."""
    thresholds = Thresholds(check_interval_seconds=0.5, min_sample=2, failure_limit=10_000)
    async with deployment_world(dev_env.client, tmp_path, thresholds) as world:
        await world.start_build("A", PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        await world.start_build("B", FailingPurchaseApprovalWorkflow)
        await world.admin.promote("B", "UOLIVIA")

        async def failing_as_current() -> bool:
            await world.start_request()
            record = (await world.admin.status()).controller.builds.get("B")
            return record is not None and record.verdict_as_current is Verdict.FAIL

        await poll_until(failing_as_current, 30, "a failed check of B as current", every=0.2)
        await world.start_build("C", PurchaseApprovalWorkflow)
        await world.admin.promote("C", "UOLIVIA")
        assert (await world.admin.deployments.describe()).previous_build() == "B"

        rollback = await world.admin.rollback("UOLIVIA", "C is slow")
        assert (rollback.from_build, rollback.to_build) == ("C", "A")
        after = [await world.start_request() for _ in range(3)]
        await results(after)
        assert await world.builds_of(after) == ["A"] * 3

        # Ops may name the build: B (never rolled back) is allowed; C needs `override`.
        with pytest.raises(Refused, match="`C` was rolled back"):
            await world.admin.rollback("UOLIVIA", "C was fine", to_build="C")
        with pytest.raises(Refused, match="the build being rolled back"):
            await world.admin.rollback("UOLIVIA", "no move", to_build="A")
        back = await world.admin.rollback("UOLIVIA", "C was fine", to_build="C", override=True)
        assert (back.from_build, back.to_build) == ("A", "C")
        assert (await world.admin.deployments.describe()).current_build == "C"
        assert "A" in (await world.admin.status()).controller.rolled_back_builds


@activity.defn(name="alert_ops")
async def slack_down(input: OpsAlertInput) -> NotificationResult:
    """FAULT: every ops alert fails (retried 5 times by the controller, ~15 s)."""
    raise ApplicationError(f"Slack is down; not sent: {input.text[:40]}")


async def test_the_monitor_rolls_back_before_it_alerts(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    thresholds = Thresholds(check_interval_seconds=0.5, min_sample=2, failure_limit=1)
    async with deployment_world(dev_env.client, tmp_path, thresholds, faulty=[slack_down]) as world:
        await world.start_build("A", PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        await world.start_build("B", FailingPurchaseApprovalWorkflow)
        await world.admin.ramp("B", 100, "UOLIVIA")

        async def rolled_back() -> bool:
            await world.start_request()
            return (await world.admin.deployments.describe()).ramping_build is None

        await poll_until(rolled_back, 30, "the monitor to roll back B", every=0.2)
        events = (await world.admin.status()).controller.events
        failed = next(e for e in events if e.action == "health_check_failed")
        back = next(e for e in events if e.action == "rolled_back")
        # The failing alert (5 attempts, ~15 s) would come first without the patch.
        assert back.at - failed.at < timedelta(seconds=5), (failed, back)


async def test_without_a_controller_no_request_is_pinned(dev_env: WorkflowEnvironment) -> None:
    routing = DepartmentRouting(dev_env.client, "deployment-without-a-controller")
    assert await routing.override_for("IT") is None
    unversioned = DepartmentRouting(dev_env.client, "")  # no deployment: never pinned
    assert await unversioned.override_for("IT") is None


class PinToUnknownBuild(DepartmentRouting):
    """A department rollout whose build the task queue has not heard of (yet)."""

    async def override_for(self, department: str) -> VersioningOverride | None:
        return PinnedVersioningOverride(WorkerDeploymentVersion(self._deployment, "never-ran"))


async def test_a_pin_the_task_queue_does_not_know_yet_is_retried_then_filed_unpinned(
    dev_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(purchase_service, "PIN_VISIBLE_WAIT_SECONDS", 1.0)
    async with deployment_world(dev_env.client, tmp_path) as world:
        await two_builds(world)
        await world.admin.promote("B", "UOLIVIA")
        service = PurchaseService(
            world.client,
            world.directory,
            task_queue=world.task_queue,
            routing=PinToUnknownBuild(world.client, world.deployment),
        )
        submitted = await service.submit(requester="UALICE", url=INVALID_PRODUCT, amount="10")
        handle = world.client.get_workflow_handle(submitted.workflow_id)
        await results([handle])
        assert await world.builds_of([handle]) == ["B"]
