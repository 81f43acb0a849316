"""The dashboard's requests kept in the bot's memory, so a period of 100,000 requests does not
mean 100,000 history reads per call. It is a cache of Temporal, never a record of its own:

- built by reading every purchase request from Temporal (`rebuild`, also the first use);
- kept current by asking visibility, on each use, only for the requests started or closed since
  the last catch-up (less `OVERLAP`, for visibility's lag): a closed execution never changes,
  and a running one changes only by closing;
- lost with the process: a restarted bot rebuilds it; `rebuild()` throws it away and reads it
  all again on demand, and a test checks it agrees with reading Temporal directly.

What it holds is a `RequestIndex` (bot/insight/index.py): per-hour totals, so a call sums them
instead of counting every request. The controller's flags on auto-approvals are not kept:
`DashboardSource` applies them per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecution

from bot.insight.changes import changed_since
from bot.insight.index import RequestIndex
from bot.insight.source import is_closed, read_requests
from domain.workflow_ids import purchases_query

log = logging.getLogger(__name__)

# Visibility shows a start or close tens of ms after it happened: ask again for a margin that
# covers that lag many times over (re-reading a few requests is cheap).
OVERLAP = timedelta(seconds=10)
# A rebuild reads every request once: more at once than a per-call read, it runs rarely.
REBUILD_CONCURRENCY = 32


class RequestsProjection:
    def __init__(
        self,
        client: Client,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        overlap: timedelta = OVERLAP,
    ) -> None:
        self._client = client
        self._now = now
        self._overlap = overlap
        self._index = RequestIndex()
        self._caught_up_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def index(self, since: datetime, until: datetime) -> RequestIndex:
        """Every request, caught up with Temporal as of this call (the period is not needed:
        the index answers any period)."""
        await self.catch_up()
        return self._index

    async def catch_up(self) -> None:
        asked = self._now()
        async with self._lock:
            if self._caught_up_at is None:
                self._index, self._caught_up_at = await self._read_all()
                return
            if self._caught_up_at >= asked:
                return  # a catch-up that began after this call was made: it saw all we must
            began = self._now()
            changed = await changed_since(self._client, self._caught_up_at - self._overlap)
            stale = [e for e in changed if self._needs_read(e.run_id or e.id, closed=is_closed(e))]
            async for read in read_requests(self._client, _listed(stale)):
                self._index.put(read)
            self._caught_up_at = began

    async def warm(self) -> None:
        """Built when the bot starts, so the first dashboard call need not wait for it; on a
        failure (logged) the first call tries again."""
        try:
            await self.catch_up()
        except Exception:
            log.warning(
                "dashboard projection: first build failed; the next call retries", exc_info=True
            )

    async def rebuild(self) -> int:
        """Read every request from Temporal again and replace what is kept; returns the count.
        Calls meanwhile are answered from what was kept (a first build makes them wait)."""
        index, began = await self._read_all()
        async with self._lock:
            # Current as of `began`: the next call catches up from there.
            self._index, self._caught_up_at = index, began
        return len(index)

    def _needs_read(self, run_id: str, *, closed: bool) -> bool:
        known = self._index.get(run_id)
        return known is None or (closed and not known.closed)

    async def _read_all(self) -> tuple[RequestIndex, datetime]:
        began, clock = self._now(), time.monotonic()
        index = RequestIndex()
        listing = self._client.list_workflows(purchases_query())
        async for read in read_requests(self._client, listing, REBUILD_CONCURRENCY):
            index.put(read)
        log.info(
            "dashboard projection built from Temporal: %d requests in %.1f s",
            len(index),
            time.monotonic() - clock,
        )
        return index, began


async def _listed(executions: Iterable[WorkflowExecution]) -> AsyncIterator[WorkflowExecution]:
    for execution in executions:
        yield execution
