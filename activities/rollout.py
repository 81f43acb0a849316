"""Activities of the rollout controller: move traffic between builds, roll back safely,
measure a build's health from visibility, alert the ops channel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.notifications import delivery_errors, last_try
from activities.notifier import Notifier
from activities.worker_deployments import DeploymentView, UnknownBuild, WorkerDeployments
from domain.build_health import judge
from domain.models import NotificationResult
from domain.percentiles import nearest_rank
from domain.rollout_models import (
    AnalyzeInput,
    BuildHealth,
    OpsAlertInput,
    RampToDate,
    RollbackResult,
    RollbackRoutingInput,
    RoutingAction,
    RoutingInput,
    RoutingResult,
)
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE

FAILED_STATUSES = ("Failed", "TimedOut", "Terminated", "Canceled")
LATENCY_SAMPLE = 500
STUCK_SAMPLE = 100  # running requests inspected per check


class RolloutActivities:
    def __init__(self, client: Client, deployments: WorkerDeployments, notifier: Notifier) -> None:
        self._client = client
        self._deployments = deployments
        self._notifier = notifier

    @activity.defn
    async def change_routing(self, input: RoutingInput) -> RoutingResult:
        view = await self._deployments.describe()
        try:
            if input.action is RoutingAction.CHECK_DEPARTMENT_TARGET:
                _check_department_target(view, input.build_id)
            elif input.action is RoutingAction.SET_CURRENT:
                await self._deployments.set_current(input.build_id)
            elif input.percent <= 0:
                await self._deployments.clear_ramp()
            else:
                await self._deployments.set_ramping(input.build_id, input.percent)
        except UnknownBuild as err:
            raise ApplicationError(str(err), type="UnknownBuild", non_retryable=True) from err
        return RoutingResult(previous_current=view.current_build)

    @activity.defn
    async def rollback_routing(self, input: RollbackRoutingInput) -> RollbackResult:
        view = await self._deployments.describe()
        if input.department_build:
            # The department's new requests already go to the current build (the controller
            # cleared its target first): only in-flight work is protected here.
            source, target = input.department_build, view.current_build
        elif view.ramping_build:
            # A ramp is rolled back by clearing it: everyone new goes to the current build.
            source, target = view.ramping_build, view.current_build
        else:
            source = view.current_build or ""
            healthy = [b for b in input.healthy_builds if b != source and view.knows(b)]
            target = input.to_build or next(iter(healthy), None) or view.previous_build()
            if not source or target is None:
                raise ApplicationError(
                    "There is no previous build to roll back to.",
                    type="NoPreviousBuild",
                    non_retryable=True,
                )
        target = input.to_build or target
        if target == source:
            raise ApplicationError(
                f"Build `{source}` is the build being rolled back: name another one.",
                type="NoPreviousBuild",
                non_retryable=True,
            )
        if target is not None and target != view.current_build and not view.knows(target):
            raise ApplicationError(
                f"No worker of build '{target}' is polling: it cannot take the traffic back.",
                type="NoPreviousBuild",
                non_retryable=True,
            )
        pinned = await self._deployments.pin_auto_upgrade_workflows(source)
        if view.ramping_build and not input.department_build:
            await self._deployments.clear_ramp()
        if target is not None and target != view.current_build:
            await self._deployments.set_current(target, known=True)
        return RollbackResult(
            from_build=source,
            to_build=target,
            pinned_workflows=pinned,
            message=f"Rolled back from {source} to {target}: {input.reason}",
            previous_current=view.current_build,
        )

    @activity.defn
    async def analyze_build(self, input: AnalyzeInput) -> BuildHealth:
        now = datetime.now(UTC)
        window_since = max(input.since, now - timedelta(seconds=input.thresholds.window_seconds))
        build = (
            f"TemporalWorkerDeploymentVersion = '{self._deployments.name}:{input.build_id}' "
            f"AND WorkflowType = '{PURCHASE_WORKFLOW_TYPE}' "
        )
        if input.department is not None:
            # A department rollout is judged on that department's traffic only.
            build += f"AND Department = '{quoted(input.department)}' "
        to_date = f"{build}AND StartTime > '{input.since.isoformat()}'"
        base = f"{build}AND StartTime > '{window_since.isoformat()}'"
        counts = await self._counts(base)
        all_counts = await self._counts(to_date) if window_since > input.since else counts
        # Flags come in late (a manager looks later), and the controller keeps every flag of the
        # build: their share is of all the build's auto-approvals. Not of those since the watch
        # began: a promotion restarts the watch, and the ramp's flags divided by the few
        # approvals since would fail a healthy build.
        auto = await self._client.count_workflows(
            f"{build}AND ExecutionStatus = 'Completed' AND ReviewPath = 'auto_approved'"
        )
        # Latency of the system alone: requests that waited for a person are left out.
        durations = [
            (wf.close_time - wf.start_time).total_seconds()
            async for wf in self._client.list_workflows(
                f"{base} AND ExecutionStatus = 'Completed' AND ReviewPath != 'manual'",
                limit=LATENCY_SAMPLE,
            )
            if wf.close_time is not None
        ]
        health = BuildHealth(
            build_id=input.build_id,
            checked_at=now,
            completed=counts.get("Completed", 0),
            failed=sum(counts.get(s, 0) for s in FAILED_STATUSES),
            running=counts.get("Running", 0),
            # A request stuck since before the window is still stuck now: counted to date.
            stuck=await self._stuck(f"{to_date} AND ExecutionStatus = 'Running'"),
            p99_seconds=nearest_rank(durations, 0.99) if durations else None,
            auto_approved=auto.count,
            flagged=input.flagged,
            window_since=window_since,
            to_date=RampToDate(
                since=input.since,
                completed=all_counts.get("Completed", 0),
                failed=sum(all_counts.get(s, 0) for s in FAILED_STATUSES),
                running=all_counts.get("Running", 0),
            ),
        )
        return judge(health, input.thresholds)

    async def _counts(self, query: str) -> dict[str, int]:
        by_status = await self._client.count_workflows(f"{query} GROUP BY ExecutionStatus")
        return {str(group.group_values[0]): group.count for group in by_status.groups}

    async def _stuck(self, running_query: str) -> int:
        """Running requests whose workflow task has failed and is being retried: invisible to
        status counts, and exactly what a nondeterminism bug in a new build looks like."""
        handles = [
            self._client.get_workflow_handle(wf.id, run_id=wf.run_id)
            async for wf in self._client.list_workflows(running_query, limit=STUCK_SAMPLE)
        ]
        descriptions = await asyncio.gather(*(h.describe() for h in handles))
        return sum(d.raw_description.pending_workflow_task.attempt > 1 for d in descriptions)

    @activity.defn
    async def alert_ops(self, input: OpsAlertInput) -> NotificationResult:
        with delivery_errors():
            # The last attempt may not fail on a channel in trouble: the ops users get DMs.
            await self._notifier.alert_ops(input.text, last_try=last_try())
        return NotificationResult()


def quoted(value: str) -> str:
    """A value inside a single-quoted visibility query literal."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _check_department_target(view: DeploymentView, build_id: str) -> None:
    if not view.knows(build_id):
        raise UnknownBuild(
            f"No worker of build '{build_id}' is polling deployment '{view.name}'. "
            "Start its workers first, then retry."
        )
    if build_id == view.current_build:
        raise ApplicationError(
            f"Build `{build_id}` is already current: every department gets it.",
            type="AlreadyCurrent",
            non_retryable=True,
        )
    if view.ramping_build:
        raise ApplicationError(
            f"Build `{view.ramping_build}` is ramping at {view.ramp_percent:g}%: a department "
            "rollout keeps everyone else on the current build, so clear the ramp first "
            f"(`/rollout {view.ramping_build} 0`) or roll it back.",
            type="Ramping",
            non_retryable=True,
        )
