"""Is the requester history readable right now? Shown by `/rollout status`, so ops see at once
why reviews send requests to people (the review alerts them too, see OpsAlertThrottle).

The probe does what a review does (one shard read and the visibility list, with the same
timeout), then reads a shard that exists: reading a shard that was never created is answered
by the server at once and would prove nothing about the shards themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import Client

from activities.user_history import HistoryUnavailable, UserHistorySource
from entities.history_store import HistoryStore, ShardUnreadable

PROBE_EMPLOYEE = "purchasebot-health-probe"


@dataclass(frozen=True)
class HistoryHealth:
    readable: bool
    detail: str


async def probe_history(client: Client, store: HistoryStore) -> HistoryHealth:
    started = time.monotonic()
    try:
        await UserHistorySource(client, store).user_history(PROBE_EMPLOYEE, now=datetime.now(UTC))
        shard = await store.any_shard()
        if shard is not None:
            await store.record_count(shard)
    except HistoryUnavailable as err:
        return HistoryHealth(False, str(err))
    except ShardUnreadable as err:
        return HistoryHealth(False, f"the history store could not be read: {err}")
    except Exception as err:  # the probe must answer, whatever broke
        return HistoryHealth(False, f"the history store did not answer ({err})")
    took = (time.monotonic() - started) * 1000
    where = "no history imported yet" if shard is None else "imported history and own outcomes"
    return HistoryHealth(True, f"readable ({where}; read in {took:.0f} ms)")
