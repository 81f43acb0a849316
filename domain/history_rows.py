"""A history CSV's rows as the importer stores them, fast: 1,000,000 rows in seconds, not
minutes.

What a shard keeps of a row is its employee, its date, its outcome and the digest of its
identity (`domain.history.record_key`); building a validated `HistoryRecord` for each row cost
~100 us (pydantic validation, then a JSON dump and a hash), most of an import's parse. Rows in
the plain shape nearly every export has (a date `YYYY-MM-DD`, an amount `12.50` or
`12.50 EUR`, an outcome word) are checked and keyed here directly, with the dates, outcomes
and shards they repeat looked up once; any other row goes through `HistoryRecord` as before, so
it is accepted or refused, and keyed, exactly as the record would be
(`tests/unit/test_history_rows.py` checks both paths agree).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import NamedTuple

from domain.history import (
    MAX_EMPLOYEE_ID_LENGTH,
    OUTCOME_SYNONYMS,
    HistoryRecord,
    data_rows,
    record_key,
    record_of,
)
from domain.history_shards import shard_of
from domain.models import DEFAULT_CURRENCY, PurchaseStatus

PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PLAIN_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)(?: ([A-Z]{3}))?")
# Safe inside a JSON string as is (json.dumps would write them unchanged).
PLAIN_TEXT = re.compile(r"[ !#-\[\]-~]+")
OUTCOMES = {status.value: status.value for status in PurchaseStatus} | {
    word: status.value for word, status in OUTCOME_SYNONYMS.items()
}
# Look-up tables are cleared past this many entries: memory stays flat on any file.
MAX_REMEMBERED = 200_000


class ImportRow(NamedTuple):
    """One data line: what a shard stores of it, or why it is not imported (`problem`)."""

    line: int
    shard: int = 0
    key: str = ""  # record_key(record)[:16]
    employee_id: str = ""
    at: str = ""  # the date, ISO 8601 in UTC
    outcome: str = ""  # a PurchaseStatus value
    problem: str = ""


class _Remembered:
    """What rows repeat (dates, employees' shards), worked out once per distinct value."""

    def __init__(self) -> None:
        self.dates: dict[str, str | None] = {}
        self.shards: dict[str, int] = {}

    def date(self, text: str) -> str | None:
        """ISO 8601 of a plain date at UTC midnight; None when it is not one."""
        if text not in self.dates:
            if len(self.dates) > MAX_REMEMBERED:
                self.dates.clear()
            try:
                day = date.fromisoformat(text) if PLAIN_DATE.fullmatch(text) else None
            except ValueError:
                day = None  # e.g. 2026-02-30: the record's own validation says why
            moment = None if day is None else datetime.combine(day, time(), tzinfo=UTC)
            self.dates[text] = None if moment is None else moment.isoformat()
        return self.dates[text]

    def shard(self, employee_id: str) -> int:
        shard = self.shards.get(employee_id)
        if shard is None:
            if len(self.shards) > MAX_REMEMBERED:
                self.shards.clear()
            shard = self.shards[employee_id] = shard_of(employee_id)
        return shard


def _plain_row(line: int, fields: dict[str, str], known: _Remembered) -> ImportRow | None:
    """The row keyed without building its record; None when it is not in the plain shape."""
    employee_id = fields["employee_id"]
    if not 0 < len(employee_id) <= MAX_EMPLOYEE_ID_LENGTH:
        return None
    at = known.date(fields["date"])
    outcome = OUTCOMES.get(fields["outcome"].lower())
    amount = PLAIN_AMOUNT.fullmatch(fields["amount"])
    if at is None or outcome is None or amount is None:
        return None
    value = Decimal(amount[1])
    if value <= 0:
        return None
    currency = amount[2] or DEFAULT_CURRENCY
    # record_key's canonical JSON, written out: every part but the employee id is plain text.
    quoted = f'"{employee_id}"' if PLAIN_TEXT.fullmatch(employee_id) else json.dumps(employee_id)
    canonical = f'[{quoted}, "{at}", "{format(value.normalize(), "f")}", "{currency}", "{outcome}"]'
    key = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return ImportRow(line, known.shard(employee_id), key, employee_id, at, outcome)


def _validated_row(line: int, fields: dict[str, str], known: _Remembered) -> ImportRow:
    record = record_of(fields)
    if isinstance(record, str):
        return ImportRow(line, problem=record)
    return row_of(line, record, known.shard(record.employee_id))


def row_of(line: int, record: HistoryRecord, shard: int) -> ImportRow:
    return ImportRow(
        line,
        shard,
        record_key(record)[:16],
        record.employee_id,
        record.date.isoformat(),
        record.outcome.value,
    )


def iter_import_rows(lines: Iterable[str]) -> Iterator[ImportRow]:
    """Every non-empty data line of a history CSV, streaming (constant memory). A bad header
    raises `HistoryImportError`; a bad row is yielded with its problem."""
    known = _Remembered()
    for line, fields, problem in data_rows(lines):
        if fields is None:
            yield ImportRow(line, problem=problem)
        else:
            yield _plain_row(line, fields, known) or _validated_row(line, fields, known)
