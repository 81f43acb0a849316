"""Contracts of the ImportedHistoryWorkflow: the purchase history imported from before this
system existed, held by a Temporal entity workflow so every worker on every machine sees it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.history import HistoryRecord


class ImportedHistoryState(BaseModel):
    """What the entity carries across continue-as-new."""

    records: dict[str, HistoryRecord] = Field(default_factory=dict, description="by record key")


class ImportHistoryInput(BaseModel):
    records: list[HistoryRecord]
    imported_by: str = ""


class ImportHistoryResult(BaseModel):
    added: int
    already_present: int
    total: int


class EmployeeRecordsInput(BaseModel):
    employee_id: str


class EmployeeRecordsResult(BaseModel):
    records: list[HistoryRecord]
