"""Every request's decision trail, for auditors: who did what, when and why, on which code path,
rules version and build. Read from Temporal: visibility finds the requests filed in the period,
each workflow's `status` query gives its own durable audit trail (replayed from its history by
a worker of its build), and visibility names the build it ran on."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable
from datetime import datetime
from typing import TextIO

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecution
from temporalio.common import SearchAttributeKey

from bot.insight.source import CONCURRENT_READS, period_query
from domain.models import AuditEntry, StatusResult
from workflows.purchase_approval import PurchaseApprovalWorkflow

FORMATS = ("csv", "jsonl")
DEPLOYMENT_VERSION = SearchAttributeKey.for_keyword("TemporalWorkerDeploymentVersion")


class DecisionTrail(BaseModel):
    request_id: str
    workflow_id: str
    build_id: str
    department: str
    requester: str
    filed_at: datetime | None
    stage: str
    entries: list[AuditEntry]


# One CSV row per audit entry, with its request's columns repeated.
CSV_COLUMNS = (
    "request_id",
    "workflow_id",
    "build_id",
    "department",
    "requester",
    "filed_at",
    "stage",
    "at",
    "actor",
    "action",
    "detail",
    "code_path",
    "rules_version",
)


async def decision_trails(
    client: Client, since: datetime, until: datetime, department: str | None = None
) -> list[DecisionTrail]:
    gate = asyncio.Semaphore(CONCURRENT_READS)

    async def read(execution: WorkflowExecution) -> DecisionTrail:
        async with gate:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            status = await handle.query(PurchaseApprovalWorkflow.status)
            return _trail(execution, status)

    executions = [e async for e in client.list_workflows(period_query(since, until, department))]
    trails = await asyncio.gather(*(read(e) for e in executions))
    return sorted(trails, key=lambda t: (t.filed_at is None, t.filed_at, t.request_id))


def _trail(execution: WorkflowExecution, status: StatusResult) -> DecisionTrail:
    # `<deployment>:<build>` as the server records it; unversioned workers leave it unset.
    version = execution.typed_search_attributes.get(DEPLOYMENT_VERSION) or ""
    request = status.request
    return DecisionTrail(
        request_id=status.request_id,
        workflow_id=execution.id,
        build_id=version.partition(":")[2],
        department=request.department,
        requester=request.requester,
        filed_at=request.requested_at or execution.start_time,
        stage=status.stage.value,
        entries=status.audit,
    )


def write_jsonl(trails: Iterable[DecisionTrail], out: TextIO) -> None:
    for trail in trails:
        out.write(trail.model_dump_json() + "\n")


def read_jsonl(text: str) -> list[DecisionTrail]:
    return [DecisionTrail.model_validate_json(line) for line in text.splitlines() if line]


def write_csv(trails: Iterable[DecisionTrail], out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for trail in trails:
        request = trail.model_dump(mode="json", exclude={"entries"})
        for entry in trail.entries:
            writer.writerow({**request, **entry.model_dump(mode="json")})


def read_csv(text: str) -> list[DecisionTrail]:
    """The trails of a CSV export (a request with no entries has no row, so it is not in it)."""
    trails: dict[str, DecisionTrail] = {}
    for row in csv.DictReader(text.splitlines()):
        entry = AuditEntry.model_validate(
            {k: row[k] or None if k == "code_path" else row[k] for k in AuditEntry.model_fields}
        )
        if row["request_id"] not in trails:
            fields: dict[str, object] = {
                k: row[k] for k in DecisionTrail.model_fields if k != "entries"
            }
            fields["filed_at"] = row["filed_at"] or None
            trails[row["request_id"]] = DecisionTrail.model_validate({**fields, "entries": []})
        trails[row["request_id"]].entries.append(entry)
    return list(trails.values())
