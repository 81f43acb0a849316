"""Purchase history: CSV import, the summary the review uses, dedupe keys, and the shipped
rules and sample files."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from appconfig.files import ConfigFileError, load_yaml_model
from domain.history import (
    HistoryImportError,
    HistoryRecord,
    iter_history_csv,
    parse_history_csv,
    record_key,
    summarize,
)
from domain.models import Money, PurchaseStatus
from domain.review_rules import RulesFile, UserHistory, evaluate

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
HEADER = "employee_id,date,amount,outcome\n"


def record(
    when: datetime,
    outcome: PurchaseStatus = PurchaseStatus.REJECTED,
    employee_id: str = "E1",
) -> HistoryRecord:
    return HistoryRecord(
        employee_id=employee_id,
        date=when,
        amount=Money(amount=Decimal("10")),
        outcome=outcome,
    )


# --- parsing ----------------------------------------------------------------------------


def test_parses_good_lines() -> None:
    text = HEADER + (
        "E1,2026-03-01,12.50,completed\n\nE2 , 2026-03-02T10:30:00+02:00 , 7 usd , Rejected\n"
    )
    first, second = parse_history_csv(text)
    assert first == HistoryRecord(
        employee_id="E1",
        date=datetime(2026, 3, 1, tzinfo=UTC),  # a plain date is midnight UTC
        amount=Money(amount=Decimal("12.50"), currency="EUR"),
        outcome=PurchaseStatus.COMPLETED,
    )
    assert second.employee_id == "E2"
    assert second.date == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert second.date.tzinfo is UTC
    assert second.amount == Money(amount=Decimal("7"), currency="USD")
    assert second.outcome is PurchaseStatus.REJECTED


def test_columns_in_any_order_and_a_bom() -> None:
    text = "\ufeffOutcome,amount,employee_id,date\ncancelled,3.20,E9,2026-06-30\n"
    (only,) = parse_history_csv(text)
    assert only.employee_id == "E9"
    assert only.outcome is PurchaseStatus.CANCELLED


def test_header_only_is_an_empty_history() -> None:
    assert parse_history_csv(HEADER) == []


@pytest.mark.parametrize(
    ("word", "outcome"),
    [
        ("approved", PurchaseStatus.COMPLETED),
        ("Purchased", PurchaseStatus.COMPLETED),
        ("COMPLETED", PurchaseStatus.COMPLETED),
        ("denied", PurchaseStatus.REJECTED),
        ("DENIED", PurchaseStatus.REJECTED),
        ("rejected", PurchaseStatus.REJECTED),
        ("Cancelled", PurchaseStatus.CANCELLED),
    ],
)
def test_outcome_synonyms(word: str, outcome: PurchaseStatus) -> None:
    (only,) = parse_history_csv(HEADER + f"E1,2026-03-01,5.00,{word}\n")
    assert only.outcome is outcome


def test_every_bad_line_is_reported_and_nothing_imported() -> None:
    text = HEADER + (
        "E1,2026-03-01,12.50,completed\n"  # line 2: good
        "E1,2026-13-01,12.50,completed\n"  # line 3: no 13th month
        "E1,2026-03-01T10:00,12.50,completed\n"  # line 4: time without zone
        "E1,2026-03-01,twelve,completed\n"  # line 5
        "E1,2026-03-01,-4.00,completed\n"  # line 6
        "E1,2026-03-01,12.50,lost\n"  # line 7
        "E1,2026-03-01,12.50\n"  # line 8
        ",2026-03-01,12.50,completed\n"  # line 9
        "E1,2026-03-01,12.50 EURO,completed\n"  # line 10
        "E1,2026-03-01,NaN,completed\n"  # line 11
        "E1,2026-03-02,1.00,denied\n"  # line 12: good
    )
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(text)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(3, 12)]
    assert "date" in problems[0]
    assert "timezone" in problems[1]
    assert "not a number" in problems[2]
    assert "greater than zero" in problems[3]
    assert "outcome" in problems[4]
    assert "expected 4 fields, got 3" in problems[5]
    assert "employee_id" in problems[6]
    assert "three-letter currency" in problems[7]
    assert "not a number" in problems[8]


@pytest.mark.parametrize(
    "text",
    ["", "E1,2026-03-01,12.50,completed\n", "employee_id,date,amount\n"],
)
def test_missing_or_wrong_header_is_refused(text: str) -> None:
    with pytest.raises(HistoryImportError) as caught:
        parse_history_csv(text)
    assert caught.value.problems[0].startswith("line 1: ")


def test_naive_datetime_is_refused_and_other_zones_become_utc() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        record(datetime(2026, 3, 1, 10, 0))
    madrid = timezone(timedelta(hours=1))
    assert record(datetime(2026, 3, 1, 10, 0, tzinfo=madrid)).date == datetime(
        2026, 3, 1, 9, 0, tzinfo=UTC
    )


# --- summary and the 30-day window ----------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "counted"),
    [
        (NOW - timedelta(days=30), False),  # exactly 30 days ago: outside (now - 30d, now]
        (NOW - timedelta(days=30) + timedelta(microseconds=1), True),
        (NOW - timedelta(days=1), True),
        (NOW, True),
        (NOW + timedelta(microseconds=1), False),  # after now: not yet happened
    ],
)
def test_rejection_window_boundaries(when: datetime, counted: bool) -> None:
    assert summarize([record(when)], now=NOW).rejected_last_30_days == int(counted)


def test_summary_counts_completed_purchases_of_any_age_only() -> None:
    records = [
        record(datetime(2020, 1, 1, tzinfo=UTC), PurchaseStatus.COMPLETED),
        record(NOW - timedelta(days=2), PurchaseStatus.COMPLETED),
        record(NOW - timedelta(days=2), PurchaseStatus.CANCELLED),
        record(NOW - timedelta(days=40), PurchaseStatus.REJECTED),
        record(NOW + timedelta(days=1), PurchaseStatus.COMPLETED),  # future: not "previous"
    ]
    assert summarize(records, now=NOW) == UserHistory(previous_purchases=2, rejected_last_30_days=0)


def test_empty_history_is_a_newcomer_not_unknown() -> None:
    assert summarize([], now=NOW) == UserHistory(previous_purchases=0, rejected_last_30_days=0)


def test_summary_refuses_mixed_employees_and_naive_now() -> None:
    with pytest.raises(ValueError, match="E1, E2"):
        summarize([record(NOW, employee_id="E1"), record(NOW, employee_id="E2")], now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        summarize([], now=datetime(2026, 11, 1))


# --- dedupe keys ----------------------------------------------------------------------------


def test_same_file_imported_twice_gives_the_same_keys() -> None:
    text = (ROOT / "sample-history.csv").read_text()
    first = [record_key(r) for r in parse_history_csv(text)]
    second = [record_key(r) for r in parse_history_csv(text)]
    assert first == second
    assert len(set(first)) == len(first)


def test_key_ignores_spelling_of_equal_values() -> None:
    spellings = [
        "E1,2026-03-01,12.5,approved",
        "E1,2026-03-01T00:00:00Z,12.50 EUR,completed",
        "E1,2026-03-01T01:00:00+01:00,12.500 eur,PURCHASED",
    ]
    keys = {record_key(parse_history_csv(HEADER + line)[0]) for line in spellings}
    assert len(keys) == 1


@pytest.mark.parametrize(
    "line",
    [
        "E2,2026-03-01,12.50,completed",
        "E1,2026-03-02,12.50,completed",
        "E1,2026-03-01,12.51,completed",
        "E1,2026-03-01,12.50 USD,completed",
        "E1,2026-03-01,12.50,rejected",
    ],
)
def test_key_changes_with_any_field(line: str) -> None:
    base = record_key(parse_history_csv(HEADER + "E1,2026-03-01,12.50,completed")[0])
    assert record_key(parse_history_csv(HEADER + line)[0]) != base


def test_key_is_pinned() -> None:
    # Stored keys of earlier imports must keep matching: changing the canonical form would
    # let a re-import double everybody's history.
    (only,) = parse_history_csv(HEADER + "E1,2026-03-01,12.50,completed")
    assert record_key(only) == "4f291627fc3826c9cb68c971a1cc069f8be1fc9487e8109a97369c9923111216"


# --- shipped files ------------------------------------------------------------------------


def test_shipped_rules_load() -> None:
    loaded = load_yaml_model(ROOT / "rules.yaml", RulesFile)
    assert len(loaded.version) == 12
    assert loaded.value.defaults.currency == "EUR"
    assert set(loaded.value.departments) == {"IT", "Marketing", "Finance"}


@pytest.mark.parametrize(
    ("employee", "department", "category", "price", "expected"),
    [
        (
            "E1001",
            "IT",
            "electronics",
            "49.99",
            UserHistory(previous_purchases=6, rejected_last_30_days=0),
        ),
        (
            "E1002",
            "Marketing",
            "books",
            "19.99",
            UserHistory(previous_purchases=4, rejected_last_30_days=0),
        ),
        (
            "E1003",
            "Finance",
            "office_supplies",
            "12.00",
            UserHistory(previous_purchases=11, rejected_last_30_days=0),
        ),
    ],
)
def test_sample_employees_are_auto_approved_for_cheap_trusted_items(
    employee: str, department: str, category: str, price: str, expected: UserHistory
) -> None:
    records = parse_history_csv((ROOT / "sample-history.csv").read_text())
    history = summarize([r for r in records if r.employee_id == employee], now=NOW)
    assert history == expected
    rules = load_yaml_model(ROOT / "rules.yaml", RulesFile).value.for_department(department)
    verdict = evaluate(
        amount=Money(amount=Decimal(price)),
        category=category,
        vendor="amazon.es",
        department=department,
        history=history,
        rules=rules,
    )
    assert verdict.auto_approved, verdict.reason


def test_sample_newcomer_needs_a_manager() -> None:
    records = parse_history_csv((ROOT / "sample-history.csv").read_text())
    history = summarize([r for r in records if r.employee_id == "E1004"], now=NOW)
    rules = load_yaml_model(ROOT / "rules.yaml", RulesFile).value.for_department("IT")
    verdict = evaluate(
        amount=Money(amount=Decimal("9.99")),
        category="books",
        vendor="amazon.es",
        department="IT",
        history=history,
        rules=rules,
    )
    assert verdict.reason.startswith("User purchase history doesn't meet approval criteria: ")


@pytest.mark.parametrize(
    ("keys", "value", "path"),
    [
        (("defaults", "max_amount"), -5, "defaults.max_amount"),
        (("departments", "IT", "max_amount"), -1, "departments.IT.max_amount"),
        (("defaults", "max_ammount"), 500, "defaults.max_ammount"),
        (("defaults", "trusted_categories"), ["books", ""], "defaults.trusted_categories.1"),
        (("defaults", "department_limits", "IT"), 0, "defaults.department_limits.IT"),
        (("strict", "max_amount_factor"), 2, "strict.max_amount_factor"),
    ],
)
def test_invalid_rules_file_names_the_field(
    tmp_path: Path, keys: tuple[str, ...], value: object, path: str
) -> None:
    # Start from the shipped file and break one thing, so exactly that field is reported.
    data = yaml.safe_load((ROOT / "rules.yaml").read_text())
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    bad = tmp_path / "rules.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(bad, RulesFile)
    assert caught.value.path == bad
    assert [p.split(":")[0] for p in caught.value.problems] == [path]


def test_streaming_parse_reports_bad_rows_with_line_numbers_and_keeps_the_good() -> None:
    text = (
        "employee_id,date,amount,outcome\n"
        "E1,2026-01-02,10,completed\n"
        "E2,not-a-date,10,completed\n"
        "\n"
        'E3,2026-01-03,"12,5",rejected\n'
        "E4,2026-01-04,10\n"
        "E5,2026-01-05,7.5 EUR,approved\n"
    )
    rows = list(iter_history_csv(io.StringIO(text)))
    good = [(r.line, r.record.employee_id) for r in rows if r.record is not None]
    bad = [(r.line, r.problem) for r in rows if r.record is None]
    assert good == [(2, "E1"), (7, "E5")]
    assert [line for line, _ in bad] == [3, 5, 6]
    assert "date" in bad[0][1] and "not a number" in bad[1][1] and "fields" in bad[2][1]


def test_streaming_parse_refuses_a_bad_header() -> None:
    with pytest.raises(HistoryImportError, match="header"):
        list(iter_history_csv(io.StringIO("who,when\nE1,2026-01-01\n")))
