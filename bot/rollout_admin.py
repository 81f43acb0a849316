"""The client side of rollouts: what /rollout, /rollback and the "Flag as wrong" button call.

The RolloutControllerWorkflow is started on first use (one per Worker Deployment) on the
unversioned control task queue, so it never depends on the builds it moves traffic between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.workflow import UpdateMethodMultiParam

from activities.worker_deployments import DeploymentView, WorkerDeployments
from domain import product_metrics
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
from entities.client import query_entity, start_entity, update_entity
from workflows.rollout_controller import RolloutControllerWorkflow

P = TypeVar("P")
R = TypeVar("R")


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

    def _initial(self) -> RolloutState:
        return RolloutState(deployment_name=self.deployments.name, thresholds=self._thresholds)

    async def _update(
        self, update: UpdateMethodMultiParam[[RolloutControllerWorkflow, P], R], arg: P
    ) -> R:
        """Starts the controller on first use. Raises Refused with the controller's reason."""
        return await update_entity(
            self._client,
            update,
            arg,
            run=RolloutControllerWorkflow.run,
            initial=self._initial(),
            workflow_id=rollout_controller_id(self.deployments.name),
            task_queue=self._task_queue,
        )

    async def ensure_controller(self) -> None:
        """Start the controller unless it runs: every process does this at start-up, so the
        monitor's thresholds come from the process settings, not from whoever called first."""
        await start_entity(
            self._client,
            RolloutControllerWorkflow.run,
            self._initial(),
            workflow_id=rollout_controller_id(self.deployments.name),
            task_queue=self._task_queue,
        )

    async def ramp(
        self, build_id: str, percent: float, actor: str, *, override: bool = False
    ) -> RolloutActionResult:
        """`override`: send traffic to a build that was rolled back (refused otherwise)."""
        ramp = RampInput(build_id=build_id, percent=percent, actor=actor, override=override)
        return await self._update(RolloutControllerWorkflow.ramp, ramp)

    async def promote(
        self, build_id: str, actor: str, *, override: bool = False
    ) -> RolloutActionResult:
        promote = PromoteInput(build_id=build_id, actor=actor, override=override)
        return await self._update(RolloutControllerWorkflow.promote, promote)

    async def plan(
        self,
        build_id: str,
        steps: list[float],
        interval_seconds: float,
        actor: str,
        *,
        override: bool = False,
    ) -> RolloutActionResult:
        plan = PlanInput(
            build_id=build_id,
            steps=steps,
            interval_seconds=interval_seconds,
            actor=actor,
            override=override,
        )
        return await self._update(RolloutControllerWorkflow.start_plan, plan)

    async def plan_control(self, action: str, actor: str) -> RolloutActionResult:
        update: Any = {
            "pause": RolloutControllerWorkflow.pause,
            "resume": RolloutControllerWorkflow.resume,
            "abort": RolloutControllerWorkflow.abort,
        }[action]
        return await self._update(update, ActorInput(actor=actor))

    async def rollback(self, actor: str, reason: str) -> RollbackResult:
        rollback = ActorInput(actor=actor, reason=reason)
        return await self._update(RolloutControllerWorkflow.rollback, rollback)

    async def flag_wrong(self, request_id: str, build_id: str, actor: str) -> RolloutActionResult:
        flag = FlagWrongInput(request_id=request_id, build_id=build_id, actor=actor)
        result = await self._update(RolloutControllerWorkflow.flag_wrong, flag)
        runtime = self._client.service_client.config.runtime or Runtime.default()
        product_metrics.auto_approval_flagged(runtime.metric_meter)
        return result

    async def status(self) -> RolloutStatus:
        """Before the first rollout the controller does not exist: it reads as a fresh one."""
        controller = await query_entity(
            self._client,
            rollout_controller_id(self.deployments.name),
            RolloutControllerWorkflow.state,
            missing=self._initial(),
        )
        return RolloutStatus(deployment=await self.deployments.describe(), controller=controller)
