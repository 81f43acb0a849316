"""The imported-history store seen from outside: add records to a shard, read an employee's
summary. Shards are created on their first batch (update-with-start), so an installation that
never imported anything has no shard workflows at all."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.client import Client

from domain.history_shards import (
    SHARD_WORKFLOW_ID_PREFIX,
    AddShardRecordsInput,
    AddShardRecordsResult,
    EmployeeHistoryInput,
    HistoryShardState,
    ShardRecord,
    shard_of,
)
from domain.review_rules import UserHistory
from entities.client import query_entity, update_entity
from entities.history_shard import HistoryShardWorkflow

# A shard whose workers are gone must not hold a review for long (the review's own deadline
# is the same; see activities.user_history).
QUERY_TIMEOUT = timedelta(seconds=5)
NO_HISTORY = UserHistory(previous_purchases=0, rejected_last_30_days=0)


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
        return await query_entity(
            self._client,
            self.workflow_id(shard_of(employee_id)),
            HistoryShardWorkflow.employee_history,
            args=[EmployeeHistoryInput(employee_id=employee_id, now=now)],
            missing=NO_HISTORY,
            rpc_timeout=QUERY_TIMEOUT,
        )

    async def any_shard(self) -> int | None:
        """Some shard that exists (for a health probe), or None when nothing was imported."""
        query = (
            "WorkflowType = 'HistoryShardWorkflow' AND ExecutionStatus = 'Running'"
            f" AND WorkflowId STARTS_WITH '{self._id_prefix}'"
        )
        async for found in self._client.list_workflows(query, limit=1):
            return int(found.id.removeprefix(self._id_prefix))
        return None

    async def record_count(self, shard: int) -> int:
        return await query_entity(
            self._client,
            self.workflow_id(shard),
            HistoryShardWorkflow.record_count,
            missing=0,
            rpc_timeout=QUERY_TIMEOUT,
        )
