"""HistoryShardWorkflow: one of the 1,024 entities holding imported purchase history.

Each employee's imported records live in the shard `domain.history_shards.shard_of` picks, so no
single workflow holds the whole company (see that module for the sizes). Records arrive as a
validated Update and are de-duplicated by record digest: importing the same file twice adds
nothing. The review reads one employee's summary with a query.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.history_shards import (
        AddShardRecordsInput,
        AddShardRecordsResult,
        EmployeeHistoryInput,
        HistoryShardState,
        ShardBook,
        ShardFull,
        check_batch,
    )
    from domain.review_rules import UserHistory
    from entities.lifetime import live_until_continue_as_new


# Not sandboxed: the sandbox re-imports a workflow's modules for every new run (~15 ms each),
# a third of an import's time when 1,024 shards start at once. This module and
# domain.history_shards are pure code (no clock, I/O or randomness), checked by review and by
# the replay tests like every workflow.
@workflow.defn(name="HistoryShardWorkflow", sandboxed=False)
class HistoryShardWorkflow:
    @workflow.init
    def __init__(self, state: HistoryShardState) -> None:
        self._book = ShardBook(state)
        self._batches = 0

    @workflow.run
    async def run(self, state: HistoryShardState) -> None:
        # Continue as new after every batch, in the same workflow task: a batch's payload
        # (~0.1 MB) is history, the shard's state is compact (~30 KB at 1,000 records). So a run's
        # history is one start event: a worker that has not cached the shard replays it in
        # milliseconds, and a cached shard holds no batch payloads (a worker caching all 1,024
        # shards of a 1,000,000-record import held 625 MB before this).
        # The state carried is bounded by MAX_SHARD_RECORDS: at most ~1.1 MB, never over 2 MB.
        del state  # the book holds it compactly; the decoded model would stay alive otherwise
        await live_until_continue_as_new(self._book.state, also_when=lambda: self._batches > 0)

    @workflow.update
    def add_records(self, input: AddShardRecordsInput) -> AddShardRecordsResult:
        try:
            added = self._book.add(input.records)
        except ShardFull as err:
            # Only if another batch filled the shard between validation and here; a plain
            # ValueError would fail the workflow task and retry forever, this fails the update.
            raise ApplicationError(str(err), type="ShardFull", non_retryable=True) from err
        self._batches += 1
        return AddShardRecordsResult(
            added=added, already_present=len(input.records) - added, total=len(self._book)
        )

    @add_records.validator
    def _validate_add(self, input: AddShardRecordsInput) -> None:
        # Refused here, nothing reaches the history: a refused batch costs the shard nothing.
        check_batch(self._book, input)

    @workflow.query
    def employee_history(self, input: EmployeeHistoryInput) -> UserHistory:
        return self._book.summary(input.employee_id, now=input.now)

    @workflow.query
    def record_count(self) -> int:
        return len(self._book)
