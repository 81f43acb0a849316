"""The backtest of a change to the HISTORY criteria, read from a real dev server: each
requester's history as of each filing is rebuilt from visibility listings (not one count per
requester), and answers exactly what the per-requester counts answered, and what a person
works out by hand from the scenario below.

The past requests are seeded as `bench.backtest` makes them (started with the product's
search attributes and how they ended, on a queue no worker polls) but each is terminated at
once, before the next is filed, so their order in time is the scenario's. The period ends 30
days after the scenario's midpoint, so the first phase lies before the period (its completed
requests are history the period's listing does not hold) and the second inside it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from appconfig.files import load_yaml_model
from bot.rules_backtest import RulesBacktest
from domain.backtest import BACKTEST_PERIOD, BacktestFigures, RequesterBaseline, backtest
from domain.review_rules import RulesFile
from domain.rules_versions import rules_with
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE, purchase_workflow_id, purchases_query
from domain.workflow_ids import visibility_string as quoted
from entities.history_store import NO_HISTORY, HistoryStore
from tests.integration.world import REPO, poll_until
from workflows.names import (
    DEPARTMENT,
    EMPLOYEE_ID,
    PRODUCT_CATEGORY,
    PRODUCT_VENDOR,
    PURCHASE_AMOUNT,
    PURCHASE_OUTCOME,
    REVIEW_PATH,
)

DEPARTMENTS = ("IT", "Marketing", "Finance", "Sales")
FIELD = "user_history.min_previous_purchases"  # IT: 5 in rules.yaml


@dataclass(frozen=True)
class Filed:
    """One past request: 39.90 EUR of electronics from amazon.es, which IT's rules auto-approve
    exactly when the history passes."""

    who: str
    outcome: str = "completed"
    path: str = "manual"
    department: str = "IT"
    elsewhere: bool = False  # on another installation's task queue
    category: str = "electronics"


# Before the period: A 3 completed, B 1, C 1, D 5, E 4 and one a manager rejected.
BEFORE = [
    *[Filed("A")] * 3,
    Filed("B"),
    Filed("C"),
    *[Filed("D")] * 5,
    *[Filed("E")] * 4,
    Filed("E", outcome="rejected"),
]
# In the period, in this order; what IT's rules say with 5 previous purchases needed, and 3.
DURING = [
    Filed("A", outcome="rejected"),  # 3 completed: 5 no, 3 yes (a manager rejected it)
    Filed("A"),  # 3, and a rejection in 30 days: no and no
    Filed("A"),  # 4, the rejection: no and no
    Filed("B"),  # 1: no and no
    Filed("B"),  # 2: no and no
    Filed("B"),  # 3: no, yes
    *[Filed("C", department="Marketing")] * 2,  # not IT's: not backtested, but history
    Filed("C"),  # 1 + 2 in Marketing: no, yes
    *[Filed("F", elsewhere=True)] * 3,  # another queue: not backtested, but history
    Filed("F"),  # 3 on the other queue: no, yes
    Filed("D", path="auto_approved"),  # 5: yes and yes (min 7: no)
    Filed("E"),  # 4 and a rejection before the period: no and no
    Filed("G", path="auto_approved"),  # 0, yet auto-approved then: not reproduced
    Filed("H", outcome="invalid", path="not_reviewed", category=""),  # never reviewed
]


async def file(client: Client, queue: str, prefix: str, past: Filed) -> str:
    request_id = f"PR-BH{uuid.uuid4().hex[:10].upper()}"
    attributes = [
        SearchAttributePair(EMPLOYEE_ID, prefix + past.who),
        SearchAttributePair(DEPARTMENT, past.department),
        SearchAttributePair(PURCHASE_AMOUNT, "39.90 EUR"),
        SearchAttributePair(PURCHASE_OUTCOME, past.outcome),
        SearchAttributePair(REVIEW_PATH, past.path),
    ]
    if past.category:
        attributes += [
            SearchAttributePair(PRODUCT_CATEGORY, past.category),
            SearchAttributePair(PRODUCT_VENDOR, "amazon.es"),
        ]
    handle = await client.start_workflow(
        PURCHASE_WORKFLOW_TYPE,
        "a past request",
        id=purchase_workflow_id(request_id),
        task_queue=f"{queue}-elsewhere" if past.elsewhere else queue,  # no worker polls it
        search_attributes=TypedSearchAttributes(attributes),
    )
    await handle.terminate("closed at once: the next one is filed after it")
    return request_id


async def old_way(
    client: Client, source: RulesBacktest, current: RulesFile, proposed: RulesFile, now: datetime
) -> BacktestFigures:
    """What the backtest answered before: one visibility count per requester."""
    since = now - BACKTEST_PERIOD
    listed = await source.past_requests(since, ["IT"])
    baselines = {}
    for employee in {r.employee_id for r in listed}:
        condition = f"EmployeeId = {quoted(employee)} AND PurchaseOutcome = 'completed'"
        completed = (await client.count_workflows(purchases_query(condition))).count
        baselines[employee] = RequesterBaseline(completed_now=completed, imported=NO_HISTORY)
    return backtest(
        listed,
        current=current,
        proposed=proposed,
        baselines=baselines,
        since=since,
        until=now,
        departments=["IT"],
    )


async def test_a_history_criteria_backtest_answers_as_the_per_requester_counts_did(
    dev_env: WorkflowEnvironment,
) -> None:
    client, tag = dev_env.client, uuid.uuid4().hex[:8]
    queue, prefix = f"backtest-history-{tag}", f"BH{tag}-"
    for past in BEFORE:
        await file(client, queue, prefix, past)
    midpoint = datetime.now(UTC)  # every request above closed before it, the rest filed after
    ids = [await file(client, queue, prefix, past) for past in DURING]

    async def all_closed_in_visibility() -> bool:
        queues = f"{quoted(queue)}, {quoted(queue + '-elsewhere')}"
        query = f"TaskQueue IN ({queues}) AND ExecutionStatus = 'Terminated'"
        return (await client.count_workflows(query)).count == len(BEFORE) + len(DURING)

    await poll_until(all_closed_in_visibility, 10, "the seeded requests closed in visibility")
    shipped = load_yaml_model(REPO / "rules.yaml", RulesFile).value
    store = HistoryStore(client, f"{queue}-control", id_prefix=f"{queue}-shard-")
    source, now = RulesBacktest(client, queue, store), midpoint + BACKTEST_PERIOD

    async def run(value: str) -> BacktestFigures:
        proposed = rules_with(shipped, "IT", FIELD, value)
        figures = await source.run(shipped, proposed, departments=DEPARTMENTS, now=now)
        assert figures == await old_way(client, source, shipped, proposed, now)
        return figures

    lower = await run("3")
    assert lower.departments == ["IT"]
    assert (lower.filed, lower.not_reviewed, lower.without_inputs) == (12, 1, 0)
    assert (lower.compared, lower.not_reproduced, lower.actual_auto_approved) == (10, 1, 1)
    assert (lower.more, lower.fewer, lower.would_auto_approve) == (4, 0, 5)
    assert lower.more_rejected_by_manager == 1 and lower.rejected_examples == [ids[0]]

    higher = await run("7")
    assert (higher.compared, higher.not_reproduced, higher.actual_auto_approved) == (10, 1, 1)
    assert (higher.more, higher.fewer, higher.would_auto_approve) == (0, 1, 0)
    assert higher.more_rejected_by_manager == 0 and higher.rejected_examples == []
