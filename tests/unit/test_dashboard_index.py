"""The dashboard's index (per-hour totals, bot/insight/index.py) answers any period exactly as
counting the period's requests one by one does, also after requests are read anew, and its kept
answers never outlive a change."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.insight.dashboard import Dashboard, Period, RolloutFigures, dashboard_figures
from bot.insight.facts import Fate, RequestFacts
from bot.insight.index import ReadRequest, RequestIndex, micros
from bot.insight.totals import Totals

START = datetime(2026, 11, 1, 22, 17, tzinfo=UTC)
DEPARTMENTS = ("IT", "Marketing", "Finance")
NO_ROLLOUT = RolloutFigures(None, 0.0, None, None, 0)
PERIOD = Period(since=START, until=START)


def _row(rng: random.Random, n: int, *, running: bool = False) -> ReadRequest:
    started = START + timedelta(seconds=rng.randrange(3 * 86400), microseconds=rng.randrange(10**6))
    department = rng.choice(DEPARTMENTS)
    fate = Fate.RUNNING if running else rng.choice(list(Fate))
    reviewed = fate not in (Fate.INVALID, Fate.RUNNING) and rng.random() < 0.8
    auto = fate is Fate.AUTO_APPROVED
    facts = RequestFacts(
        request_id=f"r{n}",
        department=department,
        filed_at=started,
        amount=Decimal(rng.randrange(100, 99_999)) / 100,
        currency="USD" if department == "Finance" and rng.random() < 0.1 else "EUR",
        fate=fate,
        reviewed=reviewed,
        review_seconds=rng.random() * 4000 if reviewed else None,
        confidence=rng.random() if auto else None,
        decision_seconds=rng.random() * 9000 if fate is not Fate.RUNNING else None,
    )
    return ReadRequest(f"run-{n}", micros(started), not running, facts, auto)


def _figures(totals: Totals, flagged: int = 0) -> Dashboard:
    return dashboard_figures(PERIOD, totals, flagged, NO_ROLLOUT)


def _counted(rows: list[ReadRequest], since: datetime, until: datetime, dept: str | None) -> Totals:
    return Totals.of(
        r.facts
        for r in rows
        if micros(since) <= r.start_us < micros(until) and dept in (None, r.facts.department)
    )


def test_any_period_adds_up_to_counting_its_requests_one_by_one() -> None:
    rng = random.Random(13)
    first = [_row(rng, n, running=rng.random() < 0.3) for n in range(600)]
    index = RequestIndex()
    for row in rng.sample(first, len(first)):  # in no particular order, as reads finish
        index.put(row)
    # Some running requests close: read anew, same run and start, new facts.
    latest = {r.run_id: r for r in first}
    for row in first:
        if not row.closed and rng.random() < 0.5:
            closed = _row(random.Random(row.run_id), 0)
            facts = replace(closed.facts, request_id=row.facts.request_id)
            again = ReadRequest(row.run_id, row.start_us, True, facts, closed.flaggable)
            index.put(again)
            latest[row.run_id] = again
    rows = list(latest.values())
    assert len(index) == len(rows)
    flagged = frozenset(r.facts.request_id for r in rows if rng.random() < 0.2)
    periods = [(START - timedelta(days=1), START + timedelta(days=5))]  # every hour whole
    for _ in range(40):
        since = START + timedelta(seconds=rng.randrange(-3600, 3 * 86400))
        periods.append((since, since + timedelta(seconds=rng.randrange(1, 2 * 86400))))
    for since, until in periods:
        for department in (None, *DEPARTMENTS):
            expected = _counted(rows, since, until, department)
            assert _figures(index.totals(since, until, department)) == _figures(expected)
            flags = sum(
                r.flaggable and r.facts.request_id in flagged
                for r in rows
                if micros(since) <= r.start_us < micros(until)
                and department in (None, r.facts.department)
            )
            assert index.flagged(since, until, department, flagged) == flags
            selected = index.rows(since, until, department)
            assert sorted(r.run_id for r in selected) == sorted(
                r.run_id
                for r in rows
                if micros(since) <= r.start_us < micros(until)
                and department in (None, r.facts.department)
            )


def test_a_kept_answer_is_dropped_when_a_request_arrives_or_changes() -> None:
    rng = random.Random(7)
    index = RequestIndex(_row(rng, n) for n in range(50))
    since, until = START - timedelta(days=1), START + timedelta(days=5)
    before = index.totals(since, until, None)
    assert index.totals(since, until + timedelta(hours=1), None) is before  # same requests
    late = _row(rng, 50, running=True)
    index.put(late)
    assert index.totals(since, until, None).filed == before.filed + 1
    closed = _row(random.Random(1), 0)
    index.put(ReadRequest(late.run_id, late.start_us, True, closed.facts, False))
    after = index.totals(since, until, None)
    assert after.filed == before.filed + 1
    assert after.fates[Fate.RUNNING] == before.fates[Fate.RUNNING]


def test_the_means_do_not_depend_on_the_order_requests_arrive_in() -> None:
    confidences = [0.1, 0.2, 0.3, 1e-17, 0.7, 0.123456789]
    facts = [
        RequestFacts(f"r{n}", "IT", START, Decimal(1), "EUR", Fate.AUTO_APPROVED, confidence=c)
        for n, c in enumerate(confidences)
    ]
    assert Totals.of(facts).avg_confidence == Totals.of(reversed(facts)).avg_confidence
