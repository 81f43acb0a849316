"""A worker process killed with SIGKILL in the middle of ordering: after a restart the request
completes and the store holds exactly one order."""

from __future__ import annotations

import os
import signal
import uuid
from decimal import Decimal
from pathlib import Path

from temporalio.api.enums.v1 import EventType, VersioningBehavior
from temporalio.testing import WorkflowEnvironment

from activities.orders_ledger import OrdersLedger
from appconfig.files import ReloadingFile, load_yaml_model
from bot.purchase_service import PurchaseService
from domain.catalog import Catalog
from domain.directory import Directory
from domain.models import PurchaseStatus, Stage
from domain.refusal import Refused
from tests.integration.processes import process_env, start_worker, stop, wait_until_polled
from tests.integration.world import make_settings, poll_until


async def test_worker_killed_mid_order_orders_exactly_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # A versioned worker process, as production runs it: the restarted process is the same
    # build, so the PINNED request carries on there.
    settings = make_settings(tmp_path, f"T{uuid.uuid4().hex[:6]}", None, versioned=True)
    address = dev_env.client.service_client.config.target_host
    # The stand-in store confirms 2 s after taking an order: the window for the kill.
    env = process_env(settings, address, PURCHASEBOT_ORDER_CONFIRMATION_DELAY="2")
    service = PurchaseService(
        dev_env.client, ReloadingFile(settings.directory, Directory), task_queue=settings.task_queue
    )
    book = next(
        p
        for p in load_yaml_model(settings.catalog, Catalog).value.products
        if p.category == "books" and p.price < Decimal(100)
    )
    worker = start_worker(env)
    try:
        await wait_until_polled(dev_env.client, settings.task_queue)
        submitted = await service.submit(
            requester="UNICO", url=f"https://www.amazon.es/dp/{book.asin}", amount=str(book.price)
        )
        request_id = submitted.request.request_id

        async def waiting_for_approval() -> bool:
            try:
                return (await service.status(request_id)).stage is Stage.AWAITING_APPROVAL
            except Refused:
                return False

        await poll_until(waiting_for_approval, 20, "the request to wait for approval")
        await service.decide(request_id, user="UCARLOS", approve=True)

        ledger = OrdersLedger(settings.orders_db)

        async def order_taken() -> bool:
            return len(ledger.orders_for(request_id)) == 1

        await poll_until(order_taken, 20, "the store to take the order")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()

        worker = start_worker(env)
        result = await service.outcome(request_id, wait_seconds=60)

        assert result is not None and result.status is PurchaseStatus.COMPLETED
        [order] = ledger.orders_for(request_id)
        assert result.order is not None and result.order.order_id == order.order_id
        history = await dev_env.client.get_workflow_handle(submitted.workflow_id).fetch_history()
        attempts = [
            e.activity_task_started_event_attributes.attempt
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        ]
        assert max(attempts) >= 2, "the order was retried after the crash"
        behaviors = {
            e.workflow_task_completed_event_attributes.versioning_behavior
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        }
        assert behaviors == {VersioningBehavior.VERSIONING_BEHAVIOR_PINNED}
    finally:
        stop(worker)
