"""The requests waiting for one person's decision, read from Temporal.

Since delegation-v1 every request names whom it waits for in the `Approver` search attribute
(reassign-v1 and escalations keep it current), and since deciders-listed-v1 everyone who may
decide it in `Deciders` (the second level's pool), so one visibility query finds them, wherever
the requester sits (a delegate's, a reassigned or a second-level request, outside the person's
chain). Requests started before delegation-v1 have no `Approver`: for those, visibility lists
the running requests of everyone below the person in the management chain (an escalation goes
up that chain, so it stays inside it). Each request's `status` query then says whether it waits
for a decision and by whom."""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowQueryFailedError

from bot.slack.deps import BotDeps
from domain.directory import Directory
from domain.models import Stage, StatusResult
from domain.refusal import Refused
from domain.search_attributes import APPROVER, EMPLOYEE_ID
from domain.workflow_ids import purchases_query, request_id_of, visibility_string

# Running requests looked at per Home view, newest first; status queries asked at once.
MAX_SCANNED = 200
IDS_PER_QUERY = 100
CONCURRENT_QUERIES = 8


def waits_for(status: StatusResult, user: str) -> bool:
    # Builds from before `deciders` was in the status: the approver alone; from before
    # `approver` was: the manager, the usual approver.
    deciders = status.deciders or [status.approver or status.request.manager]
    return status.stage is Stage.AWAITING_APPROVAL and status.approval is None and user in deciders


async def approvals_waiting_for(user: str, deps: BotDeps) -> list[StatusResult]:
    """Oldest first: the one waiting longest is decided first."""
    directory = deps.directory.get().value
    # The chain query runs first: `Approver` goes from unset to set once (when the request is
    # first asked) and stays set, so a request asked between the two queries is in one of them.
    older = await older_in_chain(user, directory, deps.temporal, MAX_SCANNED)
    named = await deps.service.decidable_by(user, limit=MAX_SCANNED)
    # Requests naming the person come first in the scan; none is listed twice.
    running = (named + [r for r in older if r not in named])[:MAX_SCANNED]
    gate = asyncio.Semaphore(CONCURRENT_QUERIES)

    async def status(request_id: str) -> StatusResult | None:
        async with gate:
            try:
                return await deps.service.status(request_id)
            except (Refused, WorkflowQueryFailedError):  # finished meanwhile, or no worker
                return None

    found = [s for s in await asyncio.gather(*map(status, running)) if s and waits_for(s, user)]
    return sorted(found, key=lambda s: (s.request.requested_at is None, s.request.requested_at))


async def older_in_chain(
    user: str, directory: Directory, temporal: Client, limit: int
) -> list[str]:
    """Running requests without `Approver` (started before delegation-v1) filed below `user`:
    disjoint from the `Approver` query's, so nothing is listed twice."""
    running: list[str] = []
    employees = [person.employee_id for person in directory.reports_of(user)]
    # A big organisation's ids go in several queries: a visibility query has a length limit.
    for start in range(0, len(employees), IDS_PER_QUERY):
        if len(running) >= limit:
            break
        ids = ", ".join(map(visibility_string, employees[start : start + IDS_PER_QUERY]))
        query = purchases_query(
            f"ExecutionStatus = 'Running' AND {APPROVER.name} IS NULL AND "
            f"{EMPLOYEE_ID.name} IN ({ids})"
        )
        listing = temporal.list_workflows(query, limit=limit - len(running))
        running += [request_id_of(wf.id) async for wf in listing]
    return running
