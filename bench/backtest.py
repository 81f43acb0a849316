"""Bench: a 30-day rules backtest over 10,000 past requests (target <= 3 s), against a floor.

Its own embedded dev server (SQLite file, as `make run`). The past requests are produced first:
10,000 `PurchaseApprovalWorkflow` executions on the bench's task queue, started with the
product's own start search attributes (`bot.request_attributes.start_attributes`: employee,
department, amount, category, store) by 1,000 employees of four departments buying catalog
products (1-3 of each; 2 % with a link the catalog does not know: never reviewed). How each
one ended is decided as the product would: the shipped rules' review with the employee's
history so far (their earlier requests in this run; no imported history) auto-approves or
not; a person then approved 75 %, rejected 17 %, let 4 % time out and 4 % were cancelled.
A stub of the workflow type (bench/backtest_stub.py) sets `PurchaseOutcome` and `ReviewPath`
as the real workflow does at close, and completes; visibility then holds exactly what it holds
for real closed requests. All were filed within the last minutes, so all are in the period.

Measured, in alternating rounds: the backtest as `PUT /api/rules/IT?dry_run=true` and the
`/rules set` modal run it (`bot.rules_backtest.RulesBacktest.run`, the change `IT max_amount
1000 -> 800`): one visibility listing of the period's requests, one listing of the history
shards, then per requester whose verdict depends on their history one visibility count (and a
query to their shard if it exists: none does here, nothing was imported), then the arithmetic.
The floor: the same visibility listing alone, rows iterated and nothing else — what any
backtest reading visibility must pay.

    .venv/bin/python -m bench.backtest [--requests 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from appconfig.files import load_yaml_model
from bench.backtest_stub import ClosedAs, PastRequestWorkflow
from bench.support import REPO, dev_server
from bot.request_attributes import start_attributes
from bot.rules_backtest import RulesBacktest, listing_query
from bot.temporal_client import connect
from domain.backtest import backtest_period
from domain.catalog import Catalog
from domain.models import Money, PurchaseRequest
from domain.review_rules import RulesFile, UserHistory, evaluate
from domain.rules_versions import rules_with
from domain.workflow_ids import purchase_workflow_id
from entities.history_store import HistoryStore

TARGET_SECONDS = 3.0
EMPLOYEES = 1000
DEPARTMENTS = ("IT", "Marketing", "Finance", "Sales")
INVALID_SHARE = 0.02
# What a person did with a request the review sent them (the rest of 1.0: cancelled).
PERSON = (("completed", "manual", 0.75), ("rejected", "manual", 0.17))
TIMED_OUT = ("rejected_by_system", "manual", 0.04)
STARTS_IN_FLIGHT = 64


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def past_requests(
    count: int, catalog: Catalog, rules: RulesFile, seed: int = 7
) -> list[tuple[PurchaseRequest, ClosedAs]]:
    """Requests in filing order and how each ended, decided with the requester's history so far
    (the review's own criterion), so the backtest re-decides them as they happened."""
    rng = random.Random(seed)
    products = list(catalog.products)
    completed: Counter[str] = Counter()
    made: list[tuple[PurchaseRequest, ClosedAs]] = []
    for n in range(count):
        employee = f"BE{rng.randrange(EMPLOYEES):04d}"
        department = DEPARTMENTS[int(employee[2:]) % len(DEPARTMENTS)]
        product = rng.choice(products)
        quantity = rng.randint(1, 3)
        amount = Money(amount=product.price * quantity, currency=product.currency)
        invalid = rng.random() < INVALID_SHARE
        store = product.marketplaces[0]
        request = PurchaseRequest(
            request_id=f"PR-BT{n:06d}{uuid.uuid4().hex[:4].upper()}",
            requester=f"U{employee}",
            employee_id=employee,
            department=department,
            manager="UMANAGER",
            product_url=f"https://www.{store}/dp/{'B0INVALID0' if invalid else product.asin}",
            quantity=quantity,
            amount=amount,
        )
        if invalid:
            made.append((request, ClosedAs("invalid", "not_reviewed")))
            continue
        verdict = evaluate(
            amount=amount,
            category=product.category,
            vendor=store,
            department=department,
            history=UserHistory(previous_purchases=completed[employee], rejected_last_30_days=0),
            rules=rules.for_department(department),
        )
        if verdict.auto_approved:
            closed = ClosedAs("completed", "auto_approved")
        else:
            roll, closed = rng.random(), ClosedAs("cancelled", "manual")
            for outcome, path, share in (*PERSON, TIMED_OUT):
                if roll < share:
                    closed = ClosedAs(outcome, path)
                    break
                roll -= share
        completed[employee] += closed.outcome == "completed"
        made.append((request, closed))
    return made


async def produce(
    client: Client, queue: str, requests: list[tuple[PurchaseRequest, ClosedAs]], catalog: Catalog
) -> float:
    """Starts every request (the stub closes it at once); returns requests per second."""
    gate = asyncio.Semaphore(STARTS_IN_FLIGHT)

    async def start(request: PurchaseRequest, closed: ClosedAs) -> None:
        async with gate:
            await client.start_workflow(
                PastRequestWorkflow.run,
                closed,
                id=purchase_workflow_id(request.request_id),
                task_queue=queue,
                search_attributes=start_attributes(request, catalog),
            )

    began = time.monotonic()
    for first in range(0, len(requests), 1000):
        await asyncio.gather(*(start(r, c) for r, c in requests[first : first + 1000]))
        print(f"  started {min(first + 1000, len(requests))}", flush=True)
    query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Completed'"
    deadline = time.monotonic() + 600
    while (closed := (await client.count_workflows(query)).count) < len(requests):
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {closed} of {len(requests)} requests closed in 10 minutes")
        await asyncio.sleep(0.5)
    return len(requests) / (time.monotonic() - began)


async def floor(client: Client, queue: str) -> tuple[float, int]:
    since, _ = backtest_period(datetime.now(UTC))
    began = time.monotonic()
    rows = 0
    async for _ in client.list_workflows(listing_query(since, queue), page_size=1000):
        rows += 1
    return time.monotonic() - began, rows


async def main(count: int, rounds: int) -> None:
    catalog = load_yaml_model(REPO / "catalog.yaml", Catalog).value
    shipped = load_yaml_model(REPO / "rules.yaml", RulesFile).value
    proposed = rules_with(shipped, "IT", "max_amount", "800")
    print(f"load average at start: {_load()} ({os.cpu_count()} CPUs)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:
            server = await stack.enter_async_context(dev_server(Path(tmp)))
            client = await connect(server.address)
            queue = f"bench-backtest-{uuid.uuid4().hex[:6]}"
            worker = Worker(client, task_queue=queue, workflows=[PastRequestWorkflow])
            await stack.enter_async_context(worker)
            requests = past_requests(count, catalog, shipped)
            print(f"producing {count} past requests ({EMPLOYEES} employees)…", flush=True)
            rate = await produce(client, queue, requests, catalog)
            print(f"  {count} closed requests in visibility ({rate:.0f} per second)", flush=True)
            backtest = RulesBacktest(client, queue, HistoryStore(client, f"{queue}-control"))
            timings: dict[str, list[float]] = {"backtest": [], "floor": []}
            figures = None
            for number in range(rounds):
                kinds = ("backtest", "floor") if number % 2 == 0 else ("floor", "backtest")
                for kind in kinds:
                    began = time.monotonic()
                    if kind == "backtest":
                        figures = await backtest.run(shipped, proposed)
                    else:
                        _, rows = await floor(client, queue)
                    timings[kind].append(time.monotonic() - began)
                print(
                    f"round {number + 1}: backtest {timings['backtest'][-1] * 1000:.0f} ms, "
                    f"floor (listing {rows} rows) {timings['floor'][-1] * 1000:.0f} ms",
                    flush=True,
                )
            assert figures is not None
            median = statistics.median(timings["backtest"])
            verdict = "PASS" if max(timings["backtest"]) <= TARGET_SECONDS else "MISS"
            floor_median = statistics.median(timings["floor"])
            print(
                f"\nfigures (IT max_amount 1000 -> 800): filed {figures.filed}, compared "
                f"{figures.compared}, more {figures.more}, fewer {figures.fewer}, "
                f"more rejected by a manager {figures.more_rejected_by_manager}, not reproduced "
                f"{figures.not_reproduced}, not reviewed {figures.not_reviewed}"
            )
            print(
                f"30-day backtest over {figures.filed} requests ({rounds} rounds, load average "
                f"now {_load()}): median {median * 1000:.0f} ms, max "
                f"{max(timings['backtest']) * 1000:.0f} ms vs floor (the listing alone) median "
                f"{floor_median * 1000:.0f} ms: {median / floor_median:.2f}x; target <= "
                f"{TARGET_SECONDS:.0f} s: {verdict}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
