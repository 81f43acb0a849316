"""The per-worker cache of shard runs: a run is served only under its own run id, a shard's new
run replaces the old one, the records held stay under the bound (least recent out first), and a
run is trusted without asking only if the server confirmed it current late enough."""

from __future__ import annotations

from domain.history_shards import HistoryShardState, ShardSummaries
from entities.history_cache import ShardCache


def summaries(records: int) -> ShardSummaries:
    return ShardSummaries(HistoryShardState(completed={"E1": list(range(records))}))


def test_a_run_is_served_under_its_own_run_id_only() -> None:
    cache = ShardCache()
    first = summaries(3)
    cache.put(7, "run-a", first, verified_at=0.0)
    assert cache.get(7, "run-a", verified_at=0.0) is first
    assert cache.get(7, "run-b", verified_at=0.0) is None  # the shard has a newer run: read it
    assert cache.get(8, "run-a", verified_at=0.0) is None


def test_a_new_run_replaces_the_old_one() -> None:
    cache = ShardCache()
    cache.put(7, "run-a", summaries(3), verified_at=0.0)
    cache.put(7, "run-b", summaries(5), verified_at=0.0)
    assert (
        cache.get(7, "run-a", verified_at=0.0) is None
        and cache.get(7, "run-b", verified_at=0.0) is not None
    )
    assert cache.records == 5


def test_the_least_recently_read_shards_go_first_past_the_bound() -> None:
    cache = ShardCache(max_records=10)
    for shard in range(3):
        cache.put(shard, f"run-{shard}", summaries(4), verified_at=0.0)  # 12 > 10: 0 goes
    assert 0 not in cache and cache.records == 8
    assert cache.get(1, "run-1", verified_at=0.0) is not None  # 1 read: 2 is now the least recent
    cache.put(3, "run-3", summaries(4), verified_at=0.0)
    assert 2 not in cache and 1 in cache and 3 in cache and cache.records == 8


def test_a_run_is_trusted_only_if_confirmed_since_the_time_asked() -> None:
    cache = ShardCache()
    cache.put(7, "run-a", summaries(3), verified_at=10.0)
    assert cache.trusted(7, confirmed_since=10.0) is not None
    assert cache.trusted(7, confirmed_since=11.0) is None
    assert cache.get(7, "run-a", verified_at=12.0) is not None  # the server named it again
    assert cache.trusted(7, confirmed_since=11.0) is not None
    cache.drop(7)
    assert cache.trusted(7, confirmed_since=0.0) is None
