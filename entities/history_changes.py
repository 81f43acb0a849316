"""HistoryChangesWorkflow: which history shards changed, in order, so a worker's shard cache
knows when to stop trusting a shard it has read (`entities.history_store`).

Every batch a shard accepts makes it a new run; the store that sent the batch then signals this
entity with the shard's number (signal-with-start: the entity exists from the first batch on).
Each change gets a sequence number; workers ask for the changes after the last one they saw,
about twice a second, and drop those shards from their cache. Only the newest MAX_KEPT changes
are kept: a worker whose cursor is older hears "anything may have changed" and re-checks every
shard. The state is a few KB, so the entity simply continues as new when Temporal suggests it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from entities.lifetime import live_until_continue_as_new

# An import of 1,000,000 rows signals ~2,000 shard batches; a worker checks twice a second, so
# it never falls this far behind unless it stopped checking (then it re-checks every shard).
MAX_KEPT = 4096
# `since(WHERE_WE_ARE)`: the current sequence number and no changes (a worker starting to follow).
WHERE_WE_ARE = -1


class ShardChangeLog(BaseModel):
    seq: int = 0
    recent: list[tuple[int, int]] = Field(
        default_factory=list, description="(sequence number, shard), oldest first"
    )


class ShardChanges(BaseModel):
    seq: int
    shards: list[int] | None = Field(
        description="shards changed after the cursor; None: the cursor is older than the "
        "changes kept, so any shard may have changed"
    )


@workflow.defn(name="HistoryChangesWorkflow", sandboxed=False)
class HistoryChangesWorkflow:
    """Not sandboxed, like the shards: pure code, no clock, I/O or randomness."""

    @workflow.init
    def __init__(self, log: ShardChangeLog) -> None:
        self._log = log

    @workflow.run
    async def run(self, log: ShardChangeLog) -> None:
        await live_until_continue_as_new(lambda: self._log)

    @workflow.signal
    def changed(self, shards: list[int]) -> None:
        for shard in shards:
            self._log.seq += 1
            self._log.recent.append((self._log.seq, shard))
        del self._log.recent[:-MAX_KEPT]

    @workflow.query
    def since(self, seq: int) -> ShardChanges:
        log = self._log
        if seq == WHERE_WE_ARE:
            return ShardChanges(seq=log.seq, shards=[])
        oldest_kept = log.recent[0][0] if log.recent else log.seq + 1
        if seq + 1 < oldest_kept and seq < log.seq:
            return ShardChanges(seq=log.seq, shards=None)
        return ShardChanges(
            seq=log.seq, shards=sorted({shard for at, shard in log.recent if at > seq})
        )
