"""Where a requester's purchase history comes from, for the automated review.

Two sources, both held by Temporal so any worker on any machine sees the same answer:
- this system's own outcomes: closed PurchaseApprovalWorkflows in visibility, by the
  `EmployeeId` and `PurchaseOutcome` search attributes;
- history imported from before (`purchasebot history import`), held by ImportedHistoryWorkflow.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from temporalio.client import Client
from temporalio.service import RPCError

from domain.history import HistoryRecord, summarize
from domain.imported_history_models import EmployeeRecordsInput, EmployeeRecordsResult
from domain.review_rules import UserHistory
from domain.workflow_ids import purchases_query
from entities.client import query_entity
from entities.imported_history import IMPORTED_HISTORY_WORKFLOW_ID, ImportedHistoryWorkflow

REJECTION_WINDOW = timedelta(days=30)
# Imports are rare; a short cache spares the entity workflow a query per request.
IMPORTED_CACHE_SECONDS = 5.0


class HistoryUnavailable(Exception):
    """History could not be read; the review then sends the request to a person."""


class UserHistorySource:
    def __init__(self, client: Client, imported_workflow_id: str = IMPORTED_HISTORY_WORKFLOW_ID):
        self._client = client
        self._imported_workflow_id = imported_workflow_id
        self._imported_cache: dict[str, tuple[float, list[HistoryRecord]]] = {}

    async def user_history(self, employee_id: str, *, now: datetime) -> UserHistory:
        try:
            imported, completed, rejected = await asyncio.gather(
                self._imported(employee_id),
                self._count(employee_id, "completed"),
                self._count(employee_id, "rejected", closed_after=now - REJECTION_WINDOW),
            )
        except RPCError as err:
            raise HistoryUnavailable(str(err)) from err
        before = summarize(imported, now=now)
        return UserHistory(
            previous_purchases=before.previous_purchases + completed,
            rejected_last_30_days=before.rejected_last_30_days + rejected,
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

    async def _imported(self, employee_id: str) -> list[HistoryRecord]:
        cached = self._imported_cache.get(employee_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        records = (
            await query_entity(
                self._client,
                self._imported_workflow_id,
                ImportedHistoryWorkflow.employee_records,
                args=[EmployeeRecordsInput(employee_id=employee_id)],
                missing=EmployeeRecordsResult(records=[]),  # nothing was ever imported
            )
        ).records
        self._imported_cache[employee_id] = (time.monotonic() + IMPORTED_CACHE_SECONDS, records)
        return records


def _quote(value: str) -> str:
    """A visibility-query string literal; employee ids come from our own directory, but a quote
    in one must still not change the query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
