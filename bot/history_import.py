"""Importing a small history file held in memory (`purchasebot up --import-history`, tests);
`bot.history_file_import` streams files of any size through the same sender."""

from __future__ import annotations

from pathlib import Path

from domain.history import HistoryImportError, HistoryRecord, parse_history_csv
from domain.history_shards import ShardRecord
from domain.refusal import Refused
from entities.history_batches import ImportTotals, batches_by_shard, send_batches
from entities.history_store import HistoryStore


def read_history_file(path: Path) -> list[HistoryRecord]:
    """All or nothing: a small file with a bad line is Refused with every bad line listed."""
    try:
        return parse_history_csv(path.read_text(encoding="utf-8-sig"))
    except OSError as err:
        raise Refused(f"Cannot read {path}: {err.strerror}") from err
    except HistoryImportError as err:
        raise Refused(f"{path}: {err}") from err


async def import_history_records(
    store: HistoryStore, records: list[HistoryRecord], *, imported_by: str
) -> ImportTotals:
    """Idempotent: records already imported are counted, not added again."""
    totals = ImportTotals()
    batches = batches_by_shard(ShardRecord.of(r) for r in records)
    await send_batches(store, batches, imported_by=imported_by, on_outcome=totals.count)
    return totals
