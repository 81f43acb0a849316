"""The imported-history store seen from outside: add records to a shard, read an employee's
summary. A shard is created by its first batch (started with the batch as its state), so an
installation that never imported anything has no shard workflows at all.

Reads need no worker: a shard continues as new after every batch it adds, in the same workflow
task, so its current run's start event holds its whole state (~35 KB at 1,000 records).

The review's read (`summary`) needs the requester's shard's current run. While this process
follows the shards' change feed (`entities.history_follower`: every batch is announced there,
checked about twice a second), a run it has cached and confirmed current is used as it is: the
review asks the server nothing. Otherwise it asks which run is current (`describe`: ~3 ms found,
~1.7 ms not found, measured at load ~10) and reads that run's start event only when this process
has not cached it (`entities.history_cache`): a run's start never changes, so a cached run is
exact for as long as it is current. A batch makes a new run at once; this process sees its own
batches at once, other workers within ~1.5 s (TRUSTED_FOR_SECONDS). Reading the start event
itself costs ~3x a NOT_FOUND at 35 KB (measured: 4.9-5.9 ms vs 1.2-1.7 ms), which is what kept
the review 3.3x slower with history than without. `exact_summary` reads the shard's current run
from its history every time (no cache). A run that has accepted a batch without continuing (a
full shard's refused batch, or a run started by a build before shards continued after every
batch) is never cached: it is asked with the query, so no read misses a record its run holds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.history_shards import (
    SHARD_WORKFLOW_ID_PREFIX,
    AddShardRecordsInput,
    AddShardRecordsResult,
    EmployeeHistoryInput,
    HistoryShardState,
    ShardBook,
    ShardRecord,
    ShardSummaries,
    check_batch,
    shard_of,
    state_record_count,
    state_summary,
)
from domain.refusal import Refused
from domain.review_rules import UserHistory
from entities.client import query_entity, update_entity
from entities.history_cache import NO_RUN, ShardCache
from entities.history_changes import HistoryChangesWorkflow, ShardChangeLog
from entities.history_follower import ShardChangeFollower
from entities.history_shard import HistoryShardWorkflow

log = logging.getLogger(__name__)

# A shard whose workers are gone must not hold a review for long (the review's own deadline
# is the same; see activities.user_history).
QUERY_TIMEOUT = timedelta(seconds=5)
R = TypeVar("R")
NO_HISTORY = UserHistory(previous_purchases=0, rejected_last_30_days=0)
# A run at rest has 4 events (started, and its first workflow task scheduled, started,
# completed); a few more if a task was retried. Past this, the run is not at rest: ask the query.
AT_REST_EVENTS = 16
# A read of a shard run this process has not cached (a new worker, or an import since) starts a
# refresh of every shard in the background, at most this often: a warm worker reads no shard.
REFRESH_EVERY_SECONDS = 60.0
# A change the feed never announced (a writer that stopped between its batch and the signal) is
# seen within this long: a run confirmed longer ago is confirmed again.
RECONFIRM_AFTER_SECONDS = 300.0
REFRESH_CONCURRENCY = 4
REFRESHING = "history shard cache refreshing"
REFRESHED = "history shard cache refreshed:"


class ShardUnreadable(Exception):
    """The shard's stored state does not decode as a shard state (not a 'no history')."""


class _AskTheShard(Exception):
    """The run's start event may not hold every record: read through the shard's query."""


class HistoryStore:
    """`task_queue`: where shard entities run (settings.control_task_queue). `id_prefix` lets
    tests keep their own store on a shared server."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        id_prefix: str = SHARD_WORKFLOW_ID_PREFIX,
        cache: ShardCache | None = None,
        refresh_every_seconds: float | None = REFRESH_EVERY_SECONDS,
    ) -> None:
        """`refresh_every_seconds`: None never refreshes in the background nor follows the
        change feed (a benchmark's cold reads: every read asks the server)."""
        self._client = client
        self._task_queue = task_queue
        self._id_prefix = id_prefix
        self._cache = cache or ShardCache()
        self._changes_id = f"{id_prefix}changes"
        self._follower = (
            None
            if refresh_every_seconds is None
            else ShardChangeFollower(client, self._changes_id, self._forget)
        )
        self._refreshing: asyncio.Task[int] | None = None
        self._refresh_every = refresh_every_seconds
        self._refreshed_at = float("-inf")

    def workflow_id(self, shard: int) -> str:
        return f"{self._id_prefix}{shard:04d}"

    @property
    def changes_workflow_id(self) -> str:
        """The shards' change feed (`entities.history_changes`)."""
        return self._changes_id

    async def add(
        self, shard: int, records: list[ShardRecord], *, imported_by: str
    ) -> AddShardRecordsResult:
        """Adds the batch, creating the shard if needed. Raises Refused with the shard's reason
        (full, malformed); nothing of the batch is added then."""
        input = AddShardRecordsInput(shard=shard, records=records, imported_by=imported_by)
        result = await self._create(input)
        if result is None:
            result = await update_entity(
                self._client,
                HistoryShardWorkflow.add_records,
                input,
                run=HistoryShardWorkflow.run,
                initial=HistoryShardState(shard=shard),
                workflow_id=self.workflow_id(shard),
                task_queue=self._task_queue,
            )
        # The shard is a new run now: this process reads it afresh at once, the other
        # workers once they hear it from the feed.
        self._cache.drop(shard)
        await self._client.start_workflow(
            HistoryChangesWorkflow.run,
            ShardChangeLog(),
            id=self._changes_id,
            task_queue=self._task_queue,
            start_signal=HistoryChangesWorkflow.changed.__name__,
            start_signal_args=[[shard]],
        )
        return result

    async def _create(self, input: AddShardRecordsInput) -> AddShardRecordsResult | None:
        """A shard that does not exist yet starts with the batch as its state, checked and
        de-duplicated here by the code of the shard's own Update (`check_batch`, `ShardBook`):
        one start the server answers alone, where an Update waits for the shard's workflow
        tasks (two: the Update's, then the continued run's). This is most of a first import:
        1,024 shards at 1,000,000 rows. None: the shard exists, send the batch as an Update."""
        book = ShardBook(HistoryShardState(shard=input.shard))
        try:
            check_batch(book, input)
        except ValueError as err:  # refused by any shard, however full
            raise Refused(str(err)) from err
        added = book.add(input.records)
        try:
            await self._client.start_workflow(
                HistoryShardWorkflow.run,
                book.state(),
                id=self.workflow_id(input.shard),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            return None
        return AddShardRecordsResult(
            added=added, already_present=len(input.records) - added, total=len(book)
        )

    async def summary(self, employee_id: str, *, now: datetime) -> UserHistory:
        """The review's read: the employee's imported history as seen at `now`, from their
        shard's current run (cached per run); none when the shard was never created. RPC
        errors propagate: the caller must not mistake them for 'no history'."""
        shard = shard_of(employee_id)
        trusted = self._trusted(shard)
        if trusted is not None:
            return trusted.summary(employee_id, now=now)
        confirmed = time.monotonic()
        run_id = await self.current_run(shard)
        if run_id is None:
            self._cache.put(shard, NO_RUN, _nothing(shard), verified_at=confirmed)
            return NO_HISTORY
        summaries = self._cache.get(shard, run_id, verified_at=confirmed)
        if summaries is None:
            self._refresh_soon()
            summaries = await self._load(shard, run_id, confirmed)
            if summaries is None:
                return await self.exact_summary(employee_id, now=now)
        return summaries.summary(employee_id, now=now)

    def _trusted(self, shard: int) -> ShardSummaries | None:
        """The shard's cached run, if it may be used without asking the server (see the module
        docstring)."""
        if self._follower is None:
            return None
        following_since = self._follower.trusted_since()
        if following_since is None:
            return None
        reconfirm = time.monotonic() - RECONFIRM_AFTER_SECONDS
        trusted = self._cache.trusted(shard, confirmed_since=max(following_since, reconfirm))
        if trusted is None and self._cache.run_of(shard) not in (None, NO_RUN):
            # A shard run confirmed too long ago: the background refresh confirms every shard
            # again, so the next reviews need not ask one by one.
            self._refresh_soon()
        return trusted

    def _forget(self, shards: list[int]) -> None:
        for shard in shards:
            self._cache.drop(shard)

    async def current_run(self, shard: int) -> str | None:
        """The run id of the shard's current run (None: no such shard), from the server's
        own state of the workflow: the run a batch's Update or start has just made, at once.
        Not from visibility: it lags, and a shard that does not exist is a scan of every
        execution there (the server adds `TemporalNamespaceDivision IS NULL` to the query,
        and the SQLite visibility store then walks that column's index: 72-93 ms at 22,000
        executions here, where this answers in ~2 ms either way)."""
        try:
            described = await self._client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=self._client.namespace,
                    execution=WorkflowExecution(workflow_id=self.workflow_id(shard)),
                ),
                timeout=QUERY_TIMEOUT,
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return described.workflow_execution_info.execution.run_id

    async def warm(self, concurrency: int = REFRESH_CONCURRENCY) -> int:
        """Cache every shard's current run, confirmed with the server (the shards are found in
        visibility, which may lag: a run is cached only as `describe` names it); returns how
        many runs were read. Hears the change feed first, so what it caches is trusted and no
        change announced before it makes this worker forget what it read."""
        if self._follower is not None:
            await self._follower.follow()
        query = (
            "WorkflowType = 'HistoryShardWorkflow' AND ExecutionStatus = 'Running'"
            f" AND WorkflowId STARTS_WITH '{self._id_prefix}'"
        )
        shards = {
            int(found.id.removeprefix(self._id_prefix))
            async for found in self._client.list_workflows(query)
        }
        gate = asyncio.Semaphore(concurrency)

        async def read(shard: int) -> bool:
            async with gate:
                confirmed = time.monotonic()
                run_id = await self.current_run(shard)
                if run_id is None or self._cache.get(shard, run_id, verified_at=confirmed):
                    return False
                try:
                    return await self._load(shard, run_id, confirmed) is not None
                except ShardUnreadable:
                    return False  # the review reports it for that shard's requesters

        return sum(await asyncio.gather(*(read(shard) for shard in shards)))

    def cached(self, shard: int) -> bool:
        return shard in self._cache

    def _refresh_soon(self) -> None:
        if self._refresh_every is None:
            return
        if self._refreshing is not None and not self._refreshing.done():
            return
        if time.monotonic() - self._refreshed_at < self._refresh_every:
            return
        self._refreshed_at = time.monotonic()
        self._refreshing = asyncio.create_task(self._refresh())

    async def _refresh(self) -> int:
        began = time.monotonic()
        log.info("%s (a read of a shard run not cached yet)", REFRESHING)
        try:
            read = await self.warm()
        except Exception:  # a background refresh must never fail a review; the next one retries
            log.warning("could not refresh the history shard cache", exc_info=True)
            return 0
        log.info("%s %d shard runs read in %.1f s", REFRESHED, read, time.monotonic() - began)
        return read

    async def _load(self, shard: int, run_id: str, confirmed: float) -> ShardSummaries | None:
        """The run's start state, cached as confirmed current at `confirmed`; None when that
        run holds more (see the docstring)."""
        try:
            state = await self._stored_state(shard, run_id)
        except _AskTheShard:
            return None
        if state is None:
            return None
        summaries = ShardSummaries(state)
        self._cache.put(shard, run_id, summaries, verified_at=confirmed)
        return summaries

    async def exact_summary(self, employee_id: str, *, now: datetime) -> UserHistory:
        """The employee's imported history from their shard's current run (every accepted
        batch counted); none when their shard was never created."""
        return await self._read(
            shard_of(employee_id),
            lambda state: state_summary(state, employee_id, now=now),
            HistoryShardWorkflow.employee_history,
            [EmployeeHistoryInput(employee_id=employee_id, now=now)],
            missing=NO_HISTORY,
        )

    async def record_count(self, shard: int) -> int:
        return await self._read(
            shard, state_record_count, HistoryShardWorkflow.record_count, [], missing=0
        )

    async def _read(
        self,
        shard: int,
        from_state: Callable[[HistoryShardState], R],
        query: Callable[..., R],
        args: Sequence[Any],
        *,
        missing: R,
    ) -> R:
        """`from_state` of the shard's stored state; the shard's own `query` when its current
        run holds batches its start event does not; `missing` when it was never created."""
        try:
            state = await self._stored_state(shard)
        except _AskTheShard:
            return await query_entity(
                self._client,
                self.workflow_id(shard),
                query,
                args=args,
                missing=missing,
                rpc_timeout=QUERY_TIMEOUT,
            )
        return missing if state is None else from_state(state)

    async def _stored_state(self, shard: int, run_id: str = "") -> HistoryShardState | None:
        """The state the shard's current run (or `run_id`) started with (None: not found).
        Raises _AskTheShard when that run accepted a batch since (see the module docstring)."""
        try:
            response = await self._client.workflow_service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=self._client.namespace,
                    execution=WorkflowExecution(workflow_id=self.workflow_id(shard), run_id=run_id),
                    maximum_page_size=AT_REST_EVENTS,
                ),
                timeout=QUERY_TIMEOUT,
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        events = response.history.events
        if response.next_page_token or any(
            event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
            for event in events
        ):
            raise _AskTheShard
        started = events[0].workflow_execution_started_event_attributes
        try:
            [state] = await self._client.data_converter.decode(
                started.input.payloads, [HistoryShardState]
            )
        except Exception as err:  # any decoding failure: the state is not what a shard stores
            raise ShardUnreadable(
                f"history shard {shard} holds a state that cannot be read ({err})"
            ) from err
        if not isinstance(state, HistoryShardState):
            raise ShardUnreadable(f"history shard {shard} holds a state that cannot be read")
        return state

    async def any_shard(self) -> int | None:
        """Some shard that exists (for a health probe), or None when nothing was imported."""
        query = (
            "WorkflowType = 'HistoryShardWorkflow' AND ExecutionStatus = 'Running'"
            f" AND WorkflowId STARTS_WITH '{self._id_prefix}'"
        )
        async for found in self._client.list_workflows(query, limit=1):
            return int(found.id.removeprefix(self._id_prefix))
        return None


def _nothing(shard: int) -> ShardSummaries:
    return ShardSummaries(HistoryShardState(shard=shard))
