"""When the requester's history cannot be read, the request goes to a person and nobody is
left guessing: the review says why (audit trail, the approver's message), the requester is
told, ops are alerted, and /rollout status's probe shows the store unreadable."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bot.history_health import probe_history
from domain.history_shards import shard_of
from domain.models import Stage
from entities.history_store import HistoryStore
from tests.integration.world import running_world


async def test_unreadable_history_sends_the_request_to_a_person_and_everyone_knows_why(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    prefix = f"history-gone-{uuid.uuid4().hex[:8]}-"
    async with running_world(client, tmp_path, history_id_prefix=prefix) as w:
        employee = f"{w.employee_prefix}E1001"
        # Alice's shard exists, but its stored state cannot be read (say, written by a build
        # whose state this one does not understand). Reads need no worker, so a shard is
        # unreadable only when its state is, or when the server does not answer.
        store = HistoryStore(client, f"test-gone-{uuid.uuid4().hex[:8]}", prefix)
        await client.start_workflow(
            "HistoryShardWorkflow",
            {"shard": "not a shard number"},
            id=store.workflow_id(shard_of(employee)),
            task_queue=f"test-nobody-{uuid.uuid4().hex[:8]}",
        )
        product = w.product(lambda p: p.category == "books" and p.price < Decimal(100))
        submitted = await w.service.submit(
            requester="UALICE", url=w.url(product), amount=str(product.price)
        )
        request_id = submitted.request.request_id

        await w.wait_for_stage(request_id, Stage.AWAITING_APPROVAL, within=30)

        status = await w.service.status(request_id)
        assert status.review is not None and not status.review.auto_approved
        assert "could not be read" in status.review.history_unavailable
        reviewed = [e for e in status.audit if e.action == "reviewed"]
        assert "Unable to verify user purchase history: the history store" in reviewed[0].detail
        messages = w.notifier.messages_for(request_id)
        told = [m for m in messages if m["kind"] == "review_fallback"]
        assert [m["recipient"] for m in told] == ["UALICE"]
        assert "could not read your purchase history" in told[0]["text"]
        assert any("Purchase history cannot be read" in a for a in w.notifier.ops_alerts())

        health = await probe_history(client, w.history)
        assert not health.readable and "could not be read" in health.detail
