"""Rolling the approval journey out the safe way (README, "Rolling out the approval journey"):
two builds of one Worker Deployment on the real dev server. Build A runs the code from before
`approval-reminders-v1`, build B the current code, rolled out with a `/rollout plan`. A request
already waiting on A keeps A's behaviour (PINNED: no reminders, ever); a request started once B
is current gets reminded. Reminders come after seconds here (the worker setting, compressed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.models import JourneyStep, PurchaseStatus, Stage
from domain.rollout_models import PlanStatus, Thresholds
from domain.workflow_ids import request_id_of
from tests.corpus.commands import patch_markers
from tests.fixtures.shadow_v1_workflow import ShadowV1PurchaseApprovalWorkflow
from tests.integration.deployment_world import BOOK, DeploymentWorld, deployment_world
from tests.integration.world import poll_until
from workflows.purchase_approval import REMINDERS_PATCH, PurchaseApprovalWorkflow

REMIND_AFTER_SECONDS = 3.0


async def waiting_for_carlos(world: DeploymentWorld) -> WorkflowHandle[Any, Any]:
    """Nico's book (no history: his manager Carlos decides), once it waits for Carlos."""
    handle = await world.start_request(url=BOOK, amount="39.90")

    async def waiting() -> bool:
        status = await world.service.status(request_id_of(handle.id))
        return status.stage is Stage.AWAITING_APPROVAL

    await poll_until(waiting, 30, f"{handle.id} to wait for Carlos")
    return handle


def reminders_of(world: DeploymentWorld, handle: WorkflowHandle[Any, Any]) -> list[dict[str, str]]:
    request_id = request_id_of(handle.id)
    return [m for m in world.notifier.messages_for(request_id) if m["kind"] == "approval_reminder"]


async def test_waiting_requests_keep_the_old_build_new_ones_get_reminders(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    compressed = {
        "reminder_after_days": (REMIND_AFTER_SECONDS / 86400,),
        "escalate_after_days": 0.0,
    }
    thresholds = Thresholds(check_interval_seconds=0.5, min_sample=2)
    async with deployment_world(
        dev_env.client, tmp_path, thresholds, settings_changes=compressed
    ) as world:
        await world.start_build("A", ShadowV1PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        old = await waiting_for_carlos(world)

        # The new build, rolled out as the README shows: `/rollout plan B 50,100 every 1s`.
        await world.start_build("B", PurchaseApprovalWorkflow)
        await world.admin.plan("B", [50, 100], 1.0, "UOLIVIA")

        async def promoted() -> bool:
            await world.start_request()  # traffic the monitor judges (finishes at once)
            status = await world.admin.status()
            plan = status.controller.plan
            return status.deployment.current_build == "B" and (
                plan is not None and plan.status is PlanStatus.COMPLETED
            )

        await poll_until(promoted, 60, "the plan to promote B", every=0.2)
        new = await waiting_for_carlos(world)
        assert [await world.build_of(old.id), await world.build_of(new.id)] == ["A", "B"]

        async def new_one_reminded() -> bool:
            return bool(reminders_of(world, new))

        await poll_until(new_one_reminded, 30, "the request on build B to be reminded")
        # The old request has waited longer than the reminder point, on build A: no reminder.
        assert reminders_of(world, old) == []
        old_status = await world.service.status(request_id_of(old.id))
        assert not any(e.step is JourneyStep.REMINDED for e in old_status.journey)
        new_status = await world.service.status(request_id_of(new.id))
        assert [e.person for e in new_status.journey if e.step is JourneyStep.REMINDED] == [
            "UCARLOS"
        ]

        for handle in (old, new):
            await world.service.decide(request_id_of(handle.id), user="UCARLOS", approve=True)
        for handle in (old, new):
            assert (await handle.result()).status is PurchaseStatus.COMPLETED
        # Each finished on the build it started on, with that build's patches.
        assert [await world.build_of(old.id), await world.build_of(new.id)] == ["A", "B"]
        old_markers = patch_markers(await old.fetch_history())
        new_markers = patch_markers(await new.fetch_history())
        assert REMINDERS_PATCH.id not in old_markers and REMINDERS_PATCH.id in new_markers
