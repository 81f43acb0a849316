"""Activity: place the order for an approved request."""

from __future__ import annotations

import asyncio
import contextlib

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.orders_ledger import OrderRefused, OrdersLedger
from domain.models import PlaceOrderInput, PlaceOrderResult

HEARTBEAT_EVERY_SECONDS = 1.0


class OrderingActivities:
    def __init__(self, ledger: OrdersLedger) -> None:
        self._ledger = ledger

    @activity.defn
    async def place_order(self, input: PlaceOrderInput) -> PlaceOrderResult:
        # Heartbeat while the store works, so a worker that dies mid-order is noticed within
        # the heartbeat timeout and another attempt (same idempotency key) takes over.
        beating = asyncio.create_task(_heartbeat_forever())
        try:
            order = await self._ledger.place(input.request, input.product)
        except OrderRefused as err:
            raise ApplicationError(str(err), type="OrderRefused", non_retryable=True) from err
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating
        activity.logger.info("order %s for request %s", order.order_id, order.request_id)
        return PlaceOrderResult(
            order_id=order.order_id,
            idempotency_key=order.idempotency_key,
            total=order.total,
            placed_at=order.placed_at,
        )


async def _heartbeat_forever() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY_SECONDS)
