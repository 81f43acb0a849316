"""The web dashboard's charts as data: values in, bar heights out (SVG parsed, not eyeballed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.insight.dashboard import Period
from bot.insight.facts import Fate, RequestFacts
from bot.insight.index import ReadRequest, RequestIndex, micros
from bot.insight.source import Selection
from bot.insight.totals import Totals
from bot.web.charts import (
    auto_approval_per_day,
    buckets,
    error_rate_per_build,
    review_time_distribution,
)
from bot.web.svg import PLOT_HEIGHT, Bar, Chart, render
from domain.rollout_models import BuildHealth

SVG = "{http://www.w3.org/2000/svg}"
DAY = datetime(2026, 11, 2, tzinfo=UTC)


def bars_of(svg: str) -> dict[str, float]:
    """label -> bar height in pixels, as drawn."""
    root = ET.fromstring(svg)
    return {
        rect.attrib["data-label"]: float(rect.attrib["height"])
        for rect in root.iter(f"{SVG}rect")
        if rect.attrib.get("class") == "bar"
    }


def no_data_labels(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [t.attrib["data-label"] for t in root.iter(f"{SVG}text") if "data-label" in t.attrib]


def test_bars_are_proportional_to_their_values() -> None:
    chart = Chart("t", (Bar("a", 1.0), Bar("b", 0.5), Bar("c", 0.0), Bar("d", 0.25)), 1.0)
    assert bars_of(render(chart)) == {
        "a": PLOT_HEIGHT,
        "b": PLOT_HEIGHT / 2,
        "c": 0.0,
        "d": PLOT_HEIGHT / 4,
    }


def test_without_a_maximum_the_largest_value_fills_the_plot() -> None:
    heights = bars_of(render(Chart("t", (Bar("x", 3.0), Bar("y", 12.0)))))
    assert heights == {"x": PLOT_HEIGHT / 4, "y": PLOT_HEIGHT}


def test_an_undefined_value_is_marked_no_data_not_drawn_as_zero() -> None:
    svg = render(Chart("t", (Bar("known", 0.5), Bar("unknown", None)), 1.0))
    assert set(bars_of(svg)) == {"known"}
    assert "unknown" in no_data_labels(svg) and "no data" in svg


def test_labels_are_escaped() -> None:
    svg = render(Chart("<R&D>", (Bar("<script>x</script>", 1.0),)))
    ET.fromstring(svg)  # still well-formed
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_an_empty_chart_says_so() -> None:
    assert "nothing in this period" in render(Chart("t", ()))
    assert "no build has been checked" in render(error_rate_per_build({}))


def _facts(at: datetime, fate: Fate, reviewed: bool, review_s: float | None = None) -> RequestFacts:
    return RequestFacts(
        request_id=f"r{at.timestamp()}{fate}",
        department="IT",
        filed_at=at,
        amount=Decimal("10"),
        currency="EUR",
        fate=fate,
        reviewed=reviewed,
        review_seconds=review_s,
    )


def _selection(requests: list[RequestFacts]) -> Selection:
    """The requests as the projection holds them, each started when it was filed."""
    rows = [ReadRequest(r.request_id, micros(r.filed_at), True, r, False) for r in requests]
    return Selection(RequestIndex(rows), None, frozenset())


def test_auto_approval_rate_per_day_is_each_days_dashboard() -> None:
    period = Period(since=DAY, until=DAY + timedelta(days=3))
    requests = [
        _facts(DAY + timedelta(hours=1), Fate.AUTO_APPROVED, True),
        _facts(DAY + timedelta(hours=2), Fate.MANUALLY_APPROVED, True),
        _facts(DAY + timedelta(days=1, hours=3), Fate.AUTO_APPROVED, True),
        # Day 3: only an invalid request, nothing reviewed -> no data.
        _facts(DAY + timedelta(days=2), Fate.INVALID, False),
    ]
    chart = auto_approval_per_day(period, _selection(requests))
    assert [(b.label, b.value, b.caption) for b in chart.bars] == [
        ("11-02", 0.5, "50%"),
        ("11-03", 1.0, "100%"),
        ("11-04", None, "no data"),
    ]
    assert bars_of(render(chart)) == {"11-02": PLOT_HEIGHT / 2, "11-03": PLOT_HEIGHT}


def test_a_request_outside_the_period_is_in_no_bar() -> None:
    since = DAY + timedelta(hours=12)  # a period that starts mid-day
    period = Period(since=since, until=DAY + timedelta(days=1, hours=12))
    requests = [
        _facts(DAY + timedelta(hours=1), Fate.AUTO_APPROVED, True),  # before `since`
        _facts(since, Fate.MANUALLY_APPROVED, True),
        _facts(DAY + timedelta(days=1, hours=12), Fate.AUTO_APPROVED, True),  # at `until`
    ]
    chart = auto_approval_per_day(period, _selection(requests))
    assert [(b.label, b.value) for b in chart.bars] == [("11-02", 0.0), ("11-03", None)]


def test_a_long_period_has_a_bar_per_week() -> None:
    assert len(buckets(Period(since=DAY, until=DAY + timedelta(days=30)))) == 30
    weekly = buckets(Period(since=DAY, until=DAY + timedelta(days=90)))
    assert len(weekly) == 13 and weekly[0][0] == "wk 11-02"
    assert weekly[-1][2] == DAY + timedelta(days=90)  # clipped to the period


def test_review_times_fall_in_their_buckets() -> None:
    times = [0.2, 0.9, 3, 4, 12, 200, 5000]
    requests = [_facts(DAY, Fate.AUTO_APPROVED, True, t) for t in times]
    requests.append(_facts(DAY, Fate.INVALID, False))  # not reviewed: not in any bucket
    counts = {b.label: b.value for b in review_time_distribution(Totals.of(requests)).bars}
    assert counts == {
        "< 1 s": 2,
        "1-5 s": 2,
        "5-30 s": 1,
        "30 s-2 min": 0,
        "2-10 min": 1,
        "10 min-1 h": 0,
        "> 1 h": 1,
    }


def test_error_rate_per_build_shows_the_latest_checked_builds_in_order() -> None:
    def health(build: str, minutes: int, failed: int, completed: int) -> BuildHealth:
        return BuildHealth(
            build_id=build,
            checked_at=DAY + timedelta(minutes=minutes),
            completed=completed,
            failed=failed,
            error_rate=failed / (failed + completed) if failed + completed else 0.0,
        )

    chart = error_rate_per_build(
        {
            "v2": health("v2", 20, 1, 9),
            "v1": health("v1", 10, 0, 10),
            "v3": health("v3", 30, 0, 0),  # nothing measured yet
        }
    )
    assert [(b.label, b.value) for b in chart.bars] == [("v1", 0.0), ("v2", 0.1), ("v3", None)]
