"""The shards' change feed, as its workflow code answers: changes after a cursor, each shard
once; where the feed is for a worker starting to follow; "anything may have changed" for a
cursor older than the changes kept."""

from __future__ import annotations

from entities.history_changes import (
    MAX_KEPT,
    WHERE_WE_ARE,
    HistoryChangesWorkflow,
    ShardChangeLog,
    ShardChanges,
)


def test_a_cursor_hears_each_changed_shard_once_in_order_of_number() -> None:
    feed = HistoryChangesWorkflow(ShardChangeLog())
    assert feed.since(WHERE_WE_ARE) == ShardChanges(seq=0, shards=[])
    feed.changed([7, 3])
    feed.changed([7])
    assert feed.since(WHERE_WE_ARE) == ShardChanges(seq=3, shards=[])
    assert feed.since(0) == ShardChanges(seq=3, shards=[3, 7])
    assert feed.since(2) == ShardChanges(seq=3, shards=[7])
    assert feed.since(3) == ShardChanges(seq=3, shards=[])


def test_a_cursor_older_than_the_changes_kept_hears_that_anything_may_have_changed() -> None:
    feed = HistoryChangesWorkflow(ShardChangeLog())
    feed.changed(list(range(MAX_KEPT + 5)))
    assert feed.since(4) == ShardChanges(seq=MAX_KEPT + 5, shards=None)
    assert feed.since(5) == ShardChanges(seq=MAX_KEPT + 5, shards=list(range(5, MAX_KEPT + 5)))
