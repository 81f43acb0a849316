"""The search attributes a purchase request is filed with, and reading them back.

Set in the start options (no workflow code, no patch): who asks, their department, and what the
review will judge besides their history — amount, catalog category and store — so the rules
backtest can re-decide past requests from visibility alone, without reading each history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from temporalio.api.common.v1 import Payload
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from domain.backtest import ReviewInputs
from domain.catalog import Catalog
from domain.models import Money, PurchaseRequest
from domain.product_validation import validate_product
from workflows.names import (
    DEPARTMENT,
    EMPLOYEE_ID,
    PRODUCT_CATEGORY,
    PRODUCT_VENDOR,
    PURCHASE_AMOUNT,
)


def start_attributes(request: PurchaseRequest, catalog: Catalog | None) -> TypedSearchAttributes:
    """Category and store only for a product the catalog knows (an invalid one is never
    reviewed); the worker validates again with its own copy of the catalog."""
    amount = request.amount
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(EMPLOYEE_ID, request.employee_id),
        SearchAttributePair(DEPARTMENT, request.department),
        SearchAttributePair(PURCHASE_AMOUNT, f"{amount.amount} {amount.currency}"),
    ]
    product = validate_product(request, catalog).product if catalog is not None else None
    if product is not None:
        pairs += [
            SearchAttributePair(PRODUCT_CATEGORY, product.category),
            SearchAttributePair(PRODUCT_VENDOR, product.vendor),
        ]
    return TypedSearchAttributes(pairs)


def review_inputs(keywords: Mapping[str, str]) -> ReviewInputs | None:
    """From a request's keyword search attributes by name. None when it was filed without them
    (older code, or a product the catalog did not know) or they do not read."""
    amount = parse_money(keywords.get(PURCHASE_AMOUNT.name))
    category, vendor = keywords.get(PRODUCT_CATEGORY.name), keywords.get(PRODUCT_VENDOR.name)
    if amount is None or category is None or vendor is None:
        return None
    return ReviewInputs(amount=amount, category=category, vendor=vendor)


def keyword_values(attributes: TypedSearchAttributes) -> dict[str, str]:
    return {pair.key.name: str(pair.value) for pair in attributes}


def raw_keyword_values(fields: Mapping[str, Payload]) -> dict[str, str]:
    """Keyword search attributes straight from a visibility listing's payloads (JSON text): for
    thousands of rows, without building each execution's typed attributes."""
    values: dict[str, str] = {}
    for name, payload in fields.items():
        try:
            value = json.loads(payload.data)
        except ValueError:
            continue
        if isinstance(value, list):  # a keyword may come as a one-element list
            value = value[0] if value else None
        if isinstance(value, str):
            values[name] = value
    return values


def parse_money(text: str | None) -> Money | None:
    number, _, currency = (text or "").partition(" ")
    try:
        return Money(amount=Decimal(number), currency=currency)
    except (InvalidOperation, ValueError):
        return None
