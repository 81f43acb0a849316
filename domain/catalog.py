"""The product catalog (`catalog.yaml`): the only products the bot will buy, with their
prices and the Amazon stores that sell them to us.

Load it with `appconfig.files.load_yaml_model(path, Catalog)`; mistakes in the file are
refused with the field path and the reason.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from domain.amazon_urls import MARKETPLACES
from domain.models import Money

_ASIN = re.compile(r"[A-Z0-9]{10}")
# Categories are matched by the review rules, so a stray capital or space would silently
# stop a rule from applying: keep them in one spelling.
_CATEGORY = re.compile(r"[a-z][a-z0-9_]*")


class CatalogProduct(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    asin: str
    title: str = Field(min_length=1)
    category: str
    price: Decimal = Field(gt=0, decimal_places=2, description="Unit price")
    currency: str
    marketplaces: tuple[str, ...] = Field(min_length=1)

    @field_validator("asin")
    @classmethod
    def _asin(cls, value: str) -> str:
        asin = value.strip().upper()
        if not _ASIN.fullmatch(asin):
            raise ValueError(f"'{value}' is not an ASIN (10 letters or digits, like B08N5WRWNW)")
        return asin

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        title = value.strip()
        if not title:
            raise ValueError("the title is blank")
        return title

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        if not _CATEGORY.fullmatch(value):
            raise ValueError(
                f"'{value}' is not a category name: use lower case letters, digits and "
                "underscores, like office_supplies"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ValueError(f"'{value}' is not a three-letter currency code such as EUR")
        return code

    @field_validator("marketplaces")
    @classmethod
    def _marketplaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if domain not in MARKETPLACES:
                raise ValueError(
                    f"'{domain}' is not a known Amazon store; use one of {', '.join(MARKETPLACES)}"
                )
        duplicates = sorted({d for d in value if value.count(d) > 1})
        if duplicates:
            raise ValueError(f"{', '.join(duplicates)} is listed more than once")
        return value

    @property
    def unit_price(self) -> Money:
        return Money(amount=self.price, currency=self.currency)


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    products: tuple[CatalogProduct, ...]

    _by_asin: dict[str, CatalogProduct] = PrivateAttr(default_factory=dict)

    @field_validator("products")
    @classmethod
    def _unique_asins(cls, value: tuple[CatalogProduct, ...]) -> tuple[CatalogProduct, ...]:
        first_index: dict[str, int] = {}
        for index, product in enumerate(value):
            if product.asin in first_index:
                raise ValueError(
                    f"ASIN {product.asin} is listed twice (products {first_index[product.asin]} "
                    f"and {index}); keep one entry per product"
                )
            first_index[product.asin] = index
        return value

    def model_post_init(self, context: Any, /) -> None:
        self._by_asin = {p.asin: p for p in self.products}

    def find(self, asin: str) -> CatalogProduct | None:
        return self._by_asin.get(asin.strip().upper())
