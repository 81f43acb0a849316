"""The client side of rollouts: what /rollout, /rollback and the "Flag as wrong" button call.

The RolloutControllerWorkflow is started on first use (one per Worker Deployment) on the
unversioned control task queue, so it never depends on the builds it moves traffic between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.workflow import UpdateMethodMultiParam

from activities.worker_deployments import DeploymentView, WorkerDeployments
from appconfig.files import ReloadingFile
from bot.department_routing import DepartmentRouting
from domain import product_metrics
from domain.directory import Directory
from domain.refusal import Refused
from domain.rollout_models import (
    ActorInput,
    DepartmentInput,
    FlagWrongInput,
    MonitorSettingsInput,
    MonitorSettingsResult,
    PlanInput,
    PromoteInput,
    RampInput,
    RollbackInput,
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

# Reading the controller before changing its monitor settings: a query needs a control worker;
# when none answers in this time, the Update is sent anyway (it waits for one).
QUERY_TIMEOUT = timedelta(seconds=2)


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
        directory: ReloadingFile[Directory] | None = None,
    ) -> None:
        """`directory`: the departments a department rollout may name (unchecked without)."""
        self._client = client
        self._task_queue = control_task_queue
        self.deployments = WorkerDeployments(client, deployment_name)
        self._thresholds = thresholds or Thresholds()
        self._directory = directory
        # This process's request starts read the department target through it; a change made
        # here reaches them at once.
        self.routing = DepartmentRouting(client, deployment_name)

    def _initial(self) -> RolloutState:
        return RolloutState(deployment_name=self.deployments.name, thresholds=self._thresholds)

    async def _update(
        self, update: UpdateMethodMultiParam[[RolloutControllerWorkflow, P], R], arg: P
    ) -> R:
        """Starts the controller on first use. Raises Refused with the controller's reason."""
        try:
            return await update_entity(
                self._client,
                update,
                arg,
                run=RolloutControllerWorkflow.run,
                initial=self._initial(),
                workflow_id=rollout_controller_id(self.deployments.name),
                task_queue=self._task_queue,
            )
        finally:
            # A department rollout may have begun or ended: this process's next request
            # start reads the target again instead of waiting for its copy to go stale.
            self.routing.forget()

    async def ensure_controller(self) -> bool:
        """Start the controller unless it runs (no worker needed); True if this started it,
        with this process's thresholds. Every process does this at start-up."""
        return await start_entity(
            self._client,
            RolloutControllerWorkflow.run,
            self._initial(),
            workflow_id=rollout_controller_id(self.deployments.name),
            task_queue=self._task_queue,
        )

    async def apply_monitor_settings(self, actor: str) -> MonitorSettingsResult:
        """Give the running controller this process's monitor settings (the last process to
        start wins). Read first: with nothing to change, no Update reaches its history. Waits
        for a control worker. Raises Refused when the controller refuses a value."""
        wanted = self._thresholds.settings()
        try:
            current = (await self._controller(rpc_timeout=QUERY_TIMEOUT)).thresholds.settings()
        except RPCError:
            current = None  # no control worker answered yet: the Update waits for one
        if current == wanted:
            return MonitorSettingsResult(
                changed=False, before=current, after=wanted, message="Monitor settings unchanged."
            )
        change = MonitorSettingsInput(settings=wanted, actor=actor)
        return await self._update(RolloutControllerWorkflow.apply_monitor_settings, change)

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

    async def target_department(
        self, build_id: str, department: str, actor: str, *, override: bool = False
    ) -> RolloutActionResult:
        """Every NEW request of `department` goes to `build_id`; everyone else stays."""
        target = DepartmentInput(
            build_id=build_id,
            department=self._department(department),
            actor=actor,
            override=override,
        )
        return await self._update(RolloutControllerWorkflow.target_department, target)

    def _department(self, name: str) -> str:
        """The directory's spelling of `name`; refused when no one is in that department."""
        name = name.strip()
        if self._directory is None:
            return name
        known = sorted({p.department for p in self._directory.get().value.people})
        for department in known:
            if department.casefold() == name.casefold():
                return department
        raise Refused(f"No one is in department `{name}`. Departments: {', '.join(known)}.")

    async def rollback(
        self, actor: str, reason: str, *, to_build: str | None = None, override: bool = False
    ) -> RollbackResult:
        """`to_build`: where new requests go (default: the last build healthy as current).
        `override`: `to_build` may be a build that was itself rolled back."""
        rollback = RollbackInput(actor=actor, reason=reason, to_build=to_build, override=override)
        return await self._update(RolloutControllerWorkflow.rollback, rollback)

    async def flag_wrong(self, request_id: str, build_id: str, actor: str) -> RolloutActionResult:
        flag = FlagWrongInput(request_id=request_id, build_id=build_id, actor=actor)
        result = await self._update(RolloutControllerWorkflow.flag_wrong, flag)
        runtime = self._client.service_client.config.runtime or Runtime.default()
        product_metrics.auto_approval_flagged(runtime.metric_meter)
        return result

    async def status(self) -> RolloutStatus:
        """Before the first rollout the controller does not exist: it reads as a fresh one."""
        controller = await self._controller()
        return RolloutStatus(deployment=await self.deployments.describe(), controller=controller)

    async def _controller(self, rpc_timeout: timedelta | None = None) -> RolloutState:
        return await query_entity(
            self._client,
            rollout_controller_id(self.deployments.name),
            RolloutControllerWorkflow.state,
            missing=self._initial(),
            rpc_timeout=rpc_timeout,
        )
