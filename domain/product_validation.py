"""Checking a purchase request against the catalog: is it a product we buy, from that store,
and does the amount match the price?

Pure: the result is a `ValidationResult` whose `reason` is written for the requester.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from domain.amazon_urls import InvalidProductUrl, parse_amazon_url
from domain.catalog import Catalog
from domain.models import Money, ProductInfo, PurchaseRequest, ValidationResult

# How far the amount may exceed price x quantity. Some headroom absorbs small price changes
# between the catalog update and the order; beyond 10% the amount is most likely a typo (an
# extra digit), and the manager would be asked to approve more money than the purchase needs.
MAX_OVERPAYMENT = Decimal("0.10")

_CENT = Decimal("0.01")


def validate_product(request: PurchaseRequest, catalog: Catalog) -> ValidationResult:
    try:
        ref = parse_amazon_url(request.product_url)
    except InvalidProductUrl as err:
        return _invalid(err.message)

    product = catalog.find(ref.asin)
    if product is None:
        return _invalid(
            f"Product {ref.asin} is not in the company catalog (catalog.yaml), so it cannot be "
            "bought through this bot. Ask ops to add it, or choose a catalog product."
        )

    if ref.marketplace not in product.marketplaces:
        return _invalid(
            f"'{product.title}' ({product.asin}) is not bought from {ref.marketplace}. Use a "
            f"link from {' or '.join(product.marketplaces)}."
        )

    if request.quantity < 1:
        return _invalid(f"Quantity {request.quantity} is not valid; order at least 1.")

    unit = product.unit_price
    amount = request.amount
    if amount.currency != unit.currency:
        return _invalid(
            f"The amount is in {amount.currency} but '{product.title}' is priced in "
            f"{unit.currency}. Enter the amount in {unit.currency}."
        )

    expected = Money(amount=unit.amount * request.quantity, currency=unit.currency)
    breakdown = f"{request.quantity} x {unit} = {expected}"
    if amount.amount < expected.amount:
        return _invalid(
            f"Amount {amount} does not cover {breakdown}. Enter at least {expected}; the "
            "manager approves the amount, so it must pay for the whole order."
        )
    ceiling = expected.amount * (1 + MAX_OVERPAYMENT)
    if amount.amount > ceiling:
        # Rounded down so that the amount we suggest is itself accepted.
        shown = Money(amount=ceiling.quantize(_CENT, rounding=ROUND_FLOOR), currency=unit.currency)
        return _invalid(
            f"Amount {amount} is more than {MAX_OVERPAYMENT:.0%} above {breakdown}. Check for a "
            f"typo: enter between {expected} and {shown}."
        )

    return ValidationResult(
        valid=True,
        product=ProductInfo(
            asin=product.asin,
            title=product.title,
            category=product.category,
            unit_price=unit,
            vendor=ref.marketplace,
            url=ref.canonical_url,
        ),
    )


def _invalid(reason: str) -> ValidationResult:
    return ValidationResult(valid=False, reason=reason)
