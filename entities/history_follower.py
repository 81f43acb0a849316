"""A worker's view of the history shards' change feed (`entities.history_changes`): when the shard
runs it has cached can be trusted without asking the server, and which to forget.

Checks run in the background, started by the reviews themselves (at most one at a time, about
twice a second while reviews come): nothing runs when nobody reviews, and a review never waits
for a check. A check asks the server whether the feed changed (`entity_version`: no worker) and
queries the feed (through a control worker) only when it did: a busy control worker, right after
an import, does not make trust lapse while nothing changes. A cached shard is trusted only while
the last check is recent and only if the shard was read after this worker started following: a
change the feed reported before that is not in the cursor. If checks fail (no control worker,
the server slow), trust lapses and every review asks the server which run is current, as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta

from temporalio.client import Client

from entities.client import entity_version, query_entity
from entities.history_changes import WHERE_WE_ARE, HistoryChangesWorkflow, ShardChanges

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 0.5
# A batch reaches every worker's reviews within about this long after its shard changed.
TRUSTED_FOR_SECONDS = 1.5
CHECK_TIMEOUT = timedelta(seconds=2)
NOTHING_YET = ShardChanges(seq=0, shards=[])


class ShardChangeFollower:
    def __init__(
        self, client: Client, workflow_id: str, forget: Callable[[list[int]], None]
    ) -> None:
        """`forget(shards)`: drop those shards from the cache."""
        self._client = client
        self._workflow_id = workflow_id
        self._forget = forget
        self._cursor: int | None = None
        self._heard_at: tuple[str, int] | None = None  # the feed's `entity_version` at the cursor
        self._following_since: float | None = None
        self._checked_at = float("-inf")
        self._started_at = float("-inf")
        self._checking: asyncio.Task[None] | None = None
        self._failing = False

    async def follow(self) -> None:
        """One check now, awaited, after any check already running: every change the feed
        announced before this call has been heard (its shards forgotten) when it returns, so
        a shard read after it is not forgotten for an older change (which would cost a read).
        The first call starts following: a cache filled after it is trusted once confirmed."""
        running = self._checking
        if running is not None and not running.done():
            await running  # a check never raises: it logs and lets trust lapse
        await self._check(time.monotonic())

    def trusted_since(self) -> float | None:
        """The monotonic time from which cached shard reads are trusted (they were read after
        it, and every change since has been heard); None: trust none, ask the server."""
        now = time.monotonic()
        if now - self._started_at >= CHECK_EVERY_SECONDS and (
            self._checking is None or self._checking.done()
        ):
            self._started_at = now
            self._checking = asyncio.create_task(self._check(now))
        if now - self._checked_at > TRUSTED_FOR_SECONDS:
            return None
        return self._following_since

    async def _check(self, started: float) -> None:
        try:
            version = await entity_version(
                self._client, self._workflow_id, rpc_timeout=CHECK_TIMEOUT
            )
            if self._cursor is not None and version == self._heard_at:
                changes = ShardChanges(seq=self._cursor, shards=[])  # nothing signalled since
            else:
                changes = await query_entity(
                    self._client,
                    self._workflow_id,
                    HistoryChangesWorkflow.since,
                    args=[WHERE_WE_ARE if self._cursor is None else self._cursor],
                    # Nothing has changed since the feed exists: every batch creates it.
                    missing=NOTHING_YET,
                    rpc_timeout=CHECK_TIMEOUT,
                )
        except Exception as err:  # a failed check only lets trust lapse; the next one retries
            if not self._failing:
                log.warning("history shard changes unreadable, reviews ask each shard: %s", err)
            self._failing = True
            return
        if self._failing:
            log.info("history shard changes readable again")
            self._failing = False
        if self._cursor is None or changes.shards is None or changes.seq < self._cursor:
            # Shards read before this point may have changed unheard (not following yet, too
            # far behind, or a feed started anew): trust only later reads.
            self._following_since = started
        if changes.shards:
            self._forget(changes.shards)
        self._cursor, self._heard_at = changes.seq, version
        self._checked_at = started
