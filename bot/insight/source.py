"""Reads the dashboard's facts from the system of record: visibility finds the requests filed in
the period (`StartTime`), each one's start event gives its input and its close
event its result, and the rollout controller gives the flags on auto-approvals and the rollout's
figures. `RequestsProjection` (bot/insight/projection.py) keeps what was read, for speed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
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
from bot.insight.facts import facts_of
from bot.insight.index import ReadRequest, RequestIndex, micros
from bot.insight.rollbacks import rollback_seconds
from bot.insight.totals import Totals
from bot.rollout_admin import RolloutAdmin, RolloutStatus
from domain.models import PurchaseRequest, PurchaseResult, PurchaseWorkflowInput
from domain.workflow_ids import purchases_query

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
        start_us=micros(execution.start_time),
        closed=is_closed(execution),
        facts=facts,
        flaggable=review is not None and review.auto_approved,
    )


async def read_requests(
    client: Client,
    executions: AsyncIterable[WorkflowExecution],
    concurrency: int = CONCURRENT_READS,
) -> AsyncIterator[ReadRequest]:
    """Each execution's request as it is read, `concurrency` at a time, in no particular order.
    The listing is consumed as the readers go (a bounded queue between them): memory stays flat
    for 100,000 executions, where holding the whole listing (or a task per execution) does not."""
    todo: asyncio.Queue[WorkflowExecution | None] = asyncio.Queue(concurrency * 4)
    # Unbounded, so a reader never waits on it (the consumer only files what it gets).
    done: asyncio.Queue[ReadRequest | Exception | None] = asyncio.Queue()

    async def lister() -> None:
        async for execution in executions:
            await todo.put(execution)
        for _ in range(concurrency):
            await todo.put(None)

    async def reader() -> None:
        try:
            while (execution := await todo.get()) is not None:
                one = await read_dashboard_request(client, execution)
                if one is not None:
                    done.put_nowait(one)
        except Exception as err:  # handed to the consumer, which stops everything
            done.put_nowait(err)
        finally:
            done.put_nowait(None)

    tasks = [asyncio.create_task(lister())]
    tasks += [asyncio.create_task(reader()) for _ in range(concurrency)]
    try:
        running = concurrency
        while running:
            item = await done.get()
            if item is None:
                running -= 1
            elif isinstance(item, Exception):
                raise item
            else:
                yield item
        await tasks[0]  # a failed listing is raised here
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class RequestsReader(Protocol):
    async def index(self, since: datetime, until: datetime) -> RequestIndex:
        """An index holding (at least) every request of the period, read from Temporal."""
        ...


class DirectRequests:
    """Every request of the period read from Temporal on every call: the source of truth the
    projection is checked against, and fine for small periods."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def index(self, since: datetime, until: datetime) -> RequestIndex:
        # The whole period: a department is selected by the request's own department (what the
        # breakdown counts), which the Department search attribute may lack (older requests).
        listing = self._client.list_workflows(period_query(since, until, None))
        return RequestIndex([read async for read in read_requests(self._client, listing)])


@dataclass(frozen=True)
class Selection:
    """The requests of `department` (all when None), read up to now, with the controller's
    flags: a period's totals and flags, for the API's period or a web chart's day."""

    index: RequestIndex
    department: str | None
    flagged_ids: frozenset[str]

    def totals(self, since: datetime, until: datetime) -> Totals:
        return self.index.totals(since, until, self.department)

    def flagged(self, since: datetime, until: datetime) -> int:
        return self.index.flagged(since, until, self.department, self.flagged_ids)


class DashboardSource:
    def __init__(
        self, client: Client, rollout: RolloutAdmin, requests: RequestsReader | None = None
    ) -> None:
        self._rollout = rollout
        self._requests = requests or DirectRequests(client)

    async def read(
        self, since: datetime, until: datetime, department: str | None
    ) -> tuple[Selection, RolloutFigures]:
        status, index = await asyncio.gather(
            self._rollout.status(), self._requests.index(since, until)
        )
        flagged = frozenset(rid for ids in status.controller.flagged.values() for rid in ids)
        return Selection(index, department, flagged), _rollout_figures(status, since, until)


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
