"""The rules backtest read from the system of record: visibility lists the period's purchase
requests with what they were filed with (`bot/request_attributes.py`) and how they ended
(`PurchaseOutcome`, `ReviewPath`), in one listing and no per-request history read. The history
criterion needs, for the requesters whose verdict depends on it, their completed requests the
first listing does not hold (one more listing per 200 requesters, not a count each: ~250
counts took 7.5 s of an 8.7 s backtest) and, only where their shard exists, their imported
history (one read each). The arithmetic is `domain.backtest`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime

from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from bot.request_attributes import raw_keyword_values, review_inputs
from domain.backtest import (
    BacktestFigures,
    PastRequest,
    RequesterBaseline,
    RulePair,
    affected_departments,
    backtest,
    backtest_period,
    needs_history,
)
from domain.history import REJECTION_WINDOW
from domain.history_shards import shard_of
from domain.models import PurchaseStatus
from domain.review_rules import RulesFile, UserHistory
from domain.workflow_ids import purchases_query, request_id_of, visibility_string
from entities.history_store import NO_HISTORY, HistoryStore, ShardUnreadable
from workflows.names import DEPARTMENT, EMPLOYEE_ID, PURCHASE_OUTCOME, REVIEW_PATH

# Requesters' histories read at once: enough to hide the round trips, few enough not to swamp
# the server (the dashboard reads histories 16 at a time too).
CONCURRENT_READS = 16
LIST_PAGE_SIZE = 1000
# Requesters named in one listing of their completed requests: the query lists their ids (a
# few KB), and several such listings run at once.
REQUESTERS_PER_LISTING = 200


def listing_query(
    since: datetime, task_queue: str | None, departments: Sequence[str] | None = None
) -> str:
    """Requests filed since `since`, and those that closed since, or (rejected) in the 30 days
    before: their closings are the requesters' history during the period. `departments`: only
    theirs (a requester's requests all carry their department)."""
    start = visibility_string(since.isoformat())
    before = visibility_string((since - REJECTION_WINDOW).isoformat())
    condition = (
        f"(StartTime >= {start} OR CloseTime >= {start} OR "
        f"(CloseTime >= {before} AND PurchaseOutcome = 'rejected'))"
    )
    if departments is not None:
        names = ", ".join(visibility_string(d) for d in departments)
        condition = f"Department IN ({names}) AND {condition}"
    if task_queue is not None:
        condition = f"TaskQueue = {visibility_string(task_queue)} AND {condition}"
    return purchases_query(condition)


def unlisted_completed_query(
    employees: Iterable[str],
    since: datetime,
    task_queue: str | None,
    departments: Sequence[str] | None = None,
) -> str:
    """The requesters' completed requests that `listing_query` (same `since`, queue and
    departments) may not hold: closed before `since`, still running (the outcome is set just
    before the close), on another task queue, of another department or of none. With the listed
    ones (deduplicated by id: the two may overlap) that is every completed request of theirs,
    on any queue: what the review counts as previous purchases and the per-requester count
    counted before. The rejections need nothing more: the first listing holds those of the 30
    days before the period."""
    outside = [f"CloseTime < {visibility_string(since.isoformat())}", "ExecutionStatus = 'Running'"]
    if task_queue is not None:
        outside.append(f"TaskQueue != {visibility_string(task_queue)}")
    if departments is not None:
        names = ", ".join(visibility_string(d) for d in departments)
        outside += [f"Department NOT IN ({names})", "Department IS NULL"]
    ids = ", ".join(visibility_string(e) for e in employees)
    return purchases_query(
        f"EmployeeId IN ({ids}) AND PurchaseOutcome = 'completed' AND ({' OR '.join(outside)})"
    )


def past_request(info: WorkflowExecutionInfo) -> PastRequest:
    keywords = raw_keyword_values(info.search_attributes.indexed_fields)
    return PastRequest(
        request_id=request_id_of(info.execution.workflow_id),
        employee_id=keywords.get(EMPLOYEE_ID.name, ""),
        department=keywords.get(DEPARTMENT.name, ""),
        filed_at=info.start_time.ToDatetime(tzinfo=UTC),
        closed_at=info.close_time.ToDatetime(tzinfo=UTC) if info.HasField("close_time") else None,
        outcome=keywords.get(PURCHASE_OUTCOME.name),
        review_path=keywords.get(REVIEW_PATH.name),
        inputs=review_inputs(keywords),
    )


class RulesBacktest:
    """`task_queue`: the purchase requests' queue (settings.task_queue), so an installation
    sharing a namespace counts only its own requests; `history`: the imported-history store."""

    def __init__(self, client: Client, task_queue: str | None, history: HistoryStore) -> None:
        self._client = client
        self._task_queue = task_queue
        self._history = history

    async def run(
        self,
        current: RulesFile,
        proposed: RulesFile,
        *,
        departments: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> BacktestFigures:
        """`departments`: every department there is (directory and rules): only the requests of
        those the change affects are read (the listing's rows are what costs: ~2 ms each on a
        loaded dev server). None: every request. Raises RPCError when visibility cannot be
        listed."""
        now = now or datetime.now(UTC)
        since, until = backtest_period(now)
        affected = (
            None if departments is None else affected_departments(current, proposed, departments)
        )
        requests = [] if affected == [] else await self.past_requests(since, affected)
        rules = RulePair(current, proposed)
        employees = {
            r.employee_id
            for r in requests
            if since <= r.filed_at < until and needs_history(r, rules)
        }
        baselines = await self.baselines(
            employees, requests, since=since, departments=affected, now=now
        )
        return backtest(
            requests,
            current=current,
            proposed=proposed,
            baselines=baselines,
            since=since,
            until=until,
            departments=affected,
        )

    async def past_requests(
        self, since: datetime, departments: Sequence[str] | None = None
    ) -> list[PastRequest]:
        query = listing_query(since, self._task_queue, departments)
        return [past_request(info) async for info in self._listed(query)]

    async def _listed(self, query: str) -> AsyncIterator[WorkflowExecutionInfo]:
        """Page by page through the raw listing: the SDK's `list_workflows` decodes every
        attribute of every row, which cost a third of the listing's time at 10,000 rows."""
        request = ListWorkflowExecutionsRequest(
            namespace=self._client.namespace, query=query, page_size=LIST_PAGE_SIZE
        )
        while True:
            page = await self._client.workflow_service.list_workflow_executions(request, retry=True)
            for info in page.executions:
                yield info
            if not page.next_page_token:
                return
            request.next_page_token = page.next_page_token

    async def baselines(
        self,
        employees: Iterable[str],
        listed: Iterable[PastRequest],
        *,
        since: datetime,
        departments: Sequence[str] | None,
        now: datetime,
    ) -> dict[str, RequesterBaseline]:
        """Per requester: every completed request of theirs in visibility now (those in
        `listed`, the period's listing with `since` and `departments`, and the others from
        `unlisted_completed_query`), and their imported history. Raises RPCError when visibility
        cannot be listed; a requester whose imported history cannot be read is left out: the
        backtest then judges their requests as the review would, "history unavailable"."""
        wanted = sorted(set(employees))
        completed: dict[str, set[str]] = {e: set() for e in wanted}
        for request in listed:
            if request.employee_id in completed and request.outcome == PurchaseStatus.COMPLETED:
                completed[request.employee_id].add(request.request_id)
        gate = asyncio.Semaphore(CONCURRENT_READS)

        async def unlisted(group: list[str]) -> list[tuple[str, str]]:
            query = unlisted_completed_query(group, since, self._task_queue, departments)
            async with gate:
                return [
                    (
                        raw_keyword_values(info.search_attributes.indexed_fields).get(
                            EMPLOYEE_ID.name, ""
                        ),
                        request_id_of(info.execution.workflow_id),
                    )
                    async for info in self._listed(query)
                ]

        groups = [
            wanted[n : n + REQUESTERS_PER_LISTING]
            for n in range(0, len(wanted), REQUESTERS_PER_LISTING)
        ]
        shards, found = await asyncio.gather(
            self._existing_shards(), asyncio.gather(*(unlisted(group) for group in groups))
        )
        for employee, request_id in (row for rows in found for row in rows):
            if employee in completed:
                completed[employee].add(request_id)

        async def imported(employee: str) -> tuple[str, UserHistory | None]:
            if self._history.workflow_id(shard_of(employee)) not in shards:
                return employee, NO_HISTORY  # nothing was ever imported for them: no query
            async with gate:
                try:
                    return employee, await self._history.summary(employee, now=now)
                except (RPCError, WorkflowQueryFailedError, ShardUnreadable):
                    return employee, None

        read = await asyncio.gather(*(imported(e) for e in wanted))
        return {
            employee: RequesterBaseline(completed_now=len(completed[employee]), imported=before)
            for employee, before in read
            if before is not None
        }

    async def _existing_shards(self) -> set[str]:
        """The history shards' workflow ids (at most 1,024): one listing instead of a query per
        requester whose shard was never created (the usual case without an import)."""
        query = "WorkflowType = 'HistoryShardWorkflow' AND ExecutionStatus = 'Running'"
        return {e.id async for e in self._client.list_workflows(query, page_size=LIST_PAGE_SIZE)}
