"""A worker's cache of the history shards the review reads, keyed by each shard's run.

A shard's run never changes what it started with, and a shard continues as new after every
batch it adds: so what a run's start event holds, once read, is good for as long as that run is
the shard's latest. Each entry remembers when the server last confirmed its run was current
(`verified_at`, monotonic): while the shards' change feed is followed, a review trusts an entry
confirmed after following began without asking again (`entities.history_follower`). A shard
that does not exist is cached too, as an empty run (`NO_RUN`). Bounded by the records held
(8 bytes each, see `ShardSummaries`), least recently used out first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from domain.history_shards import ShardSummaries

# 4,000,000 records: ~32 MB of dates plus ~0.2 KB per employee; a company's 1,000,000 imported
# records fit four times over, so at company scale a warm worker never reads a shard twice.
MAX_CACHED_RECORDS = 4_000_000
# The run id of a shard that does not exist.
NO_RUN = ""


class _Entry(NamedTuple):
    run_id: str
    summaries: ShardSummaries
    verified_at: float


class ShardCache:
    def __init__(self, max_records: int = MAX_CACHED_RECORDS) -> None:
        self._max_records = max_records
        self._held = 0
        self._runs: OrderedDict[int, _Entry] = OrderedDict()

    def get(self, shard: int, run_id: str, *, verified_at: float) -> ShardSummaries | None:
        """The run's summaries if cached; the server has just confirmed it is current."""
        cached = self._runs.get(shard)
        if cached is None or cached.run_id != run_id:
            return None
        self._runs[shard] = cached._replace(verified_at=max(cached.verified_at, verified_at))
        self._runs.move_to_end(shard)
        return cached.summaries

    def trusted(self, shard: int, *, confirmed_since: float) -> ShardSummaries | None:
        """The shard's cached run if the server confirmed it current at or after that time."""
        cached = self._runs.get(shard)
        if cached is None or cached.verified_at < confirmed_since:
            return None
        self._runs.move_to_end(shard)
        return cached.summaries

    def run_of(self, shard: int) -> str | None:
        """The cached run's id (NO_RUN: cached as not existing), or None if not cached."""
        cached = self._runs.get(shard)
        return None if cached is None else cached.run_id

    def put(
        self, shard: int, run_id: str, summaries: ShardSummaries, *, verified_at: float
    ) -> None:
        """Replaces the shard's older run, if any."""
        self.drop(shard)
        self._runs[shard] = _Entry(run_id, summaries, verified_at)
        self._held += len(summaries)
        while self._held > self._max_records and len(self._runs) > 1:
            _, evicted = self._runs.popitem(last=False)
            self._held -= len(evicted.summaries)

    def drop(self, shard: int) -> None:
        cached = self._runs.pop(shard, None)
        if cached is not None:
            self._held -= len(cached.summaries)

    def __contains__(self, shard: int) -> bool:
        return shard in self._runs

    @property
    def records(self) -> int:
        return self._held
