"""When the requester's history cannot be read, the request goes to a person and nobody is
left guessing: the review says why (audit trail, the approver's message), the requester is
told, ops are alerted, and /rollout status's probe shows the store unreadable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bot.history_health import probe_history
from bot.worker import build_control_worker
from domain.history import HistoryRecord
from domain.history_shards import ShardRecord, shard_of
from domain.models import Money, PurchaseStatus, Stage
from entities.history_store import HistoryStore
from tests.integration.world import running_world


async def test_unreadable_history_sends_the_request_to_a_person_and_everyone_knows_why(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    prefix = f"history-gone-{uuid.uuid4().hex[:8]}-"
    async with running_world(client, tmp_path, history_id_prefix=prefix) as w:
        employee = f"{w.employee_prefix}E1001"
        # Alice's shard exists, but the workers that served it are gone.
        gone_queue = f"test-gone-{uuid.uuid4().hex[:8]}"
        async with build_control_worker(client, gone_queue):
            record = HistoryRecord(
                employee_id=employee,
                date=datetime(2026, 1, 2, tzinfo=UTC),
                amount=Money(amount=Decimal(10)),
                outcome=PurchaseStatus.COMPLETED,
            )
            await HistoryStore(client, gone_queue, prefix).add(
                shard_of(employee), [ShardRecord.of(record)], imported_by="test"
            )
        product = w.product(lambda p: p.category == "books" and p.price < Decimal(100))
        submitted = await w.service.submit(
            requester="UALICE", url=w.url(product), amount=str(product.price)
        )
        request_id = submitted.request.request_id

        await w.wait_for_stage(request_id, Stage.AWAITING_APPROVAL, within=30)

        status = await w.service.status(request_id)
        assert status.review is not None and not status.review.auto_approved
        assert "did not answer" in status.review.history_unavailable
        reviewed = [e for e in status.audit if e.action == "reviewed"]
        assert "Unable to verify user purchase history: the history store" in reviewed[0].detail
        messages = w.notifier.messages_for(request_id)
        told = [m for m in messages if m["kind"] == "review_fallback"]
        assert [m["recipient"] for m in told] == ["UALICE"]
        assert "could not read your purchase history" in told[0]["text"]
        assert any("Purchase history cannot be read" in a for a in w.notifier.ops_alerts())

        health = await probe_history(client, w.history)
        assert not health.readable and "did not answer" in health.detail
