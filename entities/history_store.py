"""The imported-history store seen from outside: add records to a shard, read an employee's
summary. Shards are created on their first batch (update-with-start), so an installation that
never imported anything has no shard workflows at all.

Reads need no worker: a shard continues as new after every batch it adds, in the same workflow
task, so its current run's start event holds its whole state (~35 KB at 1,000 records). Reading
that one event is a history read the server answers alone (~3 ms here, like a NOT_FOUND),
where a query must reach a worker and, when the shard is not in that worker's cache, replay it
(~6-15 ms, and it grows with the shards a worker must cache: 1,024 at company scale). A run that
has accepted a batch without continuing (a full shard's refused batch, or a run started by a
build before shards continued after every batch) is asked with the query instead, so a read
never misses a record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.history_shards import (
    SHARD_WORKFLOW_ID_PREFIX,
    AddShardRecordsInput,
    AddShardRecordsResult,
    EmployeeHistoryInput,
    HistoryShardState,
    ShardRecord,
    shard_of,
    state_record_count,
    state_summary,
)
from domain.review_rules import UserHistory
from entities.client import query_entity, update_entity
from entities.history_shard import HistoryShardWorkflow

# A shard whose workers are gone must not hold a review for long (the review's own deadline
# is the same; see activities.user_history).
QUERY_TIMEOUT = timedelta(seconds=5)
R = TypeVar("R")
NO_HISTORY = UserHistory(previous_purchases=0, rejected_last_30_days=0)
# A run at rest has 4 events (started, and its first workflow task scheduled, started,
# completed); a few more if a task was retried. Past this, the run is not at rest: ask the query.
AT_REST_EVENTS = 16


class ShardUnreadable(Exception):
    """The shard's stored state does not decode as a shard state (not a 'no history')."""


class _AskTheShard(Exception):
    """The run's start event may not hold every record: read through the shard's query."""


class HistoryStore:
    """`task_queue`: where shard entities run (settings.control_task_queue). `id_prefix` lets
    tests keep their own store on a shared server."""

    def __init__(
        self, client: Client, task_queue: str, id_prefix: str = SHARD_WORKFLOW_ID_PREFIX
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._id_prefix = id_prefix

    def workflow_id(self, shard: int) -> str:
        return f"{self._id_prefix}{shard:04d}"

    async def add(
        self, shard: int, records: list[ShardRecord], *, imported_by: str
    ) -> AddShardRecordsResult:
        """One round trip: creates the shard if needed and adds the batch. Raises Refused with
        the shard's reason (full, malformed); nothing of the batch is added then."""
        return await update_entity(
            self._client,
            HistoryShardWorkflow.add_records,
            AddShardRecordsInput(shard=shard, records=records, imported_by=imported_by),
            run=HistoryShardWorkflow.run,
            initial=HistoryShardState(shard=shard),
            workflow_id=self.workflow_id(shard),
            task_queue=self._task_queue,
        )

    async def summary(self, employee_id: str, *, now: datetime) -> UserHistory:
        """The employee's imported history as seen at `now`; none when their shard was never
        created. Other RPC errors propagate: the caller must not mistake them for 'no history'."""
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

    async def _stored_state(self, shard: int) -> HistoryShardState | None:
        """The state the shard's current run started with (None: never created). Raises
        _AskTheShard when that run accepted a batch since (see the module docstring)."""
        try:
            response = await self._client.workflow_service.get_workflow_execution_history(
                GetWorkflowExecutionHistoryRequest(
                    namespace=self._client.namespace,
                    execution=WorkflowExecution(workflow_id=self.workflow_id(shard)),
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
