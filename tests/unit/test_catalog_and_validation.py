from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from appconfig.files import ConfigFileError, load_yaml_model
from domain.catalog import Catalog, CatalogProduct
from domain.models import Money, ProductInfo, PurchaseRequest
from domain.product_validation import MAX_OVERPAYMENT, validate_product

REPO = Path(__file__).resolve().parents[2]


def _product(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "asin": "B000000001",
        "title": "Highlighters, pack of 10",
        "category": "office_supplies",
        "price": "12.99",
        "currency": "EUR",
        "marketplaces": ["amazon.es", "amazon.com"],
    }
    base.update(overrides)
    return base


CATALOG = Catalog.model_validate(
    {
        "products": [
            _product(),
            _product(
                asin="B0000000DE",
                title="Standing desk",
                category="furniture",
                price="459.99",
                marketplaces=["amazon.de"],
            ),
            _product(asin="B000000USD", title="US-only gadget", price="10", currency="USD"),
        ]
    }
)


def _request(
    url: str = "https://www.amazon.es/dp/B000000001",
    amount: str = "12.99",
    currency: str = "EUR",
    quantity: int = 1,
) -> PurchaseRequest:
    return PurchaseRequest(
        request_id="r1",
        requester="UALICE",
        employee_id="E1001",
        department="IT",
        manager="UCARLOS",
        product_url=url,
        quantity=quantity,
        amount=Money(amount=Decimal(amount), currency=currency),
    )


# --- catalog model ----------------------------------------------------------------------------


def test_find_normalises_the_asin() -> None:
    found = CATALOG.find(" b000000001 ")
    assert found is not None
    assert found.title == "Highlighters, pack of 10"
    assert CATALOG.find("B999999999") is None


def test_product_fields_are_normalised() -> None:
    p = CatalogProduct.model_validate(
        _product(asin=" b000000001", title="  Pens  ", currency="eur", price=12.5)
    )
    assert (p.asin, p.title, p.currency, p.price) == ("B000000001", "Pens", "EUR", Decimal("12.5"))
    assert p.unit_price == Money(amount=Decimal("12.50"), currency="EUR")


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"asin": "B0001"}, "asin", "is not an ASIN"),
        ({"asin": "B00000000!"}, "asin", "is not an ASIN"),
        ({"title": "   "}, "title", "blank"),
        ({"title": ""}, "title", "at least 1 character"),
        ({"category": "Office Supplies"}, "category", "lower case"),
        ({"price": "0"}, "price", "greater than 0"),
        ({"price": "-3"}, "price", "greater than 0"),
        ({"price": "12.999"}, "price", "2 decimal places"),
        ({"price": "NaN"}, "price", "finite"),
        ({"currency": "EURO"}, "currency", "three-letter"),
        ({"currency": "€"}, "currency", "three-letter"),
        ({"marketplaces": []}, "marketplaces", "at least 1 item"),
        ({"marketplaces": ["ebay.es"]}, "marketplaces", "'ebay.es' is not a known Amazon store"),
        ({"marketplaces": ["www.amazon.es"]}, "marketplaces", "not a known Amazon store"),
        ({"marketplaces": ["amazon.es", "amazon.es"]}, "marketplaces", "more than once"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_product_refusals(overrides: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        CatalogProduct.model_validate(_product(**overrides))
    errors = caught.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"][0] == field
    assert fragment in errors[0]["msg"]


def test_price_is_missing() -> None:
    data = _product()
    del data["price"]
    with pytest.raises(ValidationError, match="price"):
        CatalogProduct.model_validate(data)


def test_duplicate_asin_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Catalog.model_validate(
            {"products": [_product(), _product(asin="B000000002"), _product(asin="b000000001")]}
        )
    (error,) = caught.value.errors()
    assert error["loc"] == ("products",)
    assert "ASIN B000000001 is listed twice (products 0 and 2)" in error["msg"]


def test_empty_catalog_is_allowed_but_products_key_is_required() -> None:
    assert Catalog.model_validate({"products": []}).find("B000000001") is None
    with pytest.raises(ValidationError, match="products"):
        Catalog.model_validate({})


# --- the shipped file -------------------------------------------------------------------------


def test_shipped_catalog_loads_and_covers_the_sample_scenarios() -> None:
    catalog = load_yaml_model(REPO / "catalog.yaml", Catalog).value
    products = catalog.products
    assert 12 <= len(products) <= 16
    assert {p.category for p in products} == {
        "electronics",
        "books",
        "office_supplies",
        "software",
        "furniture",
        "toys",
    }
    assert all(p.currency == "EUR" for p in products)
    prices = [p.price for p in products]
    assert min(prices) < 10
    assert max(prices) > 2000

    def some(category: str, low: str, high: str) -> bool:
        return any(
            p.category == category and Decimal(low) <= p.price <= Decimal(high) for p in products
        )

    assert some("office_supplies", "10", "30")
    assert some("books", "20", "40")
    assert some("electronics", "80", "150")
    assert some("electronics", "1000", "1500")
    assert some("furniture", "200", "300")
    assert some("software", "80", "130")
    assert any(p.marketplaces == ("amazon.de",) for p in products)
    assert (
        sum({"amazon.es", "amazon.com"} <= set(p.marketplaces) for p in products)
        > len(products) / 2
    )


def test_invalid_catalog_file_names_the_field_path(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "products:\n"
        "  - {asin: B000000001, title: Pens, category: office_supplies, price: '1.00',\n"
        "     currency: EUR, marketplaces: [amazon.es]}\n"
        "  - {asin: B000000002, title: Pads, category: office_supplies, price: '-1',\n"
        "     currency: EUR, marketplaces: [amazon.es]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Catalog)
    assert caught.value.problems == ["products.1.price: Input should be greater than 0"]


def test_duplicate_in_catalog_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    row = (
        "  - {asin: B000000001, title: Pens, category: office_supplies, price: '1.00',"
        " currency: EUR, marketplaces: [amazon.es]}\n"
    )
    path.write_text("products:\n" + row + row, encoding="utf-8")
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Catalog)
    (problem,) = caught.value.problems
    assert problem.startswith("products: ")
    assert "B000000001" in problem


# --- validate_product -------------------------------------------------------------------------


def test_valid_request_returns_the_product_with_a_canonical_url() -> None:
    result = validate_product(
        _request(url="http://amazon.es/Stabilo/dp/b000000001/ref=sr_1?tag=x", amount="12.99"),
        CATALOG,
    )
    assert result.valid
    assert result.reason == ""
    assert result.product == ProductInfo(
        asin="B000000001",
        title="Highlighters, pack of 10",
        category="office_supplies",
        unit_price=Money(amount=Decimal("12.99"), currency="EUR"),
        vendor="amazon.es",
        url="https://www.amazon.es/dp/B000000001",
    )


def test_vendor_is_the_marketplace_of_the_link() -> None:
    result = validate_product(_request(url="https://smile.amazon.com/dp/B000000001"), CATALOG)
    assert result.product is not None
    assert result.product.vendor == "amazon.com"
    assert result.product.url == "https://www.amazon.com/dp/B000000001"


def test_bad_url_gives_the_parser_reason() -> None:
    result = validate_product(_request(url="https://www.ebay.es/itm/1"), CATALOG)
    assert not result.valid
    assert result.product is None
    assert "'www.ebay.es' is not an Amazon store" in result.reason


def test_unknown_asin() -> None:
    result = validate_product(_request(url="https://www.amazon.es/dp/B999999999"), CATALOG)
    assert not result.valid
    assert "B999999999 is not in the company catalog" in result.reason


def test_product_not_sold_on_that_marketplace() -> None:
    result = validate_product(_request(url="https://www.amazon.es/dp/B0000000DE"), CATALOG)
    assert not result.valid
    assert "not bought from amazon.es" in result.reason
    assert "Use a link from amazon.de" in result.reason


def test_quantity_below_one() -> None:
    result = validate_product(_request(quantity=0), CATALOG)
    assert not result.valid
    assert "order at least 1" in result.reason


def test_currency_must_match_the_product() -> None:
    result = validate_product(_request(amount="12.99", currency="USD"), CATALOG)
    assert not result.valid
    assert result.reason.startswith("The amount is in USD but")
    assert "Enter the amount in EUR" in result.reason
    usd = validate_product(
        _request(url="https://www.amazon.com/dp/B000000USD", amount="10", currency="USD"), CATALOG
    )
    assert usd.valid


def test_amount_below_price_times_quantity_shows_the_numbers() -> None:
    result = validate_product(_request(amount="20.00", quantity=2), CATALOG)
    assert not result.valid
    assert result.reason.startswith(
        "Amount 20.00 EUR does not cover 2 x 12.99 EUR = 25.98 EUR. Enter at least 25.98 EUR"
    )


def test_amount_a_cent_short_is_refused() -> None:
    assert not validate_product(_request(amount="25.97", quantity=2), CATALOG).valid


@pytest.mark.parametrize("amount", ["25.98", "27.00", "28.57"])
def test_amount_within_the_allowance_is_accepted(amount: str) -> None:
    # 2 x 12.99 = 25.98; +10% = 28.578
    assert validate_product(_request(amount=amount, quantity=2), CATALOG).valid


def test_amount_more_than_the_allowance_above_is_refused() -> None:
    assert Decimal("0.10") == MAX_OVERPAYMENT
    result = validate_product(_request(amount="28.58", quantity=2), CATALOG)
    assert not result.valid
    assert result.reason == (
        "Amount 28.58 EUR is more than 10% above 2 x 12.99 EUR = 25.98 EUR. Check for a typo: "
        "enter between 25.98 EUR and 28.57 EUR."
    )


def test_extra_digit_typo_is_refused() -> None:
    result = validate_product(_request(amount="129.90"), CATALOG)
    assert not result.valid
    assert "Check for a typo" in result.reason


def test_the_suggested_upper_bound_is_accepted() -> None:
    # The ceiling shown is rounded down, so typing it in must pass.
    for quantity in range(1, 50):
        refused = validate_product(_request(amount="100000", quantity=quantity), CATALOG)
        shown = refused.reason.rsplit(" and ", 1)[1].split(" ")[0]
        assert validate_product(_request(amount=shown, quantity=quantity), CATALOG).valid
