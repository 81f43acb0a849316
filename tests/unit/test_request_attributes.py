"""What a request is filed with in visibility reads back as the review's inputs exactly; every
custom search attribute is in the production guide (Temporal Cloud needs them created by hand)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from appconfig.files import load_yaml_model
from bot.request_attributes import keyword_values, parse_money, review_inputs, start_attributes
from domain.catalog import Catalog
from domain.models import Money, PurchaseRequest
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES, DEPARTMENT, EMPLOYEE_ID, PRODUCT_CATEGORY

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_yaml_model(ROOT / "catalog.yaml", Catalog).value


def request(url: str, amount: str) -> PurchaseRequest:
    return PurchaseRequest(
        request_id="PR-1",
        requester="UALICE",
        employee_id="E1001",
        department="IT",
        manager="UCARLOS",
        product_url=url,
        amount=Money(amount=Decimal(amount)),
        requested_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_a_catalog_product_is_filed_with_what_the_review_judges() -> None:
    filed = start_attributes(request("https://www.amazon.es/dp/1449373321", "39.90"), CATALOG)
    assert filed.get(EMPLOYEE_ID) == "E1001" and filed.get(DEPARTMENT) == "IT"
    inputs = review_inputs(keyword_values(filed))
    assert inputs is not None
    assert inputs.amount == Money(amount=Decimal("39.90"), currency="EUR")
    assert (inputs.category, inputs.vendor) == ("books", "amazon.es")


def test_an_unknown_product_or_no_catalog_gives_no_inputs() -> None:
    unknown = start_attributes(request("https://www.amazon.es/dp/B000000000", "5"), CATALOG)
    assert unknown.get(PRODUCT_CATEGORY) is None and review_inputs(keyword_values(unknown)) is None
    without = start_attributes(request("https://www.amazon.es/dp/1449373321", "39.90"), None)
    assert review_inputs(keyword_values(without)) is None and without.get(EMPLOYEE_ID) == "E1001"


def test_amounts_read_back_exactly_and_bad_text_is_none() -> None:
    assert parse_money("1199.005 EUR") == Money(amount=Decimal("1199.005"))
    assert parse_money("12 usd") == Money(amount=Decimal(12), currency="USD")
    assert all(parse_money(bad) is None for bad in (None, "", "x EUR", "12", "12 EURO"))


def test_every_custom_search_attribute_is_in_the_production_guide() -> None:
    guide = (ROOT / "README.md").read_text()
    start = guide.index("On Temporal Cloud the processes cannot register search attributes")
    paragraph = guide[start : guide.index("\n\n", start)]
    assert all(f"`{key.name}`" in paragraph for key in CUSTOM_SEARCH_ATTRIBUTES)
