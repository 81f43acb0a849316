"""Reads the dashboard's facts from the system of record: visibility finds the requests filed in
the period (`StartTime`, `Department`), each one's history gives its input and result, and the
rollout controller gives the flags on auto-approvals and the rollout's figures."""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from bot.insight.dashboard import RolloutFigures
from bot.insight.facts import RequestFacts, facts_of
from bot.rollout_admin import RolloutAdmin, RolloutStatus
from domain.models import PurchaseRequest, PurchaseResult, PurchaseWorkflowInput
from domain.workflow_ids import purchases_query

# Histories read at once: enough to hide the round trips, few enough not to swamp the server.
CONCURRENT_READS = 16
_FAILED = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT,
}


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def period_query(since: datetime, until: datetime, department: str | None) -> str:
    condition = (
        f"StartTime >= {_quoted(since.isoformat())} AND StartTime < {_quoted(until.isoformat())}"
    )
    if department is not None:
        condition += f" AND Department = {_quoted(department)}"
    return purchases_query(condition)


class DashboardSource:
    def __init__(self, client: Client, rollout: RolloutAdmin) -> None:
        self._client = client
        self._rollout = rollout

    async def facts(
        self, since: datetime, until: datetime, department: str | None
    ) -> tuple[list[RequestFacts], RolloutFigures]:
        status = await self._rollout.status()
        flagged = {rid for ids in status.controller.flagged.values() for rid in ids}
        gate = asyncio.Semaphore(CONCURRENT_READS)

        async def read(execution: WorkflowExecution) -> RequestFacts:
            async with gate:
                return await self._request(execution, flagged)

        executions = [
            e async for e in self._client.list_workflows(period_query(since, until, department))
        ]
        requests = list(await asyncio.gather(*(read(e) for e in executions)))
        return requests, _rollout_figures(status, since, until)

    async def _request(self, execution: WorkflowExecution, flagged: set[str]) -> RequestFacts:
        request, result = await read_request(self._client, execution)
        return facts_of(
            request,
            execution.start_time,
            result,
            workflow_failed=execution.status in _FAILED,
            flagged=request.request_id in flagged,
        )


async def read_request(
    client: Client, execution: WorkflowExecution
) -> tuple[PurchaseRequest, PurchaseResult | None]:
    """A request's input and, once it completed, its result, from its history."""
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    history = await handle.fetch_history()
    converter = client.data_converter
    started = history.events[0].workflow_execution_started_event_attributes
    (workflow_input,) = await converter.decode(started.input.payloads, [PurchaseWorkflowInput])
    last = history.events[-1]
    result: PurchaseResult | None = None
    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        payloads = last.workflow_execution_completed_event_attributes.result.payloads
        (result,) = await converter.decode(payloads, [PurchaseResult])
    return workflow_input.request, result


def _rollout_figures(status: RolloutStatus, since: datetime, until: datetime) -> RolloutFigures:
    deployment, controller = status.deployment, status.controller
    # The build being rolled out is the one whose figures matter; else the current one.
    build = deployment.ramping_build or deployment.current_build
    health = controller.health.get(build) if build else None
    rollbacks = [
        e for e in controller.events if e.action == "rolled_back" and since <= e.at < until
    ]
    return RolloutFigures(
        current_build_id=deployment.current_build,
        rollout_percentage=deployment.ramp_percent if deployment.ramping_build else 0.0,
        error_rate=health.error_rate if health is not None and health.sample else None,
        p99_seconds=health.p99_seconds if health is not None else None,
        rollbacks=len(rollbacks),
    )
