"""The client side of rollouts: what /rollout, /rollback and the "Flag as wrong" button call.

The RolloutControllerWorkflow is started on first use (one per Worker Deployment) on the
unversioned control task queue, so it never depends on the builds it moves traffic between.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from activities.worker_deployments import DeploymentView, WorkerDeployments
from domain.rollout_models import (
    ActorInput,
    FlagWrongInput,
    PlanInput,
    PromoteInput,
    RampInput,
    RollbackResult,
    RolloutActionResult,
    RolloutState,
    Thresholds,
)
from domain.workflow_ids import rollout_controller_id
from workflows.rollout_controller import RolloutControllerWorkflow

T = TypeVar("T")


class RolloutRefused(Exception):
    """The controller refused the change; the message says why."""


@dataclass(frozen=True)
class RolloutStatus:
    deployment: DeploymentView
    controller: RolloutState


class RolloutAdmin:
    def __init__(
        self,
        client: Client,
        *,
        control_task_queue: str,
        deployment_name: str,
        thresholds: Thresholds | None = None,
    ) -> None:
        self._client = client
        self._task_queue = control_task_queue
        self.deployments = WorkerDeployments(client, deployment_name)
        self._thresholds = thresholds or Thresholds()

    async def _controller(self) -> WorkflowHandle[RolloutControllerWorkflow, None]:
        name = self.deployments.name
        return await self._client.start_workflow(
            RolloutControllerWorkflow.run,
            RolloutState(deployment_name=name, thresholds=self._thresholds),
            id=rollout_controller_id(name),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    async def ensure_controller(self) -> None:
        """Start the controller unless it runs: every process does this at start-up, so the
        monitor's thresholds come from the process settings, not from whoever called first."""
        await self._controller()

    async def ramp(self, build_id: str, percent: float, actor: str) -> RolloutActionResult:
        handle = await self._controller()
        return await _refused(
            handle.execute_update(
                RolloutControllerWorkflow.ramp,
                RampInput(build_id=build_id, percent=percent, actor=actor),
            )
        )

    async def promote(self, build_id: str, actor: str) -> RolloutActionResult:
        handle = await self._controller()
        return await _refused(
            handle.execute_update(
                RolloutControllerWorkflow.promote, PromoteInput(build_id=build_id, actor=actor)
            )
        )

    async def plan(
        self, build_id: str, steps: list[float], interval_seconds: float, actor: str
    ) -> RolloutActionResult:
        handle = await self._controller()
        plan = PlanInput(
            build_id=build_id, steps=steps, interval_seconds=interval_seconds, actor=actor
        )
        return await _refused(handle.execute_update(RolloutControllerWorkflow.start_plan, plan))

    async def plan_control(self, action: str, actor: str) -> RolloutActionResult:
        update: Any = {
            "pause": RolloutControllerWorkflow.pause,
            "resume": RolloutControllerWorkflow.resume,
            "abort": RolloutControllerWorkflow.abort,
        }[action]
        handle = await self._controller()
        return await _refused(handle.execute_update(update, ActorInput(actor=actor)))

    async def rollback(self, actor: str, reason: str) -> RollbackResult:
        handle = await self._controller()
        return await _refused(
            handle.execute_update(
                RolloutControllerWorkflow.rollback, ActorInput(actor=actor, reason=reason)
            )
        )

    async def flag_wrong(self, request_id: str, build_id: str, actor: str) -> RolloutActionResult:
        handle = await self._controller()
        flag = FlagWrongInput(request_id=request_id, build_id=build_id, actor=actor)
        return await _refused(handle.execute_update(RolloutControllerWorkflow.flag_wrong, flag))

    async def status(self) -> RolloutStatus:
        handle = await self._controller()
        return RolloutStatus(
            deployment=await self.deployments.describe(),
            controller=await handle.query(RolloutControllerWorkflow.state),
        )


async def _refused(update: Awaitable[T]) -> T:
    try:
        return await update
    except WorkflowUpdateFailedError as err:
        # The reason is an ApplicationError: the validator's, or an activity's (unknown build).
        cause: BaseException | None = err.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.__cause__
        raise RolloutRefused(cause.message if cause is not None else str(err)) from err
