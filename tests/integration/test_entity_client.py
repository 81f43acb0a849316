"""The one way to talk to an entity (entities/client.py), on the real dev server: an Update
creates a missing entity in the same call (one client operation, no separate start), a refusal
arrives as `Refused` with the entity's reason, and a never-created entity reads as `missing`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.testing import WorkflowEnvironment

from bot.worker import build_control_worker
from domain.history import HistoryRecord
from domain.imported_history_models import (
    EmployeeRecordsInput,
    EmployeeRecordsResult,
    ImportedHistoryState,
    ImportHistoryInput,
    ImportHistoryResult,
)
from domain.models import Money, PurchaseStatus
from domain.refusal import Refused
from entities.client import query_entity, update_entity
from entities.imported_history import ImportedHistoryWorkflow

RECORDS = [
    HistoryRecord(
        employee_id=employee,
        date=datetime(2026, 10, day, tzinfo=UTC),
        amount=Money(amount=Decimal("39.90")),
        outcome=PurchaseStatus.COMPLETED,
    )
    for day, employee in [(1, "E001"), (2, "E001"), (3, "E002")]
]


class CountingInterceptor(Interceptor):
    """Records which client operations reach the server, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self.calls)


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, calls: list[str]) -> None:
        super().__init__(next)
        self._calls = calls

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        self._calls.append("start_workflow")
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        self._calls.append("start_workflow_update")
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        self._calls.append("update_with_start")
        return await super().start_update_with_start_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        self._calls.append("query")
        return await super().query_workflow(input)


@pytest_asyncio.fixture
async def counted(dev_env: WorkflowEnvironment) -> AsyncIterator[tuple[Client, list[str], str]]:
    counter = CountingInterceptor()
    config = dev_env.client.config()
    config["interceptors"] = [counter]
    client = Client(**config)
    task_queue = f"control-{uuid.uuid4()}"
    async with build_control_worker(dev_env.client, task_queue):
        yield client, counter.calls, task_queue


async def _import(
    client: Client, task_queue: str, workflow_id: str, records: list[HistoryRecord]
) -> ImportHistoryResult:
    return await update_entity(
        client,
        ImportedHistoryWorkflow.import_records,
        ImportHistoryInput(records=records, imported_by="test"),
        run=ImportedHistoryWorkflow.run,
        initial=ImportedHistoryState(),
        workflow_id=workflow_id,
        task_queue=task_queue,
    )


async def test_an_update_creates_the_entity_in_one_operation(
    counted: tuple[Client, list[str], str],
) -> None:
    client, calls, task_queue = counted
    workflow_id = f"imported-{uuid.uuid4()}"

    first = await _import(client, task_queue, workflow_id, RECORDS)
    again = await _import(client, task_queue, workflow_id, RECORDS[:2])

    assert first == ImportHistoryResult(added=3, already_present=0, total=3)
    assert again == ImportHistoryResult(added=0, already_present=2, total=3)
    assert calls == ["update_with_start", "update_with_start"]
    description = await client.get_workflow_handle(workflow_id).describe()
    assert description.workflow_type == "ImportedHistoryWorkflow"


async def test_a_refusal_carries_the_entitys_reason(
    counted: tuple[Client, list[str], str],
) -> None:
    client, _, task_queue = counted
    with pytest.raises(Refused, match=r"^The import holds no records\.$") as refused:
        await _import(client, task_queue, f"imported-{uuid.uuid4()}", [])
    assert refused.value.reason == "The import holds no records."


async def test_a_never_created_entity_reads_as_missing(
    counted: tuple[Client, list[str], str],
) -> None:
    client, _, task_queue = counted
    workflow_id = f"imported-{uuid.uuid4()}"
    nobody = EmployeeRecordsResult(records=[])

    async def records_of(employee: str) -> EmployeeRecordsResult:
        return await query_entity(
            client,
            workflow_id,
            ImportedHistoryWorkflow.employee_records,
            args=[EmployeeRecordsInput(employee_id=employee)],
            missing=nobody,
        )

    assert await records_of("E001") is nobody
    await _import(client, task_queue, workflow_id, RECORDS)
    assert (await records_of("E001")).records == RECORDS[:2]
