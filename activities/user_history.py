"""Where a requester's purchase history comes from, for the automated review.

Two sources, both held by Temporal so any worker on any machine sees the same answer:
- this system's own outcomes: closed PurchaseApprovalWorkflows in visibility, by the
  `EmployeeId` and `PurchaseOutcome` search attributes;
- history imported from before (`purchasebot history import`), held by the history shards
  (`entities.history_store`): one query to the requester's shard.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from domain.history import REJECTION_WINDOW
from domain.review_rules import UserHistory
from domain.workflow_ids import purchases_query
from entities.history_store import HistoryStore

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
                imported, completed, rejected = await asyncio.gather(
                    self._store.summary(employee_id, now=now),
                    self._count(employee_id, "completed"),
                    self._count(employee_id, "rejected", closed_after=now - REJECTION_WINDOW),
                )
        except (RPCError, WorkflowQueryFailedError) as err:
            raise HistoryUnavailable(f"the history store did not answer: {err}") from err
        except TimeoutError as err:
            raise HistoryUnavailable(
                f"the history store did not answer within {READ_TIMEOUT.total_seconds():.0f} s"
            ) from err
        return UserHistory(
            previous_purchases=imported.previous_purchases + completed,
            rejected_last_30_days=imported.rejected_last_30_days + rejected,
        )

    async def _count(
        self, employee_id: str, outcome: str, closed_after: datetime | None = None
    ) -> int:
        query = purchases_query(
            f"EmployeeId = {_quote(employee_id)} AND PurchaseOutcome = '{outcome}'"
        )
        if closed_after is not None:
            query += f" AND CloseTime > '{closed_after.isoformat()}'"
        return (await self._client.count_workflows(query)).count


def _quote(value: str) -> str:
    """A visibility-query string literal; employee ids come from our own directory, but a quote
    in one must still not change the query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
