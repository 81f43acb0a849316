"""Imported purchase history, split over a fixed set of shards (pure code and models).

Why shards: one entity holding every imported record outgrows Temporal's 2 MB payload limit
(its continue-as-new input) at ~35,000 records, and puts every review on one hot workflow.
Each employee's records live in exactly one of `HISTORY_SHARDS` entity workflows, chosen by a
stable hash of the employee id, so:
- an import of 1,000,000 rows is about one batched Update per shard, not one per employee;
- reviews spread over 1,024 workflows;
- a shard's state is capped (`MAX_SHARD_RECORDS`) so its continue-as-new input stays far below
  2 MB whatever is imported: a full shard refuses more records with a clear reason.

A shard keeps only what the review reads and what de-duplication needs: per employee, the
dates of completed and rejected records; per record, a 64-bit digest of its identity
(`domain.history.record_key`). Amounts stay in the source files.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from domain.history import MAX_EMPLOYEE_ID_LENGTH, REJECTION_WINDOW, HistoryRecord, record_key
from domain.models import PurchaseStatus
from domain.review_rules import UserHistory

# Fixed for an installation: an employee's shard is derived from it. 1,024 shards hold ~1,000
# records each at 1,000,000 records, a tenth of the per-shard cap.
HISTORY_SHARDS = 1024
# Worst case at the cap (every record a different employee with a 64-character id): ~1.1 MB of
# continue-as-new input, half the 2 MB limit. tests/unit/test_history_shards.py checks it.
MAX_SHARD_RECORDS = 10_000
# One Update's records (~100 bytes each as JSON): ~0.25 MB, an eighth of the payload limit, and
# a workflow task of ~30 ms, inside the 2 s deadlock detector even on a busy machine. Enough
# that a 1,000,000-row import (~980 records per shard) is one Update per shard: the server's
# work per Update, not per record, sets an import's pace.
MAX_BATCH_RECORDS = 2_500
SHARD_WORKFLOW_ID_PREFIX = "purchasebot-history-shard-"


def shard_of(employee_id: str, shards: int = HISTORY_SHARDS) -> int:
    """Stable across processes and machines (unlike `hash()`, which is salted per process)."""
    digest = hashlib.sha256(employee_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def shard_workflow_id(shard: int) -> str:
    return f"{SHARD_WORKFLOW_ID_PREFIX}{shard:04d}"


class ShardRecord(BaseModel):
    """What a shard stores of one history record: its identity and what the review counts."""

    key: str = Field(pattern=r"^[0-9a-f]{16}$", description="64-bit digest of record_key")
    employee_id: str = Field(min_length=1, max_length=MAX_EMPLOYEE_ID_LENGTH)
    at: datetime
    outcome: PurchaseStatus

    @classmethod
    def of(cls, record: HistoryRecord) -> ShardRecord:
        # The record is already validated (ids, dates); constructing without re-validating
        # halves the import's per-row cost.
        return cls.model_construct(
            key=record_key(record)[:16],
            employee_id=record.employee_id,
            at=record.date,
            outcome=record.outcome,
        )


class HistoryShardState(BaseModel):
    """A shard's whole state: what continue-as-new carries. Compact on purpose (see the cap)."""

    shard: int = 0
    keys: str = Field(default="", description="sorted 16-hex-digit record digests, concatenated")
    completed: dict[str, list[int]] = Field(default_factory=dict, description="epoch microseconds")
    rejected: dict[str, list[int]] = Field(default_factory=dict, description="epoch microseconds")


class AddShardRecordsInput(BaseModel):
    shard: int
    records: list[ShardRecord]
    imported_by: str = ""


class AddShardRecordsResult(BaseModel):
    added: int
    already_present: int
    total: int


class EmployeeHistoryInput(BaseModel):
    employee_id: str
    now: datetime


class ShardFull(ValueError):
    """Adding the records would take the shard over its cap; nothing was added."""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_us(moment: datetime) -> int:
    """Exact (microseconds, integer arithmetic): the 30-day window compares to the microsecond
    like `summarize` does."""
    return (moment - EPOCH) // timedelta(microseconds=1)


class ShardBook:
    """One shard's records in memory: 8 bytes per record digest plus 8 per counted date, so a
    worker caching all 1,024 shards of a 1,000,000-record history holds tens of MB, not GBs."""

    def __init__(self, state: HistoryShardState | None = None) -> None:
        state = state or HistoryShardState()
        self.shard = state.shard
        self._keys = array(
            "Q", (int(state.keys[i : i + 16], 16) for i in range(0, len(state.keys), 16))
        )
        self._completed = {e: array("q", dates) for e, dates in state.completed.items()}
        self._rejected = {e: array("q", dates) for e, dates in state.rejected.items()}

    def __len__(self) -> int:
        return len(self._keys)

    def _has(self, key: int) -> bool:
        i = bisect_left(self._keys, key)
        return i < len(self._keys) and self._keys[i] == key

    def new_records(self, records: Sequence[ShardRecord]) -> list[ShardRecord]:
        """The records not stored yet, each once (a batch may repeat a record)."""
        seen: set[int] = set()
        fresh = []
        for record in records:
            key = int(record.key, 16)
            if key not in seen and not self._has(key):
                seen.add(key)
                fresh.append(record)
        return fresh

    def check_capacity(self, records: Sequence[ShardRecord]) -> list[ShardRecord]:
        """The records that would be added; raises ShardFull when they pass the cap."""
        fresh = self.new_records(records)
        if len(self) + len(fresh) > MAX_SHARD_RECORDS:
            raise ShardFull(
                f"history shard {self.shard} is full: it holds {len(self)} records and the batch "
                f"would add {len(fresh)}, over the limit of {MAX_SHARD_RECORDS} per shard (about "
                f"{MAX_SHARD_RECORDS * HISTORY_SHARDS:,} records in all). Import fewer years."
            )
        return fresh

    def add(self, records: Sequence[ShardRecord]) -> int:
        """Store the new records; returns how many were new. Refuses (ShardFull) as a whole."""
        fresh = self.check_capacity(records)
        if not fresh:
            return 0
        self._keys = array("Q", sorted([*self._keys, *(int(r.key, 16) for r in fresh)]))
        for record in fresh:
            # == and not `is`: a record built without validation may hold the outcome's string.
            book = (
                self._completed
                if record.outcome == PurchaseStatus.COMPLETED
                else self._rejected
                if record.outcome == PurchaseStatus.REJECTED
                else None
            )
            if book is not None:  # other outcomes count for nothing in the review
                book.setdefault(record.employee_id, array("q")).append(_epoch_us(record.at))
        return len(fresh)

    def summary(self, employee_id: str, *, now: datetime) -> UserHistory:
        return count_history(
            self._completed.get(employee_id, ()), self._rejected.get(employee_id, ()), now=now
        )

    def state(self) -> HistoryShardState:
        return HistoryShardState(
            shard=self.shard,
            keys="".join(f"{key:016x}" for key in self._keys),
            completed={e: list(dates) for e, dates in self._completed.items()},
            rejected={e: list(dates) for e, dates in self._rejected.items()},
        )


def check_batch(book: ShardBook, input: AddShardRecordsInput) -> list[ShardRecord]:
    """Why a batch cannot be added to the shard `book` holds (ValueError, ShardFull), else the
    records it would add: the shard's Update validator, and the importer creating a shard."""
    if not input.records:
        raise ValueError("The batch holds no records.")
    if len(input.records) > MAX_BATCH_RECORDS:
        raise ValueError(f"At most {MAX_BATCH_RECORDS} records per batch.")
    if input.shard != book.shard:
        raise ValueError(f"This is shard {book.shard}, not {input.shard}.")
    misplaced = [r.employee_id for r in input.records if shard_of(r.employee_id) != input.shard]
    if misplaced:
        raise ValueError(f"Employee {misplaced[0]} belongs to another shard.")
    return book.check_capacity(input.records)


def count_history(
    completed: Sequence[int], rejected: Sequence[int], *, now: datetime
) -> UserHistory:
    """Same counting as `domain.history.summarize`, over epoch-microsecond dates: completed at
    or before `now`, rejected in (now - 30 days, now]."""
    end = _epoch_us(now)
    window_start = _epoch_us(now - REJECTION_WINDOW)
    return UserHistory(
        previous_purchases=sum(1 for at in completed if at <= end),
        rejected_last_30_days=sum(1 for at in rejected if window_start < at <= end),
    )


def state_summary(state: HistoryShardState, employee_id: str, *, now: datetime) -> UserHistory:
    """One employee's summary straight from a stored shard state (what the read path decodes
    from the shard run's start event), without building a ShardBook."""
    return count_history(
        state.completed.get(employee_id, ()), state.rejected.get(employee_id, ()), now=now
    )


class ShardSummaries:
    """What the review reads of one stored shard state, compact for a per-worker cache: every
    employee's completed and rejected dates, sorted, in ONE array of 64-bit integers (8 bytes
    per record; the decoded state costs ~50 bytes per record in Python objects), and per
    employee one integer locating their dates. A review's count is two binary searches."""

    __slots__ = ("_dates", "_where")

    def __init__(self, state: HistoryShardState) -> None:
        self._dates = array("q")
        self._where: dict[str, int] = {}
        for employee in state.completed.keys() | state.rejected.keys():
            completed = sorted(state.completed.get(employee, ()))
            rejected = sorted(state.rejected.get(employee, ()))
            # A shard holds at most MAX_SHARD_RECORDS (< 2**20): each count fits its 20 bits.
            self._where[employee] = len(self._dates) << 40 | len(completed) << 20 | len(rejected)
            self._dates.extend(completed)
            self._dates.extend(rejected)

    def __len__(self) -> int:
        return len(self._dates)

    def summary(self, employee_id: str, *, now: datetime) -> UserHistory:
        """Same counting as `count_history` (and `domain.history.summarize`)."""
        where = self._where.get(employee_id)
        if where is None:
            return UserHistory(previous_purchases=0, rejected_last_30_days=0)
        start, completed, rejected = where >> 40, where >> 20 & 0xFFFFF, where & 0xFFFFF
        end, window_start = _epoch_us(now), _epoch_us(now - REJECTION_WINDOW)
        dates, first_rejected = self._dates, start + completed
        last = first_rejected + rejected
        return UserHistory(
            previous_purchases=bisect_right(dates, end, start, first_rejected) - start,
            rejected_last_30_days=bisect_right(dates, end, first_rejected, last)
            - bisect_right(dates, window_start, first_rejected, last),
        )


def state_record_count(state: HistoryShardState) -> int:
    return len(state.keys) // 16


def group_by_shard(records: Iterable[ShardRecord]) -> dict[int, list[ShardRecord]]:
    shards: dict[int, list[ShardRecord]] = {}
    for record in records:
        shards.setdefault(shard_of(record.employee_id), []).append(record)
    return shards
