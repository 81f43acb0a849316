"""The purchase requests started or closed since a moment: what the projection must read again
to be current (a closed execution never changes; a running one changes only by closing).

Asked as visibility answers it cheaply, not as one query that scans every request: on the SQL
visibility stores (the dev server's SQLite among them) `StartTime` and `CloseTime` have no index
of their own, so `StartTime >= t OR CloseTime >= t` read all 100,000 rows on every call (~300 ms
here at load 7, growing with the requests). Instead:

- starts: `ExecutionTime >= t`, which has an index (2-5 ms here); a workflow's ExecutionTime is
  its StartTime plus any start delay or retry backoff, never earlier, so this misses no start;
- closes: for each closed status, the listing in visibility's own order (most recently closed
  first: SQL stores order by close time, then start time, descending; Elasticsearch the same),
  read page by page until an execution closed before `t` (~16 ms each here).

If a listing is ever not in that order, the one scanning query answers instead (logged)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from temporalio.client import Client, WorkflowExecution

from domain.workflow_ids import purchases_query, visibility_string

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("Completed", "Failed", "Canceled", "Terminated", "TimedOut", "ContinuedAsNew")
# Most calls find nothing closed since the last one: a small first page wastes little; when it
# is all new, the rest comes in big pages (a listed row costs ~1.5 ms on a loaded dev server).
FIRST_PAGE, NEXT_PAGES = 10, 1000


class OutOfOrder(Exception):
    """A listing was not most-recently-closed first: stopping early could miss a close."""


def scanning_query(at: datetime) -> str:
    """Every request started or closed at or after `at`, in one query (reads every row)."""
    moment = visibility_string(at.isoformat())
    return purchases_query(f"(StartTime >= {moment} OR CloseTime >= {moment})")


async def changed_since(client: Client, at: datetime) -> list[WorkflowExecution]:
    """Every purchase request started or closed at or after `at` (and possibly a few more)."""
    moment = visibility_string(at.isoformat())
    started = client.list_workflows(purchases_query(f"ExecutionTime >= {moment}"))
    try:
        found = await asyncio.gather(
            _all(started), *(_closed_since(client, status, at) for status in CLOSED_STATUSES)
        )
    except OutOfOrder as err:
        log.warning("dashboard catch-up: %s; asking with the scanning query instead", err)
        return await _all(client.list_workflows(scanning_query(at)))
    return [execution for part in found for execution in part]


async def _all(listing: AsyncIterator[WorkflowExecution]) -> list[WorkflowExecution]:
    return [execution async for execution in listing]


async def _closed_since(client: Client, status: str, at: datetime) -> list[WorkflowExecution]:
    query = purchases_query(f"ExecutionStatus = {visibility_string(status)}")
    found: list[WorkflowExecution] = []
    previous: datetime | None = None
    token: bytes | None = None
    page = FIRST_PAGE
    while True:
        listing = client.list_workflows(query, page_size=page, next_page_token=token)
        await listing.fetch_next_page()
        for execution in listing.current_page or []:
            closed = execution.close_time
            if closed is None or (previous is not None and closed > previous):
                raise OutOfOrder(f"{status} executions are not listed most recently closed first")
            if closed < at:
                return found
            found.append(execution)
            previous = closed
        token, page = listing.next_page_token, NEXT_PAGES
        if not token:
            return found
