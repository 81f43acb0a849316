"""The orders ledger: where approved purchases are ordered. It stands in for Amazon's ordering
API (the outside world), in SQLite via sqlite-utils.

Every order carries an idempotency key derived from the request, and the key is UNIQUE: an
activity retried after a crash, or re-run, gets the order that already exists instead of a
second one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlite_utils

from domain.models import Money, ProductInfo, PurchaseRequest


class OrderRefused(Exception):
    """The store will not take this order; retrying does not help."""


@dataclass(frozen=True)
class Order:
    order_id: str
    idempotency_key: str
    request_id: str
    asin: str
    quantity: int
    total: Money
    placed_at: datetime


def idempotency_key(request: PurchaseRequest, product: ProductInfo) -> str:
    return f"{request.request_id}:{product.asin}:{request.quantity}"


class OrdersLedger:
    def __init__(
        self, path: Path, *, confirmation_delay: float = 0.0, refuse_orders: bool = False
    ) -> None:
        """`confirmation_delay` imitates a slow store answering after it has taken the order:
        the window in which a crash tests idempotency. `refuse_orders` imitates a store that
        says no to everything (fault injection)."""
        self._refuse_orders = refuse_orders
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=10)
        self._db = sqlite_utils.Database(conn)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._confirmation_delay = confirmation_delay
        self._db.table("orders").create(
            {
                "order_id": str,
                "idempotency_key": str,
                "request_id": str,
                "asin": str,
                "title": str,
                "vendor": str,
                "quantity": int,
                "total": str,  # Decimal as text: SQLite REAL would lose cents
                "currency": str,
                "placed_at": str,
            },
            pk="order_id",
            if_not_exists=True,
        )
        self._db.table("orders").create_index(["idempotency_key"], unique=True, if_not_exists=True)

    async def place(self, request: PurchaseRequest, product: ProductInfo) -> Order:
        if self._refuse_orders:
            raise OrderRefused("the store refused the order (fault injection: fail_orders)")
        key = idempotency_key(request, product)
        total = product.unit_price.amount * request.quantity
        self._db.execute(
            "INSERT INTO orders (order_id, idempotency_key, request_id, asin, title, vendor,"
            " quantity, total, currency, placed_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(idempotency_key) DO NOTHING",
            [
                f"ORD-{uuid.uuid4().hex[:12].upper()}",
                key,
                request.request_id,
                product.asin,
                product.title,
                product.vendor,
                request.quantity,
                str(total),
                product.unit_price.currency,
                datetime.now(UTC).isoformat(),
            ],
        )
        if self._confirmation_delay:
            await asyncio.sleep(self._confirmation_delay)
        order = self.find(key)
        assert order is not None
        return order

    def find(self, key: str) -> Order | None:
        rows = list(self._db.table("orders").rows_where("idempotency_key = ?", [key]))
        return _order(rows[0]) if rows else None

    def orders_for(self, request_id: str) -> list[Order]:
        return [
            _order(r) for r in self._db.table("orders").rows_where("request_id = ?", [request_id])
        ]


def _order(row: dict[str, object]) -> Order:
    return Order(
        order_id=str(row["order_id"]),
        idempotency_key=str(row["idempotency_key"]),
        request_id=str(row["request_id"]),
        asin=str(row["asin"]),
        quantity=int(str(row["quantity"])),
        total=Money(amount=Decimal(str(row["total"])), currency=str(row["currency"])),
        placed_at=datetime.fromisoformat(str(row["placed_at"])),
    )
