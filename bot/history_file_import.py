"""`purchasebot history import FILE`: a CSV of any size, streamed, resumable.

Two passes, so memory stays flat and each shard gets about one Update per import:
1. parse the file row by row; good rows go to spill files under the job directory, one per
   group of shards; bad rows are kept as "line N: why" (they never stop the good ones);
2. read one spill file at a time, group its rows by shard and send the batches, several in
   flight, appending each batch's outcome to a journal.
The job directory is named after the file's content hash: running the same file again after an
interruption skips the parse if it finished and every batch the journal lists. Finished jobs are
removed; importing the file again then re-sends everything and the shards add nothing (records
are de-duplicated by content), which is what makes re-imports idempotent.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from domain.history import HistoryImportError
from domain.history_rows import iter_import_rows
from domain.history_shards import ShardRecord
from domain.models import PurchaseStatus
from domain.refusal import Refused
from entities.history_batches import (
    BatchOutcome,
    ImportTotals,
    ShardBatch,
    batches_of,
    send_batches,
)
from entities.history_store import HistoryStore

# Spill files: each holds the rows of HISTORY_SHARDS / SPILL_FILES shards (~16,000 rows at
# 1,000,000), the most pass 2 holds in memory at once.
SPILL_FILES = 64
PARSED_MARKER = "parsed.json"
JOURNAL = "sent.jsonl"
PROBLEMS = "problems.txt"


class Progress(Protocol):
    def start(self, phase: str, total: int) -> None: ...
    def advance(self, amount: int) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class FileImportReport:
    rows: int = 0
    bad_rows: int = 0
    totals: ImportTotals = field(default_factory=ImportTotals)
    problems_file: Path | None = None
    first_problems: list[str] = field(default_factory=list)
    resumed: bool = False


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:24]


def _text_lines(f: IO[bytes], progress: Progress) -> Iterator[str]:
    """Decoded lines, reporting bytes read; the first line loses an Excel BOM."""
    first = True
    for raw in f:
        progress.advance(len(raw))
        text = raw.decode("utf-8-sig" if first else "utf-8")
        first = False
        yield text


def _parse(path: Path, job: Path, progress: Progress) -> tuple[int, int]:
    """Pass 1: spill good rows by shard group, write bad rows to the problems file."""
    spills = [
        (job / f"spill-{i:02d}.jsonl").open("w", encoding="utf-8") for i in range(SPILL_FILES)
    ]
    rows = bad = 0
    try:
        with path.open("rb") as f, (job / PROBLEMS).open("w", encoding="utf-8") as problems:
            progress.start("reading", path.stat().st_size)
            for row in iter_import_rows(_text_lines(f, progress)):
                rows += 1
                if row.problem:
                    bad += 1
                    problems.write(f"line {row.line}: {row.problem}\n")
                    continue
                spills[row.shard % SPILL_FILES].write(json.dumps(row[:6]) + "\n")
    except UnicodeDecodeError as err:
        raise Refused(f"{path} is not UTF-8 text ({err.reason} at byte {err.start})") from err
    finally:
        for spill in spills:
            spill.close()
        progress.finish()
    (job / PARSED_MARKER).write_text(json.dumps({"rows": rows, "bad_rows": bad}))
    return rows, bad


def _spilled_batches(job: Path, sent: set[str]) -> Iterator[ShardBatch]:
    """Pass 2's input: one spill file in memory at a time, grouped by shard, in line order."""
    for i in range(SPILL_FILES):
        by_shard: dict[int, tuple[list[ShardRecord], list[int]]] = {}
        with (job / f"spill-{i:02d}.jsonl").open(encoding="utf-8") as spill:
            for text in spill:
                line, shard, key, employee_id, at, outcome = json.loads(text)
                records, lines = by_shard.setdefault(shard, ([], []))
                # Validated in pass 1; model_construct skips validating it again.
                records.append(
                    ShardRecord.model_construct(
                        key=key,
                        employee_id=employee_id,
                        at=datetime.fromisoformat(at),
                        outcome=PurchaseStatus(outcome),
                    )
                )
                lines.append(line)
        for shard, (records, lines) in sorted(by_shard.items()):
            for batch in batches_of(shard, records, lines, f"{i}:"):
                if batch.id not in sent:
                    yield batch


def _read_journal(job: Path, report: FileImportReport) -> set[str]:
    sent: set[str] = set()
    journal = job / JOURNAL
    if not journal.exists():
        return sent
    for text in journal.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            continue  # a line cut short by the interruption: that batch is sent again
        sent.add(entry["id"])
        report.totals.added += entry["added"]
        report.totals.already_present += entry["already_present"]
        report.totals.refused += entry["refused"]
    return sent


async def import_history_file(
    store: HistoryStore,
    path: Path,
    *,
    work_dir: Path,
    imported_by: str,
    progress: Progress | None = None,
    max_problems_shown: int = 20,
) -> FileImportReport:
    """Import `path`; resumes a job interrupted earlier. Raises Refused when the file
    cannot be imported at all (unreadable, not UTF-8, bad header)."""
    progress = progress or NoProgress()
    try:
        job = work_dir / f"import-{file_digest(path)}"
    except OSError as err:
        raise Refused(f"Cannot read {path}: {err.strerror}") from err
    report = FileImportReport(resumed=job.exists())
    job.mkdir(parents=True, exist_ok=True)
    marker = job / PARSED_MARKER
    try:
        if marker.exists():
            parsed = json.loads(marker.read_text())
            report.rows, report.bad_rows = parsed["rows"], parsed["bad_rows"]
        else:
            report.rows, report.bad_rows = _parse(path, job, progress)
    except HistoryImportError as err:
        shutil.rmtree(job, ignore_errors=True)
        raise Refused(f"{path}: {err}") from err

    sent = _read_journal(job, report)
    problems_path = job / PROBLEMS
    progress.start("importing", report.rows - report.bad_rows)
    progress.advance(report.totals.added + report.totals.already_present + report.totals.refused)
    with (
        (job / JOURNAL).open("a", encoding="utf-8") as journal,
        problems_path.open("a", encoding="utf-8") as problems,
    ):

        def record(outcome: BatchOutcome) -> None:
            report.totals.count(outcome)
            if outcome.refused:
                for line in outcome.batch.lines:
                    problems.write(f"line {line}: not imported: {outcome.refused}\n")
                problems.flush()
            entry = {
                "id": outcome.batch.id,
                "added": outcome.added,
                "already_present": outcome.already_present,
                "refused": len(outcome.batch.records) if outcome.refused else 0,
            }
            journal.write(json.dumps(entry) + "\n")
            journal.flush()
            progress.advance(len(outcome.batch.records))

        try:
            await send_batches(
                store, _spilled_batches(job, sent), imported_by=imported_by, on_outcome=record
            )
        finally:
            progress.finish()

    # Done: keep only the list of problems, next to the job, for the person to fix.
    lines = problems_path.read_text(encoding="utf-8").splitlines()
    report.first_problems = lines[:max_problems_shown]
    if lines:
        report.problems_file = work_dir / f"{job.name}-problems.txt"
        problems_path.replace(report.problems_file)
    shutil.rmtree(job, ignore_errors=True)
    return report
