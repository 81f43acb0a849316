"""`/rollout history [page]`: parsed apart from the rest of /rollout, rendered as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.slack.command_parsing import Unparseable
from bot.slack.ops_history import PAGE_SIZE, ops_history_blocks
from bot.slack.rollout_command import ShowHistory, parse_rollout_command
from domain.models import AuditEntry

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entries(n: int) -> list[AuditEntry]:
    return [
        AuditEntry(
            at=T0 + timedelta(minutes=i),
            actor="UOLIVIA" if i % 2 else "api:ops-1",
            action="ops_command_refused" if i == 3 else "ops_command",
            detail=f"/rollout b{i} 10 <script>",
        )
        for i in range(n)
    ]


def test_history_takes_an_optional_page() -> None:
    assert parse_rollout_command("history") == ShowHistory(1)
    assert parse_rollout_command("history 3") == ShowHistory(3)
    for bad in ("history 0", "history two", "history 1 2"):
        assert isinstance(parse_rollout_command(bad), Unparseable), bad


def test_newest_first_a_page_at_a_time_with_the_way_to_older_ones() -> None:
    trail = entries(PAGE_SIZE + 5)
    first = ops_history_blocks(trail, 1)
    text = " ".join(b["text"]["text"] for b in first if b["type"] == "section")
    assert "page 1 of 2" in text
    newest = f"/rollout b{PAGE_SIZE + 4} 10"
    assert text.index(newest) < text.index(f"/rollout b{PAGE_SIZE + 3} 10")
    assert "/rollout b4 10" not in text  # on page 2
    assert "`/rollout history 2`" in first[-1]["elements"][0]["text"]
    second = " ".join(str(b) for b in ops_history_blocks(trail, 2))
    assert "page 2 of 2" in second and "/rollout b0 10" in second
    assert "history 3" not in second
    assert "only 2 pages" in str(ops_history_blocks(trail, 3))


def test_people_are_mentioned_refusals_marked_and_details_escaped() -> None:
    text = str(ops_history_blocks(entries(4), 1))
    assert "<@UOLIVIA>" in text and "`api:ops-1`" in text
    assert ":no_entry: *ops_command_refused*" in text
    assert "&lt;script&gt;" in text and "<script>" not in text


def test_every_section_fits_slack_limits() -> None:
    long = [e.model_copy(update={"detail": "x" * 2000}) for e in entries(PAGE_SIZE)]
    for block in ops_history_blocks(long, 1):
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert "empty" in str(ops_history_blocks([], 1))
