"""A restarted bot's dashboard rows from its snapshot (bot/insight/snapshot.py), at 100,000
requests: reading the file and indexing its rows, against a floor measured in the same run:
indexing the same rows already in memory, which any restart must spend.

No Temporal: the rows are synthetic (four departments, every fate, decision times), written once
with `ProjectionSnapshot.save_all` (timed too) to a temporary file. `bench.dashboard`'s phase 4
measures the whole restart of a `purchasebot bot` process (10,000 requests in reasonable time).

`.venv/bin/python -m bench.dashboard_snapshot [--rows 100000] [--rounds 5]`
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.insight.facts import Fate, RequestFacts
from bot.insight.index import ReadRequest, RequestIndex, micros
from bot.insight.snapshot import ProjectionSnapshot

SOURCE = "default/bench"
DEPARTMENTS = ("IT", "Marketing", "Finance", "Operations")
FATES = list(Fate)


def synthetic_rows(count: int) -> list[ReadRequest]:
    """`count` requests over the last 30 days, closed but for the last fate (running)."""
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / count
    rows = []
    for n in range(count):
        filed = start + n * step
        fate = FATES[n % len(FATES)]
        decided = fate in (Fate.AUTO_APPROVED, Fate.MANUALLY_APPROVED, Fate.REJECTED)
        facts = RequestFacts(
            request_id=f"PR-BENCH{n:08d}",
            department=DEPARTMENTS[n % len(DEPARTMENTS)],
            filed_at=filed,
            amount=Decimal(10 + n % 990) + Decimal("0.90"),
            currency="EUR",
            fate=fate,
            reviewed=fate is not Fate.INVALID,
            review_seconds=0.2 + (n % 7) / 10,
            confidence=0.9 if fate is Fate.AUTO_APPROVED else None,
            decision_seconds=float(60 * (n % 300)) if decided else None,
        )
        rows.append(
            ReadRequest(
                run_id=f"run-{n:08d}",
                start_us=micros(filed),
                closed=fate is not Fate.RUNNING,
                facts=facts,
                flaggable=fate is Fate.AUTO_APPROVED,
            )
        )
    return rows


def seconds(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rows = synthetic_rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp:
        path = Path(tmp) / "dashboard-projection.db"
        snapshot = ProjectionSnapshot(path)
        now = datetime.now(UTC)
        written = seconds(lambda: snapshot.save_all(rows, now, SOURCE))
        size_mb = path.stat().st_size / 1e6
        loads, floors = [], []
        for _ in range(args.rounds):

            def load_and_index() -> None:
                kept = snapshot.load(SOURCE)
                assert kept is not None and len(RequestIndex(kept.rows)) == args.rows

            loads.append(seconds(load_and_index))
            floors.append(seconds(lambda: RequestIndex(rows)))
    load, floor = statistics.median(loads), statistics.median(floors)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bench.dashboard_snapshot: {args.rows:,} rows, {args.rounds} rounds")
    print(f"  write every row (save_all)   {written:6.2f} s  ({size_mb:.0f} MB on disk)")
    each = ", ".join(f"{s:.2f}" for s in loads)
    print(f"  load + index (median)        {load:6.2f} s  (all: {each})")
    print(f"  floor: index in memory       {floor:6.2f} s  -> {load / floor:.1f}x the floor")
    print(f"  peak RSS of this process     {peak_mb:6.0f} MB")


if __name__ == "__main__":
    main()
