"""The shard book: same counts as `summarize`, de-duplication, the cap, and the size of what
continue-as-new carries at the cap (it must stay far below Temporal's 2 MB payload limit)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.history import MAX_EMPLOYEE_ID_LENGTH, HistoryRecord, summarize
from domain.history_shards import (
    HISTORY_SHARDS,
    MAX_SHARD_RECORDS,
    HistoryShardState,
    ShardBook,
    ShardFull,
    ShardRecord,
    ShardSummaries,
    shard_of,
)
from domain.models import Money, PurchaseStatus

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
PAYLOAD_LIMIT = 2 * 1024 * 1024


def record(
    employee: str, days_ago: float, outcome: PurchaseStatus, amount: str = "10"
) -> HistoryRecord:
    return HistoryRecord(
        employee_id=employee,
        date=NOW - timedelta(days=days_ago),
        amount=Money(amount=Decimal(amount)),
        outcome=outcome,
    )


def test_shard_of_is_stable_and_in_range() -> None:
    # Pinned values: changing the hash would move every employee to another shard.
    assert shard_of("E1001") == shard_of("E1001")
    assert all(0 <= shard_of(f"E{i}") < HISTORY_SHARDS for i in range(1000))
    assert len({shard_of(f"E{i}") for i in range(10_000)}) > HISTORY_SHARDS * 0.99


outcomes = st.sampled_from(list(PurchaseStatus))
COUNTED = {PurchaseStatus.COMPLETED, PurchaseStatus.REJECTED}


@given(st.lists(st.tuples(st.floats(-5, 90), outcomes), max_size=40))
@settings(max_examples=60)
def test_summary_counts_like_summarize(rows: list[tuple[float, PurchaseStatus]]) -> None:
    records = [record("E1", days, outcome) for days, outcome in rows]
    book = ShardBook(HistoryShardState(shard=shard_of("E1")))
    book.add([ShardRecord.of(r) for r in records])
    distinct = {ShardRecord.of(r).key: r for r in records}.values()
    assert book.summary("E1", now=NOW) == summarize(distinct, now=NOW)
    assert ShardBook(book.state()).summary("E1", now=NOW) == book.summary("E1", now=NOW)
    assert ShardSummaries(book.state()).summary("E1", now=NOW) == book.summary("E1", now=NOW)


def test_window_boundaries_match_summarize() -> None:
    records = [
        record("E1", 30, PurchaseStatus.REJECTED),  # exactly 30 days ago: outside
        record("E1", 29.9999, PurchaseStatus.REJECTED),
        record("E1", 0, PurchaseStatus.COMPLETED),  # at now: counts
        record("E1", -0.001, PurchaseStatus.COMPLETED),  # after now: not yet
    ]
    book = ShardBook()
    book.add([ShardRecord.of(r) for r in records])
    assert book.summary("E1", now=NOW) == summarize(records, now=NOW)
    assert book.summary("E2", now=NOW).previous_purchases == 0
    cached = ShardSummaries(book.state())
    assert cached.summary("E1", now=NOW) == summarize(records, now=NOW)
    assert cached.summary("E2", now=NOW).previous_purchases == 0


@given(
    st.lists(
        st.tuples(st.sampled_from(["E1", "E2", "E3"]), st.floats(-5, 90), outcomes), max_size=60
    ),
    st.floats(-10, 10),
)
@settings(max_examples=60)
def test_cached_summaries_count_every_employee_like_the_book(
    rows: list[tuple[str, float, PurchaseStatus]], shift_days: float
) -> None:
    """Records added unsorted, over several employees, read at another moment than written."""
    book = ShardBook()
    added = [ShardRecord.of(record(e, days, outcome)) for e, days, outcome in rows]
    book.add(added)
    cached = ShardSummaries(book.state())
    at = NOW + timedelta(days=shift_days)
    for employee in ("E1", "E2", "E3", "E4"):
        assert cached.summary(employee, now=at) == book.summary(employee, now=at)
    distinct = {r.key: r for r in added}.values()
    assert len(cached) == sum(1 for r in distinct if r.outcome in COUNTED)


def test_same_record_twice_is_added_once_also_within_one_batch() -> None:
    a = ShardRecord.of(record("E1", 3, PurchaseStatus.COMPLETED, "12.5"))
    same = ShardRecord.of(record("E1", 3, PurchaseStatus.COMPLETED, "12.50"))
    book = ShardBook()
    assert book.add([a, same]) == 1
    assert book.add([same]) == 0
    assert len(book) == 1
    assert book.summary("E1", now=NOW).previous_purchases == 1


def _full_worst_case_book() -> ShardBook:
    """The cap reached with the largest state possible: every record a different employee
    with the longest id allowed."""
    pad = "x" * (MAX_EMPLOYEE_ID_LENGTH - 8)
    state = HistoryShardState(
        shard=0,
        keys="".join(f"{i:016x}" for i in range(MAX_SHARD_RECORDS)),
        completed={f"{pad}{i:08d}": [1_700_000_000_000_000 + i] for i in range(MAX_SHARD_RECORDS)},
    )
    return ShardBook(state)


def test_state_at_the_cap_is_far_below_the_payload_limit() -> None:
    book = _full_worst_case_book()
    size = len(json.dumps(book.state().model_dump(mode="json")))
    assert size < PAYLOAD_LIMIT * 0.6, size


def test_a_full_shard_refuses_with_a_reason_and_keeps_what_it_had() -> None:
    book = _full_worst_case_book()
    extra = ShardRecord.of(record("E1", 1, PurchaseStatus.COMPLETED))
    with pytest.raises(ShardFull, match="is full"):
        book.add([extra])
    assert len(book) == MAX_SHARD_RECORDS
    # Records it already holds are still accepted as "already present": re-imports work.
    assert book.check_capacity([]) == []


def test_record_keys_are_validated() -> None:
    with pytest.raises(ValueError):
        ShardRecord(key="not-hex", employee_id="E1", at=NOW, outcome=PurchaseStatus.COMPLETED)
    with pytest.raises(ValueError, match="longer than"):
        record("E" * (MAX_EMPLOYEE_ID_LENGTH + 1), 1, PurchaseStatus.COMPLETED)
