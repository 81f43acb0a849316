"""Closed purchase requests in bulk, as the review's own-outcome counts see them.

The counts (`UserHistorySource.own_outcomes`) read one thing: the rows of the server's
visibility store for `EmployeeId = X`. Producing 100,000 closed requests through the server
(a start each, closed by the server) ran at 20-28/s on this machine under load: over an hour.
So one real closed request is started through the API (type `PurchaseApprovalWorkflow`, its
`EmployeeId` and `PurchaseOutcome` search attributes, closed by the server), the row the server
wrote for it in the dev server's SQLite visibility table is read back, and copies of that row
are inserted with their own workflow id, run id, times, employee and outcome: the same columns,
the same search-attribute mapping (the installation's own `KeywordNN` columns), the same
indexes. The review's and the server's visibility counts see them exactly as real requests
(checked: the server's own count of closed requests of the type grows by as many). They have
no history on the server: nothing but visibility readers can use them, and only the own-outcome
reads are measured on them. Inserted a few thousand rows per transaction, so the server's own
writes to the same file wait milliseconds at most.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import time
import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from workflows.names import EMPLOYEE_ID, PURCHASE_OUTCOME

TEMPLATE_ID = "bench-template-closed"
ROWS_PER_TRANSACTION = 2_000
# Closed over the last 90 days: about a third of the rejections fall in the review's 30 days.
SPREAD_DAYS = 90
# The columns the server writes; the generated ones (KeywordNN...) follow from search_attributes.
COPIED = (
    "namespace_id", "_version", "encoding", "task_queue", "memo", "history_length",
    "history_size_bytes", "execution_duration", "state_transition_count",
)  # fmt: skip


async def closed_template(client: Client, db_file: Path) -> dict[str, object]:
    """The visibility row of one real request closed by the server (started once)."""
    query = f"WorkflowId = '{TEMPLATE_ID}' AND ExecutionStatus != 'Running'"
    if not (await client.count_workflows(query)).count:
        await client.start_workflow(
            "PurchaseApprovalWorkflow",
            id=TEMPLATE_ID,
            task_queue="bench-no-worker",
            execution_timeout=timedelta(seconds=1),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(EMPLOYEE_ID, "bench-template"),
                    SearchAttributePair(PURCHASE_OUTCOME, "completed"),
                ]
            ),
        )
        deadline = time.monotonic() + 60
        while not (await client.count_workflows(query)).count:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not close the template request in 60 s")
            await asyncio.sleep(0.5)
    with closing(sqlite3.connect(db_file, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute(
            "SELECT * FROM executions_visibility WHERE workflow_id = ?", (TEMPLATE_ID,)
        ).fetchone()
    if row is None:
        raise RuntimeError("the template request is not in the server's visibility table")
    return dict(row)


def keyword_columns(template: dict[str, object]) -> tuple[str, str]:
    """Which of the installation's KeywordNN columns hold EmployeeId and PurchaseOutcome."""
    attributes = json.loads(str(template["search_attributes"]))
    by_value = {value: key for key, value in attributes.items()}
    return by_value["bench-template"], by_value["completed"]


def insert_closed_requests(
    db_file: Path,
    template: dict[str, object],
    first: int,
    count: int,
    employees: int,
    requester: str | None = None,
) -> None:
    """Requests `bench-closed-<first>` ... of employees E000000... (or all of `requester`),
    ~10 % rejected."""
    employee_column, outcome_column = keyword_columns(template)
    rng = random.Random(11 + first)
    now = datetime.now(UTC)
    columns = (
        *COPIED, "run_id", "workflow_id", "root_workflow_id", "root_run_id",
        "workflow_type_name", "status", "start_time", "execution_time", "close_time",
        "search_attributes",
    )  # fmt: skip
    sql = (
        f"INSERT INTO executions_visibility ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    copied = tuple(template[c] for c in COPIED)
    with closing(sqlite3.connect(db_file, timeout=30)) as db:
        db.execute("PRAGMA busy_timeout = 30000")
        for start in range(first, first + count, ROWS_PER_TRANSACTION):
            rows = []
            for n in range(start, min(start + ROWS_PER_TRANSACTION, first + count)):
                run_id, workflow_id = str(uuid.uuid4()), f"bench-closed-{n}"
                closed = now - timedelta(seconds=rng.uniform(60, SPREAD_DAYS * 86_400))
                started = closed - timedelta(minutes=rng.uniform(1, 600))
                outcome = "rejected" if rng.random() < 0.1 else "completed"
                employee = requester or f"E{n % employees:06d}"
                attributes = {employee_column: employee, outcome_column: outcome}
                rows.append(
                    (
                        *copied, run_id, workflow_id, workflow_id, run_id,
                        "PurchaseApprovalWorkflow", 2,  # WORKFLOW_EXECUTION_STATUS_COMPLETED
                        _timestamp(started), _timestamp(started), _timestamp(closed),
                        json.dumps(attributes),
                    )
                )  # fmt: skip
            db.executemany(sql, rows)
            db.commit()


def _timestamp(moment: datetime) -> str:
    """As the server writes them: '2026-12-01 21:54:42.093471+00:00'."""
    return moment.astimezone(UTC).isoformat(sep=" ", timespec="microseconds")
