"""The dashboard projection's rows kept on the bot's disk, so that a restarted bot answers from
them and reads from Temporal only what changed since, instead of every request again (100,000
requests took minutes). A cache of a cache: never a record of its own.

- Written after the first build and a rebuild (every row), and after each catch-up (the rows
  read anew), with the moment the projection was current as of.
- Used only when it was read from the same namespace (by name and id: a reset or another
  server has another id) and written by code that derives the rows as this code does
  (`FORMAT`). Else everything is read again, as before.
- Plain sqlite3 in a thread (`asyncio.to_thread`): writing 100,000 rows takes a second, which
  the event loop must not wait for.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import sys
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from bot.insight import facts as facts_code
from bot.insight import source as source_code
from bot.insight.facts import Fate, RequestFacts
from bot.insight.index import ReadRequest

log = logging.getLogger(__name__)


def _code_format() -> str:
    """The rows are derived facts, not Temporal's data: a snapshot written by code that derived
    them otherwise (this module, `facts.py`, `source.py`) is not used, and everything is read
    again once after such a change is deployed."""
    digest = hashlib.sha256()
    for module in (facts_code, source_code, sys.modules[__name__]):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


FORMAT = _code_format()
_COLUMNS = (
    "run_id, start_us, closed, flaggable, request_id, department, filed_at, amount, currency, "
    "fate, reviewed, review_seconds, confidence, decision_seconds"
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows ({_COLUMNS.replace("run_id", "run_id TEXT PRIMARY KEY")});
"""


@dataclass(frozen=True)
class Snapshot:
    rows: list[ReadRequest]
    caught_up_at: datetime


class ProjectionSnapshot:
    def __init__(self, path: Path) -> None:
        self._path = path

    def load(self, source: str) -> Snapshot | None:
        """None when there is none, or it was read from another `source` (see `save_all`), or
        is of another format, or unreadable."""
        if not self._path.exists():
            return None
        try:
            with closing(sqlite3.connect(self._path)) as db:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
                if meta.get("format") != FORMAT or meta.get("source") != source:
                    return None
                rows = [_row(values) for values in db.execute(f"SELECT {_COLUMNS} FROM rows")]
            return Snapshot(rows, datetime.fromisoformat(meta["caught_up_at"]))
        except (sqlite3.Error, KeyError, ValueError):
            return None

    def save_all(self, rows: Iterable[ReadRequest], caught_up_at: datetime, source: str) -> None:
        """Every row, replacing what was kept. `source` names what they were read from: the
        namespace and its id (a reset server, or another namespace of the same name, has
        another id)."""
        meta = {"format": FORMAT, "source": source, "caught_up_at": caught_up_at.isoformat()}
        self._write(rows, meta, replace=True)

    def save_changed(self, rows: Iterable[ReadRequest], caught_up_at: datetime) -> None:
        """The rows read anew (added, or replacing the same run's)."""
        self._write(rows, {"caught_up_at": caught_up_at.isoformat()}, replace=False)

    def _write(self, rows: Iterable[ReadRequest], meta: dict[str, str], *, replace: bool) -> None:
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self._path)) as db:
                # The schema first: executescript commits, so it must precede the transaction.
                db.executescript(_SCHEMA)
                with db:  # one transaction: rows and meta together, or neither
                    if replace:
                        db.execute("DELETE FROM rows")
                    marks = ", ".join("?" * len(_COLUMNS.split(",")))
                    db.executemany(
                        f"INSERT OR REPLACE INTO rows VALUES ({marks})", map(_values, rows)
                    )
                    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
        except (OSError, sqlite3.Error) as err:  # only the next restart is slower
            log.warning("dashboard snapshot %s not written: %s", self._path, err)


def _values(row: ReadRequest) -> tuple[object, ...]:
    f = row.facts
    return (
        row.run_id,
        row.start_us,
        row.closed,
        row.flaggable,
        f.request_id,
        f.department,
        f.filed_at.isoformat(),
        str(f.amount),
        f.currency,
        f.fate.value,
        f.reviewed,
        f.review_seconds,
        f.confidence,
        f.decision_seconds,
    )


def _row(values: tuple[object, ...]) -> ReadRequest:
    (run_id, start_us, closed, flaggable, request_id, department, filed_at, amount, currency,
     fate, reviewed, review_seconds, confidence, decision_seconds) = values  # fmt: skip
    facts = RequestFacts(
        request_id=str(request_id),
        # One string per department and currency, as `facts_of` does: 100,000 rows are kept.
        department=sys.intern(str(department)),
        filed_at=datetime.fromisoformat(str(filed_at)),
        amount=Decimal(str(amount)),
        currency=sys.intern(str(currency)),
        fate=Fate(str(fate)),
        reviewed=bool(reviewed),
        review_seconds=_number(review_seconds),
        confidence=_number(confidence),
        decision_seconds=_number(decision_seconds),
    )
    return ReadRequest(
        run_id=str(run_id),
        start_us=int(str(start_us)),
        closed=bool(closed),
        facts=facts,
        flaggable=bool(flaggable),
    )


def _number(value: object) -> float | None:
    return None if value is None else float(str(value))
