"""The dashboard's requests kept in the bot's memory, so a period of 100,000 requests does not
mean 100,000 history reads per call. It is a cache of Temporal, never a record of its own:

- built by reading every purchase request from Temporal (`rebuild`, also the first use);
- kept current by asking visibility, on each use, only for the requests started or closed since
  the last catch-up (less `OVERLAP`, for visibility's lag): a closed execution never changes,
  and a running one changes only by closing;
- lost with the process: a restarted bot rebuilds it; `rebuild()` throws it away and reads it
  all again on demand, and a test checks it agrees with reading Temporal directly.

The controller's flags on auto-approvals are not kept: `DashboardSource` applies them per call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left, insort
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from bot.insight.source import ReadRequest, changed_since_query, is_closed, read_requests
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
        self._by_run: dict[str, ReadRequest] = {}
        # (StartTime, run id) of every request, sorted: a period is two bisections.
        self._order: list[tuple[datetime, str]] = []
        self._caught_up_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def requests(
        self, since: datetime, until: datetime, department: str | None
    ) -> list[ReadRequest]:
        await self.catch_up()
        order, by_run = self._order, self._by_run
        first, end = bisect_left(order, (since,)), bisect_left(order, (until,))
        in_period = [by_run[run_id] for _, run_id in order[first:end]]
        if department is None:
            return in_period
        return [r for r in in_period if r.department == department]

    async def catch_up(self) -> None:
        async with self._lock:
            if self._caught_up_at is None:
                await self._read_all()
                return
            began = self._now()
            query = changed_since_query(self._caught_up_at - self._overlap)
            stale = [
                e
                async for e in self._client.list_workflows(query)
                if self._needs_read(e.run_id or e.id, closed=is_closed(e))
            ]
            for read in await read_requests(self._client, stale):
                if read.run_id not in self._by_run:
                    insort(self._order, (read.started_at, read.run_id))
                self._by_run[read.run_id] = read
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
        """Forget everything and read every request from Temporal again; returns the count."""
        async with self._lock:
            await self._read_all()
            return len(self._by_run)

    def _needs_read(self, run_id: str, *, closed: bool) -> bool:
        known = self._by_run.get(run_id)
        return known is None or (closed and not known.closed)

    async def _read_all(self) -> None:
        began, clock = self._now(), time.monotonic()
        executions = [e async for e in self._client.list_workflows(purchases_query())]
        read = await read_requests(self._client, executions, REBUILD_CONCURRENCY)
        self._by_run = {r.run_id: r for r in read}
        self._order = sorted((r.started_at, r.run_id) for r in read)
        self._caught_up_at = began
        log.info(
            "dashboard projection built from Temporal: %d requests in %.1f s",
            len(read),
            time.monotonic() - clock,
        )
