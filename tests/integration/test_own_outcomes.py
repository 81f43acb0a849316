"""The review's own-outcome reads on the real dev server: a requester's closed requests are
counted by the server (two counts on EmployeeId), with the same rules as ever (every
completed request; a person's rejections in the last 30 days; a system rejection, another
requester or another workflow type counts for nothing)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from activities.user_history import UserHistorySource
from domain.review_rules import UserHistory
from entities.history_store import HistoryStore
from tests.integration.world import poll_until
from workflows.names import EMPLOYEE_ID, PURCHASE_OUTCOME


async def _closed(client: Client, workflow_type: str, employee: str, outcome: str) -> None:
    """A closed execution carrying the search attributes a finished request has."""
    handle = await client.start_workflow(
        workflow_type,
        id=f"test-own-{uuid.uuid4().hex[:8]}",
        task_queue=f"test-nobody-{uuid.uuid4().hex[:8]}",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(EMPLOYEE_ID, employee),
                SearchAttributePair(PURCHASE_OUTCOME, outcome),
            ]
        ),
    )
    await handle.terminate(reason="test: a closed request")


async def test_own_outcomes_count_a_persons_decisions_of_this_requester_only(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    employee = f"own-{uuid.uuid4().hex[:8]}"
    for workflow_type, who, outcome in [
        ("PurchaseApprovalWorkflow", employee, "completed"),
        ("PurchaseApprovalWorkflow", employee, "completed"),
        ("PurchaseApprovalWorkflow", employee, "rejected"),
        ("PurchaseApprovalWorkflow", employee, "rejected_by_system"),
        ("PurchaseApprovalWorkflow", employee, "invalid"),
        ("PurchaseApprovalWorkflow", f"{employee}-other", "completed"),
        ("SomeOtherWorkflow", employee, "completed"),
    ]:
        await _closed(client, workflow_type, who, outcome)
    source = UserHistorySource(client, HistoryStore(client, "test-unused"))
    now = datetime.now(UTC) + timedelta(seconds=1)

    async def all_visible() -> bool:
        seen = await source.own_outcomes(employee, now=now)
        return seen.previous_purchases + seen.rejected_last_30_days >= 3

    await poll_until(all_visible, within=10, what="the closed requests in visibility")
    assert await source.own_outcomes(employee, now=now) == UserHistory(
        previous_purchases=2, rejected_last_30_days=1
    )
    # The rejection closed just now: 31 days on it has left the window, the purchases stay.
    later = await source.own_outcomes(employee, now=now + timedelta(days=31))
    assert later == UserHistory(previous_purchases=2, rejected_last_30_days=0)
