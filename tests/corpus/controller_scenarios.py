"""Recorded histories of the rollout controller: scenarios that take it through each patched
path, run against a fake deployment (its activities registered under the real names), so a
history records only what the controller's code decides.

The monitor's check interval is an hour: checks happen only when an Update wakes the
controller, so a scenario records the same commands every time (the drift gate compares them).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from domain.models import NotificationResult
from domain.rollout_models import (
    ActorInput,
    AnalyzeInput,
    BuildHealth,
    DepartmentInput,
    MonitorSettingsInput,
    MonitorSettingsResult,
    OpsAlertInput,
    PromoteInput,
    RampInput,
    RollbackInput,
    RollbackResult,
    RollbackRoutingInput,
    RolloutActionResult,
    RolloutState,
    RoutingAction,
    RoutingInput,
    RoutingResult,
    Thresholds,
    Verdict,
)
from tests.integration.world import poll_until

HISTORIES = Path(__file__).resolve().parents[1] / "controller_histories"
DEPLOYMENT = "recorded"
THRESHOLDS = Thresholds(check_interval_seconds=3600, failure_limit=1, min_sample=1)
OPS = "UOLIVIA"


@dataclass
class FakeDeployment:
    """Routing as the server would keep it, with the verdict each build's checks give."""

    current: str = "A"
    ramping: str | None = None
    earlier: list[str] = field(default_factory=list)  # builds current before, oldest first
    failing: set[str] = field(default_factory=set)
    unreachable: set[str] = field(default_factory=set)  # its check cannot run

    def make_current(self, build: str) -> None:
        if build != self.current:
            self.earlier.append(self.current)
        self.current = build
        if self.ramping == build:
            self.ramping = None

    @activity.defn(name="change_routing")
    async def change_routing(self, input: RoutingInput) -> RoutingResult:
        previous = self.current
        if input.action is RoutingAction.SET_CURRENT:
            self.make_current(input.build_id)
        elif input.action is RoutingAction.SET_RAMPING:
            self.ramping = input.build_id if input.percent > 0 else None
        return RoutingResult(previous_current=previous)

    @activity.defn(name="rollback_routing")
    async def rollback_routing(self, input: RollbackRoutingInput) -> RollbackResult:
        previous = self.current
        if input.department_build or self.ramping:
            source = input.department_build or self.ramping or ""
            self.ramping = None
            target = input.to_build or self.current
        else:
            source = self.current
            healthy = [b for b in input.healthy_builds if b != source]
            target = input.to_build or next(iter(healthy), None) or self.earlier[-1]
        self.make_current(target)
        return RollbackResult(
            from_build=source,
            to_build=target,
            pinned_workflows=0,
            message=f"{source} -> {target}",
            previous_current=previous,
        )

    @activity.defn(name="analyze_build")
    async def analyze_build(self, input: AnalyzeInput) -> BuildHealth:
        if input.build_id in self.unreachable:
            raise ApplicationError("visibility unreachable", non_retryable=True)
        failing = input.build_id in self.failing
        return BuildHealth(
            build_id=input.build_id,
            checked_at=datetime.now(UTC),
            completed=10,
            verdict=Verdict.FAIL if failing else Verdict.PASS,
            problems=["error rate 50% > 5%"] if failing else [],
        )

    @activity.defn(name="alert_ops")
    async def alert_ops(self, input: OpsAlertInput) -> NotificationResult:
        del input
        return NotificationResult()

    def activities(self) -> list[Callable[..., Any]]:
        return [self.change_routing, self.rollback_routing, self.analyze_build, self.alert_ops]


@dataclass
class Controller:
    handle: WorkflowHandle[Any, Any]
    deployment: FakeDeployment
    legacy: bool  # frozen code from before rollback-to-healthy-v1: rollback takes ActorInput

    async def update(self, name: str, arg: BaseModel) -> Any:
        results: dict[str, type[BaseModel]] = {
            "rollback": RollbackResult,
            "apply_monitor_settings": MonitorSettingsResult,
        }
        result = results.get(name, RolloutActionResult)
        return await self.handle.execute_update(name, arg, result_type=result)

    async def rollback(self, reason: str, to_build: str | None = None) -> None:
        if self.legacy:
            await self.update("rollback", ActorInput(actor=OPS, reason=reason))
        else:
            await self.update(
                "rollback", RollbackInput(actor=OPS, reason=reason, to_build=to_build)
            )

    async def wait_for(self, action: str, count: int = 1) -> None:
        async def seen() -> bool:
            state = await self.handle.query("state", result_type=RolloutState)
            return [e.action for e in state.events].count(action) >= count

        await poll_until(seen, 20, f"the controller's {action} event")

    async def check_done(self, after: str) -> None:
        """The monitor's check that `after` started has run and its next timer is set: an
        Update sent while the check runs would record the timer before or after the Update,
        as the timing falls (the drift gate failed on it under load)."""
        await poll_until(lambda: settled(self.handle), 20, f"the check after {after} to finish")


async def ramp_promote_rollback(c: Controller) -> None:
    await c.update("ramp", RampInput(build_id="B", percent=50, actor=OPS))
    await c.wait_for("ramped")
    await c.check_done("the ramp")
    await c.update("promote", PromoteInput(build_id="B", actor=OPS))
    await c.rollback("late trouble")
    await c.wait_for("rolled_back")


async def monitor_rolls_back(c: Controller) -> None:
    c.deployment.failing.add("B")
    await c.update("ramp", RampInput(build_id="B", percent=50, actor=OPS))
    await c.wait_for("rolled_back")


async def check_cannot_run(c: Controller) -> None:
    c.deployment.unreachable.add("B")
    await c.update("ramp", RampInput(build_id="B", percent=50, actor=OPS))
    await c.wait_for("rolled_back")


async def check_cannot_run_before_it_counted(c: Controller) -> None:
    """The code from before monitor-check-errors-count-v1 only audits such a check."""
    c.deployment.unreachable.add("B")
    await c.update("ramp", RampInput(build_id="B", percent=50, actor=OPS))
    await c.wait_for("check_failed")


async def department_rollout(c: Controller) -> None:
    await c.update("target_department", DepartmentInput(build_id="B", department="IT", actor=OPS))
    await c.wait_for("department_rollout")
    await c.check_done("the department rollout")
    await c.rollback("IT saw trouble")
    await c.wait_for("rolled_back")


async def three_builds_rollback(c: Controller) -> None:
    """A -> B -> C; the rollback goes to the last build healthy as current, then ops name one."""
    await c.update("promote", PromoteInput(build_id="B", actor=OPS))
    await c.update("promote", PromoteInput(build_id="C", actor=OPS))
    await c.rollback("C is slow")
    await c.rollback("B is no better", to_build="A")
    await c.wait_for("rolled_back", 2)


async def monitor_settings_change(c: Controller) -> None:
    """A process starts with another window while a build is watched: the next check uses it."""
    await c.update("ramp", RampInput(build_id="B", percent=50, actor=OPS))
    await c.wait_for("ramped")
    await c.check_done("the ramp")
    settings = THRESHOLDS.settings() | {"window_seconds": 60.0}
    await c.update(
        "apply_monitor_settings", MonitorSettingsInput(settings=settings, actor="worker@recording")
    )
    await c.wait_for("monitor_settings_changed")


Scenario = Callable[[Controller], Awaitable[None]]
# generation -> scenario name -> scenario. `current` is what the current code records (the drift
# gate compares it); `v1` and `v0` were recorded once by the frozen code from before the
# patches (tests/fixtures/controller_v*_workflow.py) and are kept as recorded.
SCENARIOS: dict[str, dict[str, Scenario]] = {
    "current": {
        "ramp-promote-rollback": ramp_promote_rollback,
        "monitor-rolls-back": monitor_rolls_back,
        "check-cannot-run": check_cannot_run,
        "department-rollout": department_rollout,
        "three-builds-rollback": three_builds_rollback,
        "monitor-settings-change": monitor_settings_change,
    },
    "v1": {
        "ramp-promote-rollback": ramp_promote_rollback,
        "monitor-rolls-back": monitor_rolls_back,
        "check-cannot-run": check_cannot_run,
    },
    "v0": {
        "monitor-rolls-back": monitor_rolls_back,
        "check-cannot-run": check_cannot_run_before_it_counted,
    },
}


def history_file(generation: str, name: str) -> Path:
    return HISTORIES / f"{generation}-{name}.json"


async def record(client: Client, workflow: type, generation: str, name: str) -> WorkflowHistory:
    """Run scenario `name` on `workflow` (a worker of its own) and return its history."""
    deployment = FakeDeployment()
    task_queue = f"controller-recording-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=task_queue, workflows=[workflow], activities=deployment.activities()
    ):
        handle = await client.start_workflow(
            "RolloutControllerWorkflow",
            RolloutState(deployment_name=DEPLOYMENT, thresholds=THRESHOLDS),
            id=f"controller-{generation}-{name}-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
        )
        # The first workflow task runs before the scenario's first Update: were the Update to
        # race it, the same scenario would record its commands in either order.
        await poll_until(lambda: settled(handle), 20, f"the controller of {name} to start")
        await SCENARIOS[generation][name](Controller(handle, deployment, generation != "current"))
        await poll_until(lambda: settled(handle), 20, f"the controller of {name} to settle")
        history = await handle.fetch_history()
        await handle.terminate("recorded")
    return history


# After these, the workflow code still has to run: the controller is not waiting yet.
_BUSY = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
}


async def settled(handle: WorkflowHandle[Any, Any]) -> bool:
    """The controller waits (for its next check or an Update), nothing left in flight: its
    history ends where the same scenario's always ends."""
    history = await handle.fetch_history()
    return history.events[-1].event_type not in _BUSY
