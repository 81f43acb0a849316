"""A worker's cache of the history shards the review reads, keyed by each shard's run.

A shard's run never changes what it started with, and a shard continues as new after every
batch it adds: so what a run's start event holds, once read, is good for as long as that run is
the shard's latest. Each review asks the server which run is current (`describe`, as cheap as
finding nothing) and reads the run's start event only when it is not cached. Bounded
by the records held (8 bytes each, see `ShardSummaries`), least recently used out first.
"""

from __future__ import annotations

from collections import OrderedDict

from domain.history_shards import ShardSummaries

# 4,000,000 records: ~32 MB of dates plus ~0.2 KB per employee; a company's 1,000,000 imported
# records fit four times over, so at company scale a warm worker never reads a shard twice.
MAX_CACHED_RECORDS = 4_000_000


class ShardCache:
    def __init__(self, max_records: int = MAX_CACHED_RECORDS) -> None:
        self._max_records = max_records
        self._held = 0
        self._runs: OrderedDict[int, tuple[str, ShardSummaries]] = OrderedDict()

    def get(self, shard: int, run_id: str) -> ShardSummaries | None:
        cached = self._runs.get(shard)
        if cached is None or cached[0] != run_id:
            return None
        self._runs.move_to_end(shard)
        return cached[1]

    def put(self, shard: int, run_id: str, summaries: ShardSummaries) -> None:
        """Replaces the shard's older run, if any."""
        self.drop(shard)
        self._runs[shard] = (run_id, summaries)
        self._held += len(summaries)
        while self._held > self._max_records and len(self._runs) > 1:
            _, (_, evicted) = self._runs.popitem(last=False)
            self._held -= len(evicted)

    def drop(self, shard: int) -> None:
        cached = self._runs.pop(shard, None)
        if cached is not None:
            self._held -= len(cached[1])

    def __contains__(self, shard: int) -> bool:
        return shard in self._runs

    @property
    def records(self) -> int:
        return self._held
