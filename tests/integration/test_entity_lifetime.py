"""Every entity continues as new when its history grows, and carries its whole state across.

A dev server of its own suggests continue-as-new after 40 events (production: thousands), so a
few dozen changes take each entity through it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bot.flags_admin import FlagsAdmin
from bot.ops_audit import OpsAuditLog
from bot.worker import build_control_worker
from domain.feature_flags import SetFlagInput
from domain.history import HistoryRecord
from domain.history_shards import ShardRecord, shard_of
from domain.models import Money, PurchaseStatus
from entities.history_store import HistoryStore
from tests.conftest import _binary
from tests.integration.world import poll_until

SUGGEST_AFTER_EVENTS = 40
CHANGES = 30  # each change adds at least 2 events: well past the suggestion


@pytest_asyncio.fixture(scope="module")
async def short_history_client() -> AsyncIterator[Client]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}",
        ],
    )
    async with env:
        yield env.client


async def _runs_of(client: Client, workflow_id: str) -> int:
    query = f"WorkflowId = '{workflow_id}'"
    return (await client.count_workflows(query)).count


async def _changed_until_continued(
    client: Client, workflow_id: str, change: Callable[[int], Awaitable[object]]
) -> None:
    for n in range(CHANGES):
        await change(n)

    async def continued() -> bool:
        return await _runs_of(client, workflow_id) >= 2

    await poll_until(continued, 20, f"{workflow_id} to continue as new")


async def test_entities_continue_as_new_with_their_state(short_history_client: Client) -> None:
    client = short_history_client
    task_queue = f"control-{uuid.uuid4()}"
    suffix = uuid.uuid4().hex[:8]
    async with build_control_worker(client, task_queue):
        flags = FlagsAdmin(client, task_queue, f"flags-{suffix}")

        async def set_flag(n: int) -> object:
            return await flags.set(
                SetFlagInput(
                    flag="automated-review-enabled",
                    scope="user",
                    key=f"U{n:04d}",
                    value="on",
                    actor="UOPS",
                )
            )

        await _changed_until_continued(client, f"flags-{suffix}", set_flag)
        snapshot = await flags.snapshot()
        assert len(snapshot.flags.root["automated_review_enabled"].users) == CHANGES
        assert len(snapshot.changes) == CHANGES

        audit = OpsAuditLog(client, task_queue, f"audit-{suffix}")

        async def record(n: int) -> None:
            await audit.record("UOPS", "test", f"entry {n}")

        await _changed_until_continued(client, f"audit-{suffix}", record)
        assert [e.detail for e in await audit.entries()] == [f"entry {n}" for n in range(CHANGES)]

        store = HistoryStore(client, task_queue, f"shard-{suffix}-")
        shard = shard_of("E001")

        async def import_one(n: int) -> object:
            record = HistoryRecord(
                employee_id="E001",
                date=datetime(2026, 1, 1, tzinfo=UTC).replace(day=1 + n % 28, month=1 + n // 28),
                amount=Money(amount=Decimal(10 + n)),
                outcome=PurchaseStatus.COMPLETED,
            )
            return await store.add(shard, [ShardRecord.of(record)], imported_by="test")

        await _changed_until_continued(client, store.workflow_id(shard), import_one)
        kept = await store.exact_summary("E001", now=datetime(2027, 1, 1, tzinfo=UTC))
        assert kept.previous_purchases == CHANGES
