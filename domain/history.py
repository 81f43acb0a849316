"""Employees' purchase history: records, CSV import and the summary the review needs.

Pure functions only: `summarize` takes `now` instead of reading the clock so it can run
inside deterministic code and be tested at exact boundaries.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from domain.models import DEFAULT_CURRENCY, Money, PurchaseStatus
from domain.review_rules import UserHistory

REJECTION_WINDOW = timedelta(days=30)
CSV_COLUMNS = ("employee_id", "date", "amount", "outcome")
# Slack member ids are ~11 characters; the bound keeps every stored record small.
MAX_EMPLOYEE_ID_LENGTH = 64

# Words other systems (and people) use for the same outcomes.
OUTCOME_SYNONYMS = {
    "approved": PurchaseStatus.COMPLETED,
    "purchased": PurchaseStatus.COMPLETED,
    "denied": PurchaseStatus.REJECTED,
}


class HistoryImportError(Exception):
    """A history file that was refused as a whole, with every problem found in it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("history not imported: " + "; ".join(problems))


class HistoryRecord(BaseModel):
    """One past purchase request of one employee and how it ended."""

    model_config = ConfigDict(frozen=True)

    employee_id: str
    date: datetime
    amount: Money
    outcome: PurchaseStatus

    @field_validator("employee_id")
    @classmethod
    def _employee_id(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("employee_id must not be empty")
        if len(value) > MAX_EMPLOYEE_ID_LENGTH:
            raise ValueError(f"employee_id is longer than {MAX_EMPLOYEE_ID_LENGTH} characters")
        return value

    @field_validator("date", mode="before")
    @classmethod
    def _plain_date_is_utc_midnight(cls, value: Any) -> Any:
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(), tzinfo=UTC)
        if isinstance(value, str):
            try:
                return datetime.combine(date.fromisoformat(value.strip()), time(), tzinfo=UTC)
            except ValueError:
                return value  # not a plain date: let the datetime parser have it
        return value

    @field_validator("date")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        # A time without a zone could be anyone's local time; guessing would shift records
        # across the 30-day window boundary.
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("date has a time but no timezone; add one, e.g. 'Z' for UTC")
        return value.astimezone(UTC)

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if value.amount <= 0:
            raise ValueError("amount must be greater than zero")
        return value

    @field_validator("outcome", mode="before")
    @classmethod
    def _synonyms(cls, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip().lower()
            return OUTCOME_SYNONYMS.get(word, word)
        return value


def summarize(records: Iterable[HistoryRecord], *, now: datetime) -> UserHistory:
    """Summarize ONE employee's records as seen at `now`.

    Previous purchases are completed records dated at or before `now`; recent rejections are
    rejected records in the window (now - 30 days, now]. Records of several employees raise
    ValueError: mixing them would silently approve on somebody else's history.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    window_start = now - REJECTION_WINDOW
    employees: set[str] = set()
    completed = 0
    rejected_recently = 0
    for record in records:
        employees.add(record.employee_id)
        if record.date > now:
            continue  # not "previous" yet, e.g. when replaying a past decision
        if record.outcome is PurchaseStatus.COMPLETED:
            completed += 1
        elif record.outcome is PurchaseStatus.REJECTED and record.date > window_start:
            rejected_recently += 1
    if len(employees) > 1:
        raise ValueError(f"records of several employees: {', '.join(sorted(employees))}")
    return UserHistory(previous_purchases=completed, rejected_last_30_days=rejected_recently)


def record_key(record: HistoryRecord) -> str:
    """A stable identity for deduplicating re-imports: equal records give equal keys
    whatever their spelling in the source ("12.5" vs "12.50", "approved" vs "completed",
    "+02:00" vs UTC)."""
    canonical = json.dumps(
        [
            record.employee_id,
            record.date.astimezone(UTC).isoformat(),
            # normalize() drops trailing zeros; format "f" avoids "1E+2" for round amounts.
            format(record.amount.amount.normalize(), "f"),
            record.amount.currency,
            record.outcome.value,
        ]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _parse_money(text: str) -> Money:
    parts = text.split()
    if len(parts) not in (1, 2):
        raise ValueError(f"amount '{text}' should look like '12.50' or '12.50 EUR'")
    try:
        value = Decimal(parts[0])
    except InvalidOperation:
        raise ValueError(f"amount '{parts[0]}' is not a number") from None
    if not value.is_finite():
        raise ValueError(f"amount '{parts[0]}' is not a number")
    return Money(amount=value, currency=parts[1] if len(parts) == 2 else DEFAULT_CURRENCY)


def _validation_reason(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in err.errors()
    )


class ParsedRow(NamedTuple):
    """One data line of a history CSV: its record, or why it is not one."""

    line: int
    record: HistoryRecord | None
    problem: str = ""


def data_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str] | None, str]]:
    """Each non-empty data line of a history CSV as (line number, its stripped fields by column
    name, ""), or (line number, None, why) when it has the wrong number of fields. Header
    employee_id,date,amount,outcome in any column order; a bad header raises
    `HistoryImportError`."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header and header[0].startswith("\ufeff"):  # Excel writes a BOM
        header[0] = header[0].removeprefix("\ufeff")
    if header is None or not any(cell.strip() for cell in header):
        raise HistoryImportError([f"line 1: missing header {','.join(CSV_COLUMNS)}"])
    names = [cell.strip().lower() for cell in header]
    if sorted(names) != sorted(CSV_COLUMNS):
        raise HistoryImportError(
            [f"line 1: header must be {','.join(CSV_COLUMNS)}, got {','.join(header)}"]
        )
    index = [(name, names.index(name)) for name in CSV_COLUMNS]
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_COLUMNS):
            yield line, None, f"expected {len(CSV_COLUMNS)} fields, got {len(row)}"
            continue
        yield line, {name: row[i].strip() for name, i in index}, ""


def record_of(fields: dict[str, str]) -> HistoryRecord | str:
    """The record a data line's fields make, or why they make none."""
    try:
        amount = _parse_money(fields["amount"])
        # model_validate: the validators turn the date and outcome strings into types.
        return HistoryRecord.model_validate({**fields, "amount": amount})
    except ValidationError as err:
        return _validation_reason(err)
    except ValueError as err:
        return str(err)


def iter_history_csv(lines: Iterable[str]) -> Iterator[ParsedRow]:
    """Parse a CSV with header employee_id,date,amount,outcome (any column order), streaming:
    one row at a time, so a file of any size parses in constant memory. A bad header raises
    `HistoryImportError`; a bad row is yielded with its problem and parsing goes on."""
    for line, fields, problem in data_rows(lines):
        if fields is None:
            yield ParsedRow(line, None, problem)
            continue
        record = record_of(fields)
        if isinstance(record, str):
            yield ParsedRow(line, None, record)
        else:
            yield ParsedRow(line, record)


def parse_history_csv(text: str) -> list[HistoryRecord]:
    """All or nothing: if any line is bad, nothing is returned and `HistoryImportError` lists
    every bad line, so one attempt shows everything to fix. (`purchasebot history import`
    streams instead, importing the good rows: `iter_history_csv`.)"""
    records: list[HistoryRecord] = []
    problems: list[str] = []
    for parsed in iter_history_csv(io.StringIO(text)):
        if parsed.record is None:
            problems.append(f"line {parsed.line}: {parsed.problem}")
        else:
            records.append(parsed.record)
    if problems:
        raise HistoryImportError(problems)
    return records
