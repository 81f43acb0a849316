"""The dashboard's requests kept in the bot's memory, so a period of 100,000 requests does not
mean 100,000 history reads per call. It is a cache of Temporal, never a record of its own:

- built by reading every purchase request from Temporal (when the bot starts, and `rebuild`);
  until the first build is done, a call waits up to `PATIENCE` and is then told how far it is
  (`DashboardWarming`): 100,000 requests take minutes to read;
- kept current by asking visibility, on each use, only for the requests started or closed since
  the last catch-up (less `OVERLAP`, for visibility's lag): a closed execution never changes,
  and a running one changes only by closing;
- kept on disk too when given a `ProjectionSnapshot` (bot/insight/snapshot.py): a restarted
  bot starts from it (when it was read from this very namespace) and catches up from there,
  as a running bot does; else, or without one, it reads everything again. `rebuild()` throws
  it away and reads it all again on demand, and a test checks it agrees with reading Temporal
  directly.

What it holds is a `RequestIndex` (bot/insight/index.py): per-hour totals, so a call sums them
instead of counting every request. The controller's flags on auto-approvals are not kept:
`DashboardSource` applies them per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError

from bot.insight.changes import changed_since
from bot.insight.index import RequestIndex
from bot.insight.snapshot import ProjectionSnapshot
from bot.insight.source import is_closed, read_requests
from domain.workflow_ids import purchases_query

log = logging.getLogger(__name__)

# Visibility shows a start or close tens of ms after it happened: ask again for a margin that
# covers that lag many times over (re-reading a few requests is cheap).
OVERLAP = timedelta(seconds=10)
# A rebuild reads every request once: more at once than a per-call read, it runs rarely.
REBUILD_CONCURRENCY = 32
# How long a call waits for the first build before it is told to come back (a small
# installation's build takes well under this; 100,000 requests take minutes). Shorter than the
# App Home's wait for its figures, so the Home says how far the build is.
PATIENCE = timedelta(seconds=5)


class DashboardWarming(Exception):
    """The first build after the bot started is still reading: the figures would be partial.
    The message says how far it is; answered as "try again soon", not a wait of minutes."""

    def __init__(self, read: int, expected: int | None) -> None:
        of = f" of about {expected:,}" if expected is not None else ""
        super().__init__(
            f"The dashboard is being built after the bot started: {read:,}{of} requests read "
            "so far. Try again in a minute."
        )


@dataclass
class BuildProgress:
    read: int = 0
    expected: int | None = None


class RequestsProjection:
    def __init__(
        self,
        client: Client,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        overlap: timedelta = OVERLAP,
        patience: timedelta = PATIENCE,
        snapshot: ProjectionSnapshot | None = None,
    ) -> None:
        self._client = client
        self._snapshot = snapshot
        # How the first build got its rows: "snapshot" or "temporal" (for the log and tests).
        self.first_built_from: str | None = None
        self._now = now
        self._overlap = overlap
        self._patience = patience.total_seconds()
        self._index = RequestIndex()
        self._caught_up_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._first_build: asyncio.Task[None] | None = None
        self._progress = BuildProgress()

    async def index(self, since: datetime, until: datetime) -> RequestIndex:
        """Every request, caught up with Temporal as of this call (the period is not needed:
        the index answers any period). Raises DashboardWarming when the first build has not
        finished within the patience (100,000 requests take minutes to read)."""
        if self._caught_up_at is None:
            build = self._start_first_build()
            try:
                await asyncio.wait_for(asyncio.shield(build), self._patience)
            except TimeoutError:
                raise DashboardWarming(self._progress.read, self._progress.expected) from None
        await self.catch_up()
        return self._index

    async def catch_up(self) -> None:
        asked = self._now()
        if self._caught_up_at is None:
            await self._start_first_build()
        async with self._lock:
            caught_up_at = self._caught_up_at
            assert caught_up_at is not None, "set by the first build"
            if caught_up_at >= asked:
                return  # a catch-up that began after this call was made: it saw all we must
            began = self._now()
            changed = await changed_since(self._client, caught_up_at - self._overlap)
            stale = [e for e in changed if self._needs_read(e.run_id or e.id, closed=is_closed(e))]
            reads = [read async for read in read_requests(self._client, _listed(stale))]
            for read in reads:
                self._index.put(read)
            self._caught_up_at = began
            if self._snapshot is not None and reads:  # nothing read: what it holds still holds
                await asyncio.to_thread(self._snapshot.save_changed, reads, began)

    async def warm(self) -> None:
        """Built when the bot starts, so the first dashboard call need not wait for it; on a
        failure (logged) the first call tries again."""
        with contextlib.suppress(Exception):  # logged by _build_ended
            await self._start_first_build()

    def _start_first_build(self) -> asyncio.Task[None]:
        """One first build at a time, whoever asks first (warm() or a call); a failed one is
        started again by the next."""
        running = self._first_build
        if running is None or (running.done() and self._caught_up_at is None):
            self._progress = BuildProgress()
            running = self._first_build = asyncio.create_task(self._build_first())
            running.add_done_callback(_build_ended)
        return running

    async def _build_first(self) -> None:
        try:
            count = await self._client.count_workflows(purchases_query())
            self._progress.expected = count.count
        except RPCError:  # only the "of about" of a warming answer is lost
            log.warning("dashboard projection: requests not counted", exc_info=True)
        async with self._lock:
            if self._caught_up_at is not None:
                return
            kept = await self._kept_snapshot()
            if kept is not None:
                self._index, self._caught_up_at = kept
                self.first_built_from = "snapshot"
                log.info("dashboard projection: %d requests from the snapshot", len(kept[0]))
                return
            self._index, self._caught_up_at = await self._read_all(self._progress)
            self.first_built_from = "temporal"
            await self._save_all()

    async def rebuild(self) -> int:
        """Read every request from Temporal again and replace what is kept; returns the count.
        Calls meanwhile are answered from what was kept."""
        index, began = await self._read_all(BuildProgress())
        async with self._lock:
            # Current as of `began`: the next call catches up from there.
            self._index, self._caught_up_at = index, began
            await self._save_all()
        return len(index)

    async def _kept_snapshot(self) -> tuple[RequestIndex, datetime] | None:
        """The snapshot's index (read and indexed in a thread: a second at 100,000 requests,
        which the event loop must not wait for), if it was read from this namespace."""
        snapshot = self._snapshot
        if snapshot is None:
            return None
        source = await self._source()
        if source is None:
            return None

        def indexed() -> tuple[RequestIndex, datetime] | None:
            kept = snapshot.load(source)
            return None if kept is None else (RequestIndex(kept.rows), kept.caught_up_at)

        return await asyncio.to_thread(indexed)

    async def _save_all(self) -> None:
        caught_up_at = self._caught_up_at
        if self._snapshot is None or caught_up_at is None:
            return
        rows = list(self._index)
        source = await self._source()
        if source is not None:
            await asyncio.to_thread(self._snapshot.save_all, rows, caught_up_at, source)

    async def _source(self) -> str | None:
        """The namespace by name and id: a snapshot read from another is not used. None when
        the server cannot say: then no snapshot is read or written, and the rows read stay."""
        namespace = self._client.namespace
        try:
            described = await self._client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=namespace)
            )
        except RPCError as err:
            log.warning("dashboard snapshot skipped: namespace not described (%s)", err.message)
            return None
        return f"{namespace}/{described.namespace_info.id}"

    def _needs_read(self, run_id: str, *, closed: bool) -> bool:
        known = self._index.get(run_id)
        return known is None or (closed and not known.closed)

    async def _read_all(self, progress: BuildProgress) -> tuple[RequestIndex, datetime]:
        began, clock = self._now(), time.monotonic()
        index = RequestIndex()
        listing = self._client.list_workflows(purchases_query())
        async for read in read_requests(self._client, listing, REBUILD_CONCURRENCY):
            index.put(read)
            progress.read += 1
        log.info(
            "dashboard projection built from Temporal: %d requests in %.1f s",
            len(index),
            time.monotonic() - clock,
        )
        return index, began


def _build_ended(build: asyncio.Task[None]) -> None:
    """A failed first build is logged here, whoever waited for it (a call may have stopped
    waiting): the next call starts another."""
    if not build.cancelled() and build.exception() is not None:
        log.warning(
            "dashboard projection: first build failed; the next call retries",
            exc_info=build.exception(),
        )


async def _listed(executions: Iterable[WorkflowExecution]) -> AsyncIterator[WorkflowExecution]:
    for execution in executions:
        yield execution
