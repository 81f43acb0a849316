"""Where a requester's purchase history comes from, for the automated review.

Two sources, both held by Temporal so any worker on any machine sees the same answer:
- this system's own outcomes: the requester's PurchaseApprovalWorkflows in visibility, by the
  `EmployeeId` and `PurchaseOutcome` search attributes;
- history imported from before (`purchasebot history import`), held by the history shards
  (`entities.history_store`): one read of the requester's shard.

The own outcomes are two visibility COUNTS, made at once: the server answers with two numbers,
however many requests the requester has closed. A listing cost the server ~0.85 ms per row it
returned: a requester with 100 closed requests waited ~90 ms for their review's history, and the
wait grew with every request they filed (`python -m bench.history_scale` measures one).

Each count has exactly ONE indexed equality, `EmployeeId = ...`; the type and the outcome are
matched with STARTS_WITH (exact here: no other workflow type or outcome starts with those
words). With `=` on them too, the dev server's SQLite visibility (no statistics) breaks the tie
between indexes by the column the server happened to give each search attribute, random per
installation: on half the installations a count walked every completed request of the company.
STARTS_WITH is not an index lookup on SQLite, so the requester's index is the only candidate and
the count reads that requester's rows only. Servers with a real planner (PostgreSQL, MySQL,
Elasticsearch) choose the same index by themselves.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from domain.history import REJECTION_WINDOW
from domain.models import REJECTED_BY_SYSTEM, PurchaseStatus
from domain.review_rules import UserHistory
from domain.search_attributes import PURCHASE_OUTCOME
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
from entities.history_store import HistoryStore, ShardUnreadable

# Past this, the review goes on without waiting: a person decides (the review's whole budget is
# 5 minutes over 3 attempts, and a requester should not wait minutes for a fallback).
READ_TIMEOUT = timedelta(seconds=5)


class HistoryUnavailable(Exception):
    """History could not be read; the review then sends the request to a person."""


class UserHistorySource:
    def __init__(self, client: Client, store: HistoryStore) -> None:
        self._client = client
        self._store = store

    async def user_history(self, employee_id: str, *, now: datetime) -> UserHistory:
        try:
            async with asyncio.timeout(READ_TIMEOUT.total_seconds()):
                imported, own = await asyncio.gather(
                    self._store.summary(employee_id, now=now),
                    self.own_outcomes(employee_id, now=now),
                )
        except (RPCError, WorkflowQueryFailedError) as err:
            raise HistoryUnavailable(f"the history store did not answer: {err}") from err
        except ShardUnreadable as err:
            raise HistoryUnavailable(f"the history store could not be read: {err}") from err
        except TimeoutError as err:
            raise HistoryUnavailable(
                f"the history store did not answer within {READ_TIMEOUT.total_seconds():.0f} s"
            ) from err
        return UserHistory(
            previous_purchases=imported.previous_purchases + own.previous_purchases,
            rejected_last_30_days=imported.rejected_last_30_days + own.rejected_last_30_days,
        )

    async def own_outcomes(self, employee_id: str, *, now: datetime) -> UserHistory:
        """The requester's closed requests in this system: every completed one, and those a
        person rejected in the last 30 days (by close time)."""
        requester = (
            f"EmployeeId = {_quote(employee_id)}"
            f" AND WorkflowType STARTS_WITH {_quote(PURCHASE_WORKFLOW_TYPE)}"
        )
        window_start = (now - REJECTION_WINDOW).astimezone(UTC).isoformat()
        completed, rejected = await asyncio.gather(
            self._client.count_workflows(
                f"{requester} AND {PURCHASE_OUTCOME.name} STARTS_WITH "
                f"{_quote(PurchaseStatus.COMPLETED)}"
            ),
            self._client.count_workflows(
                f"{requester} AND {PURCHASE_OUTCOME.name} STARTS_WITH "
                f"{_quote(PurchaseStatus.REJECTED)}"
                f" AND {PURCHASE_OUTCOME.name} != {_quote(REJECTED_BY_SYSTEM)}"
                f" AND CloseTime > {_quote(window_start)}"
            ),
        )
        return UserHistory(previous_purchases=completed.count, rejected_last_30_days=rejected.count)


def _quote(value: str) -> str:
    """A visibility-query string literal; employee ids come from our own directory, but a quote
    in one must still not change the query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
