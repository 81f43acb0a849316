"""The `/rules set` confirmation modal as data: no Apply before the effect is shown (or known to
be unavailable), the figures in words, what it carries to the submission."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.slack.rules_command import SetRule
from bot.slack.rules_confirmation import MAX_REASON_CHARS, PendingChange, confirmation_modal
from domain.backtest import BacktestFigures
from domain.rules_versions import RuleChange

CHANGE = PendingChange.of(SetRule("it", "max_amount", "800", "budget *cut*"), "IT", based_on=3)
DIFF = [RuleChange(path="departments.IT.max_amount", old="1000", new="800")]
FIGURES = BacktestFigures(
    since=datetime(2026, 11, 1, tzinfo=UTC),
    until=datetime(2026, 12, 1, tzinfo=UTC),
    filed=40,
    compared=30,
    without_inputs=4,
    not_reviewed=3,
    not_reproduced=3,
    actual_auto_approved=12,
    would_auto_approve=13,
    more=3,
    fewer=2,
    more_rejected_by_manager=1,
    rejected_examples=["PR-AAAA"],
)


def text_of(view: dict[str, object]) -> str:
    return " ".join(str(block) for block in view["blocks"])  # type: ignore[attr-defined]


def test_while_the_backtest_runs_there_is_nothing_to_apply() -> None:
    view = confirmation_modal(CHANGE, DIFF)
    assert "submit" not in view and view["notify_on_close"] is True
    assert "Backtesting the last 30 days" in text_of(view)
    assert "departments.IT.max_amount: 1000 -&gt; 800" in text_of(view)
    assert "_Reason:_ budget *cut*" in text_of(view)


def test_the_figures_are_shown_with_apply() -> None:
    view = confirmation_modal(CHANGE, DIFF, figures=FIGURES)
    shown = text_of(view)
    assert view["submit"] == {"type": "plain_text", "text": "Apply"}
    assert "*3 more* and *2 fewer*" in shown and "13 instead of 12 of the 30" in shown
    assert "*1 had been rejected by a manager* (e.g. PR-AAAA)" in shown
    assert "4 filed before" in shown and "3 that today's rules" in shown


def test_a_failed_backtest_says_so_and_still_lets_ops_apply() -> None:
    view = confirmation_modal(CHANGE, DIFF, problem="Temporal did not answer")
    assert "submit" in view and "could not be run: Temporal did not answer" in text_of(view)


def test_the_change_travels_in_the_metadata() -> None:
    view = confirmation_modal(CHANGE, DIFF)
    assert PendingChange.read(str(view["private_metadata"])) == CHANGE
    assert CHANGE.command == "/rules set IT max_amount 800 budget *cut*"
    assert PendingChange.read("not json") is None
    assert PendingChange.read('{"department": "IT"}') is None
    long = PendingChange.of(SetRule("IT", "max_amount", "1", "x" * 5000), "IT", based_on=1)
    assert len(long.reason) == MAX_REASON_CHARS and len(long.metadata()) < 3000
