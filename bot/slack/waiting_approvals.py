"""The requests waiting for one person's decision, read from Temporal.

Visibility finds the running requests of everyone below the person in the management chain (an
escalation goes up that chain, so it stays inside it), and those whose `Approver` search attribute
names the person (since delegation-v1: a delegate's or a reassigned request, outside the chain);
each request's `status` query then says whether it waits for a decision and by whom."""

from __future__ import annotations

import asyncio

from temporalio.client import WorkflowQueryFailedError

from bot.slack.deps import BotDeps
from domain.models import Stage, StatusResult
from domain.refusal import Refused
from domain.workflow_ids import purchases_query, request_id_of, visibility_string

# Running requests looked at per Home view, newest first; status queries asked at once.
MAX_SCANNED = 200
IDS_PER_QUERY = 100
CONCURRENT_QUERIES = 8


def waits_for(status: StatusResult, user: str) -> bool:
    # Builds from before `approver` was in the status: the manager, the usual approver.
    approver = status.approver or status.request.manager
    return status.stage is Stage.AWAITING_APPROVAL and status.approval is None and approver == user


async def approvals_waiting_for(user: str, deps: BotDeps) -> list[StatusResult]:
    """Oldest first: the one waiting longest is decided first."""
    reports = deps.directory.get().value.reports_of(user)
    running: list[str] = []
    employees = [person.employee_id for person in reports]
    # A big organisation's ids go in several queries: a visibility query has a length limit.
    for start in range(0, len(employees), IDS_PER_QUERY):
        if len(running) >= MAX_SCANNED:
            break
        ids = ", ".join(map(visibility_string, employees[start : start + IDS_PER_QUERY]))
        query = purchases_query(f"ExecutionStatus = 'Running' AND EmployeeId IN ({ids})")
        listing = deps.temporal.list_workflows(query, limit=MAX_SCANNED - len(running))
        running += [request_id_of(wf.id) async for wf in listing]
    # Delegated or reassigned to this person from outside their chain (since delegation-v1).
    if len(running) < MAX_SCANNED:
        waiting = await deps.service.waiting_for([user], limit=MAX_SCANNED - len(running))
        running += [r for r in waiting if r not in running]
    gate = asyncio.Semaphore(CONCURRENT_QUERIES)

    async def status(request_id: str) -> StatusResult | None:
        async with gate:
            try:
                return await deps.service.status(request_id)
            except (Refused, WorkflowQueryFailedError):  # finished meanwhile, or no worker
                return None

    found = [s for s in await asyncio.gather(*map(status, running)) if s and waits_for(s, user)]
    return sorted(found, key=lambda s: (s.request.requested_at is None, s.request.requested_at))
