"""Reads the dashboard's facts from the system of record: visibility finds the requests filed in
the period (`StartTime`, `Department`), each one's start event gives its input and its close
event its result, and the rollout controller gives the flags on auto-approvals and the rollout's
figures. `RequestsProjection` (bot/insight/projection.py) keeps what was read, for speed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowHistoryEventFilterType,
)

from bot.insight.dashboard import RolloutFigures
from bot.insight.facts import RequestFacts, facts_of
from bot.insight.rollbacks import rollback_seconds
from bot.rollout_admin import RolloutAdmin, RolloutStatus
from domain.models import PurchaseRequest, PurchaseResult, PurchaseWorkflowInput
from domain.workflow_ids import purchases_query
from workflows.names import DEPARTMENT

log = logging.getLogger(__name__)

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


def changed_since_query(at: datetime) -> str:
    """Purchase requests started or closed at or after `at`: all that can differ from a read
    taken before `at` (a closed execution never changes; a running one changes only by closing)."""
    moment = _quoted(at.isoformat())
    return purchases_query(f"(StartTime >= {moment} OR CloseTime >= {moment})")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One execution as read from Temporal, before the controller's flags are applied."""

    run_id: str
    started_at: datetime  # visibility's StartTime: what the period selects on
    department: str | None  # the Department search attribute: what the filter selects on
    closed: bool
    facts: RequestFacts  # flagged_wrong is False here
    flaggable: bool  # an auto-approval: flagging it as wrong counts

    def flagged_by(self, flagged: set[str]) -> RequestFacts:
        if self.flaggable and self.facts.request_id in flagged:
            return replace(self.facts, flagged_wrong=True)
        return self.facts


def is_closed(execution: WorkflowExecution) -> bool:
    return execution.status not in (None, WorkflowExecutionStatus.RUNNING)


async def read_request(
    client: Client, execution: WorkflowExecution
) -> tuple[PurchaseRequest, PurchaseResult | None]:
    """A request's input and, once it completed, its result: two small reads (the start event
    and the close event) instead of the whole history."""
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    converter = client.data_converter
    workflow_input: PurchaseWorkflowInput | None = None
    async for first in handle.fetch_history_events(page_size=1):
        started = first.workflow_execution_started_event_attributes
        if len(started.input.payloads) != 1:  # started by hand or by another tool: no request
            raise ValueError(f"{execution.id} was started without a purchase request")
        (workflow_input,) = await converter.decode(started.input.payloads, [PurchaseWorkflowInput])
        break
    if workflow_input is None:
        raise LookupError(f"{execution.id} has no history")
    result: PurchaseResult | None = None
    if is_closed(execution):
        async for last in handle.fetch_history_events(
            event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT
        ):
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                payloads = last.workflow_execution_completed_event_attributes.result.payloads
                (result,) = await converter.decode(payloads, [PurchaseResult])
    return workflow_input.request, result


async def read_dashboard_request(
    client: Client, execution: WorkflowExecution
) -> ReadRequest | None:
    """None for an execution of the purchase type whose input is not a purchase request (it is
    no request, and its history never changes)."""
    try:
        request, result = await read_request(client, execution)
    except (ValueError, TypeError):
        log.warning("%s: its input is not a purchase request; left out", execution.id)
        return None
    facts = facts_of(
        request, execution.start_time, result, workflow_failed=execution.status in _FAILED
    )
    review = result.review if result is not None else None
    return ReadRequest(
        run_id=execution.run_id or execution.id,
        started_at=execution.start_time,
        department=execution.typed_search_attributes.get(DEPARTMENT),
        closed=is_closed(execution),
        facts=facts,
        flaggable=review is not None and review.auto_approved,
    )


async def read_requests(
    client: Client, executions: Iterable[WorkflowExecution], concurrency: int = CONCURRENT_READS
) -> list[ReadRequest]:
    """`concurrency` readers share one iterator: memory stays flat for 100,000 executions
    (one task per execution would not)."""
    todo = iter(executions)
    read: list[ReadRequest] = []

    async def reader() -> None:
        for execution in todo:
            one = await read_dashboard_request(client, execution)
            if one is not None:
                read.append(one)

    await asyncio.gather(*(reader() for _ in range(concurrency)))
    return read


class RequestsReader(Protocol):
    async def requests(
        self, since: datetime, until: datetime, department: str | None
    ) -> list[ReadRequest]: ...


class DirectRequests:
    """Every request of the period read from Temporal on every call: the source of truth the
    projection is checked against, and fine for small periods."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def requests(
        self, since: datetime, until: datetime, department: str | None
    ) -> list[ReadRequest]:
        query = period_query(since, until, department)
        executions = [e async for e in self._client.list_workflows(query)]
        return await read_requests(self._client, executions)


class DashboardSource:
    def __init__(
        self, client: Client, rollout: RolloutAdmin, requests: RequestsReader | None = None
    ) -> None:
        self._rollout = rollout
        self._requests = requests or DirectRequests(client)

    async def facts(
        self, since: datetime, until: datetime, department: str | None
    ) -> tuple[list[RequestFacts], RolloutFigures]:
        status, read = await asyncio.gather(
            self._rollout.status(), self._requests.requests(since, until, department)
        )
        flagged = {rid for ids in status.controller.flagged.values() for rid in ids}
        facts = [r.flagged_by(flagged) if r.flaggable else r.facts for r in read]
        return facts, _rollout_figures(status, since, until)


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
        rollback_seconds=rollback_seconds(controller.events, since, until),
    )
