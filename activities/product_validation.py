"""Activity: is the product link a real catalog product at the declared amount?"""

from __future__ import annotations

from temporalio import activity

from appconfig.files import ReloadingFile
from domain.catalog import Catalog
from domain.models import ValidationInput, ValidationResult
from domain.product_validation import validate_product


class ProductValidationActivities:
    def __init__(self, catalog: ReloadingFile[Catalog]) -> None:
        self._catalog = catalog

    @activity.defn
    async def validate_product(self, input: ValidationInput) -> ValidationResult:
        return validate_product(input.request, self._catalog.get().value)
