"""Sending shard batches to the history store, several in flight: the one sender of imports
(`purchasebot history import`, `up --import-history`) and of the migration from the old entity."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from domain.history_shards import (
    MAX_BATCH_RECORDS,
    AddShardRecordsResult,
    ShardRecord,
    group_by_shard,
)
from domain.refusal import Refused
from entities.history_store import HistoryStore

# Batches in flight at once: enough to keep the server's workflow-task pipeline full, few
# enough that a 2-core dev server is not swamped.
CONCURRENCY = 16


class StoreUnreachable(Refused):
    """The server did not take a batch (unreachable, timed out); the batches before it stay."""


@dataclass(frozen=True)
class ShardBatch:
    """Records for one shard, at most MAX_BATCH_RECORDS; `lines` are their source lines."""

    id: str
    shard: int
    records: list[ShardRecord]
    lines: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BatchOutcome:
    batch: ShardBatch
    added: int = 0
    already_present: int = 0
    refused: str = ""


@dataclass
class ImportTotals:
    added: int = 0
    already_present: int = 0
    refused: int = 0

    def count(self, outcome: BatchOutcome) -> None:
        self.added += outcome.added
        self.already_present += outcome.already_present
        self.refused += len(outcome.batch.records) if outcome.refused else 0


def batches_of(
    shard: int, records: list[ShardRecord], lines: list[int], prefix: str
) -> Iterable[ShardBatch]:
    for start in range(0, len(records), MAX_BATCH_RECORDS):
        end = start + MAX_BATCH_RECORDS
        yield ShardBatch(
            id=f"{prefix}{shard}:{start}",
            shard=shard,
            records=records[start:end],
            lines=lines[start:end],
        )


async def send_batches(
    store: HistoryStore,
    batches: AsyncIterator[ShardBatch] | Iterable[ShardBatch],
    *,
    imported_by: str,
    on_outcome: Callable[[BatchOutcome], Awaitable[None] | None] | None = None,
    concurrency: int = CONCURRENCY,
) -> None:
    """Send every batch, `concurrency` at a time. A refused batch (shard full, malformed) is an
    outcome, not an error; anything else (server unreachable) stops the import and raises, and
    the batches already sent stay sent."""
    queue: asyncio.Queue[ShardBatch | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def produce() -> None:
        if isinstance(batches, AsyncIterator):
            async for batch in batches:
                await queue.put(batch)
        else:
            for batch in batches:
                await queue.put(batch)
        for _ in range(concurrency):
            await queue.put(None)

    # One batch at a time per shard: concurrent batches to one shard would land in one workflow
    # task (and be validated against the same state), making that task long for nothing.
    shard_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def send(batch: ShardBatch) -> AddShardRecordsResult:
        async with shard_locks[batch.shard]:
            return await store.add(batch.shard, batch.records, imported_by=imported_by)

    async def consume() -> None:
        while (batch := await queue.get()) is not None:
            try:
                result = await send(batch)
                outcome = BatchOutcome(batch, result.added, result.already_present)
            except Refused as err:
                outcome = BatchOutcome(batch, refused=err.reason)
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None  # Ctrl-C: stop, do not report
                raise
            if on_outcome is not None:
                done = on_outcome(outcome)
                if done is not None:
                    await done

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(produce())
            for _ in range(concurrency):
                group.create_task(consume())
    except* (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as failed:
        first = failed.exceptions[0]
        raise StoreUnreachable(
            f"The history store stopped answering ({first}). What was sent is kept: run the "
            "same command again to go on from there."
        ) from first


def batches_by_shard(records: Iterable[ShardRecord]) -> list[ShardBatch]:
    return [
        batch
        for shard, shard_records in sorted(group_by_shard(records).items())
        for batch in batches_of(shard, shard_records, [], "")
    ]
