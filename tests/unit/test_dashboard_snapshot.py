"""The dashboard projection's snapshot file (bot/insight/snapshot.py): rows come back exactly
as written, a catch-up's rows replace the same runs', and a snapshot of another source or
format, or an unreadable one, is not used; a snapshot that cannot be written costs nothing
but the next restart's time."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.insight.facts import Fate, RequestFacts
from bot.insight.index import ReadRequest, micros
from bot.insight.snapshot import ProjectionSnapshot

SOURCE = "default/0194-namespace-id"
FILED = datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=UTC)
NOW = FILED + timedelta(hours=2)


def row(run_id: str, fate: Fate = Fate.RUNNING, **facts: object) -> ReadRequest:
    read = RequestFacts(
        request_id=f"PR-{run_id.upper()}",
        department="IT",
        filed_at=FILED,
        amount=Decimal("1234.50"),
        currency="EUR",
        fate=fate,
        **facts,  # type: ignore[arg-type]
    )
    return ReadRequest(
        run_id=run_id,
        start_us=micros(FILED),
        closed=fate is not Fate.RUNNING,
        facts=read,
        flaggable=fate is Fate.AUTO_APPROVED,
    )


def test_rows_come_back_exactly_as_written(tmp_path: Path) -> None:
    snapshot = ProjectionSnapshot(tmp_path / "snapshot.db")
    rows = [
        row("a"),
        row(
            "b",
            Fate.AUTO_APPROVED,
            reviewed=True,
            review_seconds=0.25,
            confidence=0.9,
            decision_seconds=0.5,
        ),
    ]
    snapshot.save_all(rows, NOW, SOURCE)
    kept = snapshot.load(SOURCE)
    assert kept is not None
    assert sorted(kept.rows, key=lambda r: r.run_id) == rows
    assert kept.caught_up_at == NOW


def test_a_catch_up_replaces_the_runs_it_read_anew(tmp_path: Path) -> None:
    snapshot = ProjectionSnapshot(tmp_path / "snapshot.db")
    snapshot.save_all([row("a"), row("b")], NOW, SOURCE)
    closed = row("a", Fate.REJECTED, reviewed=True, decision_seconds=60.0)
    snapshot.save_changed([closed, row("c")], NOW + timedelta(minutes=1))
    kept = snapshot.load(SOURCE)
    assert kept is not None
    assert sorted(kept.rows, key=lambda r: r.run_id) == [closed, row("b"), row("c")]
    assert kept.caught_up_at == NOW + timedelta(minutes=1)


def test_another_source_another_format_or_an_unreadable_file_is_not_used(
    tmp_path: Path,
) -> None:
    path = tmp_path / "snapshot.db"
    snapshot = ProjectionSnapshot(path)
    assert snapshot.load(SOURCE) is None  # none yet
    snapshot.save_all([row("a")], NOW, SOURCE)
    assert snapshot.load("default/another-id") is None
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '0' WHERE key = 'format'")
    assert snapshot.load(SOURCE) is None
    path.write_bytes(b"not a database")
    assert snapshot.load(SOURCE) is None


def test_a_snapshot_that_cannot_be_written_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    snapshot = ProjectionSnapshot(blocked / "snapshot.db")  # a directory that cannot exist
    with caplog.at_level(logging.WARNING):
        snapshot.save_all([row("a")], NOW, SOURCE)
    assert "not written" in caplog.text
    assert snapshot.load(SOURCE) is None
