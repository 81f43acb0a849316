"""Where a requester's purchase history comes from, for the automated review.

Two sources, both held by Temporal so any worker on any machine sees the same answer:
- this system's own outcomes: the requester's PurchaseApprovalWorkflows in visibility, by the
  `EmployeeId` and `PurchaseOutcome` search attributes;
- history imported from before (`purchasebot history import`), held by the history shards
  (`entities.history_store`): one read of the requester's shard.

The own outcomes are ONE visibility list filtered by `EmployeeId` alone, counted here. Two
counts (`EmployeeId = X AND PurchaseOutcome = 'completed'`) put two indexed equalities in the
query; the dev server's SQLite visibility has no statistics and breaks the tie by the column the
server happened to give each search attribute (random per installation): on half the
installations it walked every completed request of the company (a review's count grew with the
company; `python -m bench.history_scale --closed N` measures it). With one equality the
requester's index is the only candidate, and the cost follows that requester's own requests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from domain.history import REJECTION_WINDOW
from domain.models import PurchaseStatus
from domain.review_rules import UserHistory
from domain.search_attributes import PURCHASE_OUTCOME
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
from entities.history_store import HistoryStore, ShardUnreadable

# Past this, the review goes on without waiting: a person decides (the review's whole budget is
# 5 minutes over 3 attempts, and a requester should not wait minutes for a fallback).
READ_TIMEOUT = timedelta(seconds=5)
# One page holds the requests of nearly every requester; more pages are read when needed.
OWN_REQUESTS_PAGE = 1000


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
        completed = rejected = 0
        window_start = now - REJECTION_WINDOW
        async for found in self._client.list_workflows(
            f"EmployeeId = {_quote(employee_id)}", page_size=OWN_REQUESTS_PAGE
        ):
            if found.workflow_type != PURCHASE_WORKFLOW_TYPE:
                continue
            outcome = found.typed_search_attributes.get(PURCHASE_OUTCOME)
            if outcome == PurchaseStatus.COMPLETED:
                completed += 1
            elif outcome == PurchaseStatus.REJECTED and (
                found.close_time is not None and found.close_time > window_start
            ):
                rejected += 1
        return UserHistory(previous_purchases=completed, rejected_last_30_days=rejected)


def _quote(value: str) -> str:
    """A visibility-query string literal; employee ids come from our own directory, but a quote
    in one must still not change the query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
