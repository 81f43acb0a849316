"""The backtest arithmetic (domain/backtest.py): more, fewer, rejected by a manager, what is left
out, and the history criterion judged with each requester's history at filing time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from appconfig.files import load_yaml_model
from domain.backtest import (
    BacktestFigures,
    PastRequest,
    RequesterBaseline,
    ReviewInputs,
    RulePair,
    affected_departments,
    backtest,
    backtest_period,
    needs_history,
)
from domain.models import Money
from domain.review_rules import RulesFile, UserHistory
from domain.rules_versions import rules_with

SHIPPED = load_yaml_model(Path(__file__).resolve().parents[2] / "rules.yaml", RulesFile).value
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SINCE, UNTIL = backtest_period(NOW)
# IT asks for 5 previous purchases and no rejection in 30 days; max amount 1000.
NONE_IMPORTED = UserHistory(previous_purchases=0, rejected_last_30_days=0)
GOOD = RequesterBaseline(completed_now=9, imported=NONE_IMPORTED)
_serial = iter(range(1, 1_000_000))


def req(
    amount: str,
    *,
    path: str | None = "manual",
    outcome: str | None = "completed",
    days_ago: float = 10,
    closed_after_hours: float | None = 1,
    employee: str = "E1",
    department: str = "IT",
    category: str = "electronics",
    inputs: bool = True,
) -> PastRequest:
    filed = NOW - timedelta(days=days_ago)
    return PastRequest(
        request_id=f"PR-{next(_serial)}",
        employee_id=employee,
        department=department,
        filed_at=filed,
        closed_at=None
        if closed_after_hours is None
        else filed + timedelta(hours=closed_after_hours),
        outcome=outcome,
        review_path=path,
        inputs=(
            ReviewInputs(Money(amount=Decimal(amount)), category=category, vendor="amazon.es")
            if inputs
            else None
        ),
    )


def run(
    requests: list[PastRequest],
    proposed: RulesFile,
    baselines: dict[str, RequesterBaseline] | None = None,
) -> BacktestFigures:
    return backtest(
        requests,
        current=SHIPPED,
        proposed=proposed,
        baselines={"E1": GOOD} if baselines is None else baselines,
        since=SINCE,
        until=UNTIL,
    )


def test_a_change_that_changes_nothing_shows_no_difference() -> None:
    requests = [
        req("900", path="auto_approved"),
        req("1500", outcome="rejected"),
        req("50", category="toys"),
    ]
    figures = run(requests, SHIPPED)
    assert (figures.more, figures.fewer, figures.compared) == (0, 0, 3)
    assert figures.actual_auto_approved == figures.would_auto_approve == 1


def test_a_higher_max_amount_alone_changes_nothing_while_the_department_limit_holds() -> None:
    # IT's department limit (1000) is checked after the history and still sends them to a person.
    figures = run(
        [req("1500", outcome="completed"), req("1800", outcome="rejected")],
        rules_with(SHIPPED, "IT", "max_amount", "2000"),
    )
    assert (figures.more, figures.fewer, figures.compared) == (0, 0, 2)


def test_more_counts_and_rejected_by_a_manager_are_named() -> None:
    proposed = rules_with(SHIPPED, "IT", "max_amount", "2000")
    data = proposed.model_dump(mode="json")
    data["defaults"]["department_limits"]["IT"] = "2000"
    proposed = RulesFile.model_validate(data)
    approved_by_manager = req("1500", outcome="completed")
    rejected_by_manager = req("1800", outcome="rejected")
    too_dear_still = req("2500", outcome="rejected")
    already_auto = req("100", path="auto_approved")
    figures = run(
        [approved_by_manager, rejected_by_manager, too_dear_still, already_auto], proposed
    )
    assert figures.more == 2 and figures.fewer == 0
    assert figures.more_rejected_by_manager == 1
    assert figures.rejected_examples == [rejected_by_manager.request_id]
    assert figures.actual_auto_approved == 1 and figures.would_auto_approve == 3


def test_a_lower_limit_counts_fewer() -> None:
    figures = run(
        [req("900", path="auto_approved"), req("40", path="auto_approved")],
        rules_with(SHIPPED, "IT", "max_amount", "500"),
    )
    assert (figures.more, figures.fewer) == (0, 1)
    assert figures.would_auto_approve == 1


def test_a_defaults_change_reaches_departments_without_their_own_value() -> None:
    sales = req("20", department="Sales", category="electronics", path="auto_approved")
    proposed = rules_with(SHIPPED, "defaults", "trusted_categories", "books")
    figures = run([sales], proposed)
    assert figures.fewer == 1


def test_what_cannot_be_redecided_is_counted_apart() -> None:
    requests = [
        req("900", inputs=False),  # filed before the start attributes existed
        req("900", path="not_reviewed", outcome="invalid"),
        req("900", path=None, outcome=None, closed_after_hours=None),  # still open
        # auto-approved then, but today's rules would not (the review then had other rules)
        req("1500", path="auto_approved"),
        req("900", path="auto_approved", days_ago=45),  # before the period
    ]
    figures = run(requests, rules_with(SHIPPED, "IT", "max_amount", "2000"))
    assert figures.filed == 4
    assert figures.without_inputs == 1
    assert figures.not_reviewed == 2
    assert figures.not_reproduced == 1
    assert figures.compared == 0


def test_the_history_criterion_uses_the_history_at_filing_time() -> None:
    # IT needs 5 previous purchases. E1 has 6 completed now, but 3 of them were approved (and
    # closed) after `early` was filed: `early` had 3 and went to a person.
    early = req("100", days_ago=29, outcome="rejected")
    approved_later = [
        req("10", days_ago=31, closed_after_hours=24 * 6, path="manual") for _ in range(3)
    ]
    # E2 has 9 completed now, `late` among them: it had 8 when it was filed.
    late = req("100", days_ago=5, path="auto_approved", employee="E2")
    baselines = {"E1": RequesterBaseline(6, NONE_IMPORTED), "E2": GOOD}
    requests = [early, *approved_later, late]
    same = run(requests, SHIPPED, baselines)
    assert same.not_reproduced == 0 and same.compared == 2 and same.actual_auto_approved == 1
    lowered = run(
        requests, rules_with(SHIPPED, "IT", "user_history.min_previous_purchases", "3"), baselines
    )
    assert (lowered.more, lowered.fewer, lowered.more_rejected_by_manager) == (1, 0, 1)
    assert lowered.rejected_examples == [early.request_id]
    raised = rules_with(SHIPPED, "IT", "user_history.min_previous_purchases", "9")
    assert run(requests, raised, baselines).fewer == 1, "late had 8, not 9"
    assert (
        run(
            requests,
            rules_with(SHIPPED, "IT", "user_history.min_previous_purchases", "8"),
            baselines,
        ).fewer
        == 0
    )


def test_rejections_count_in_the_30_days_before_filing_even_from_before_the_period() -> None:
    # IT allows no rejection by a person in 30 days. A rejection closed 40 days ago (before
    # the period) counts for a request filed 20 days ago, not for one filed 5 days ago.
    old_rejection = req("5000", days_ago=40, outcome="rejected")
    blocked = req("100", days_ago=20, outcome="completed")
    clear = req("100", days_ago=5, path="auto_approved")
    requests = [old_rejection, blocked, clear]
    assert run(requests, SHIPPED).not_reproduced == 0
    allowing_one = rules_with(SHIPPED, "IT", "user_history.max_rejected_in_last_30_days", "1")
    figures = run(requests, allowing_one)
    assert (figures.more, figures.fewer, figures.more_rejected_by_manager) == (1, 0, 0)


# A change to IT's history criteria: the recorded outcome no longer tells, the counts are needed.
FOUR_PURCHASES = rules_with(SHIPPED, "IT", "user_history.min_previous_purchases", "4")


def test_imported_history_adds_to_the_counts() -> None:
    request = req("100", path="auto_approved")
    imported = RequesterBaseline(0, UserHistory(previous_purchases=5, rejected_last_30_days=0))
    assert run([request], FOUR_PURCHASES, {"E1": imported}).compared == 1
    no_history = {"E1": RequesterBaseline(0, NONE_IMPORTED)}
    assert run([request], FOUR_PURCHASES, no_history).not_reproduced == 1


def test_the_recorded_outcome_says_whether_the_history_passed_when_the_criteria_stay() -> None:
    # Today's rules auto-approve these exactly when the history passes; the change keeps IT's
    # history criteria. Then the review's outcome says it, and no history needs to be read:
    # the one a person got had failed its history, and still fails it under the new rules.
    auto, manual = req("40", path="auto_approved"), req("40", outcome="rejected")
    cheaper = rules_with(SHIPPED, "IT", "max_amount", "30")
    figures = run([auto, manual], cheaper, baselines={})
    assert (figures.compared, figures.not_reproduced) == (2, 0)
    assert (figures.more, figures.fewer) == (0, 1)
    rules = RulePair(SHIPPED, cheaper)
    assert not needs_history(auto, rules) and not needs_history(manual, rules)


def test_history_is_read_only_where_the_rules_reach_it_and_the_outcome_does_not_tell() -> None:
    dear, toy = req("5000", outcome="rejected"), req("50", category="toys")
    invalid = req("50", path="not_reviewed", outcome="invalid")
    cheap = req("50", path="auto_approved")
    unchanged = RulePair(SHIPPED, SHIPPED)
    assert not any(needs_history(r, unchanged) for r in (dear, toy, invalid, cheap))
    # Raising the limits makes the 5000 one reach the history check for the first time.
    data = rules_with(SHIPPED, "IT", "max_amount", "6000").model_dump(mode="json")
    data["defaults"]["department_limits"]["IT"] = "6000"
    raised = RulePair(SHIPPED, RulesFile.model_validate(data))
    assert needs_history(dear, raised) and not needs_history(toy, raised)
    # A change to the history criteria needs it wherever the history check is reached.
    assert needs_history(cheap, RulePair(SHIPPED, FOUR_PURCHASES))
    # Without the history no rule set could pass them, so no baseline is needed for them:
    figures = run([dear, toy], SHIPPED, baselines={})
    assert figures.compared == 2 and figures.not_reproduced == 0


def test_a_requester_whose_history_could_not_be_read_is_judged_history_unavailable() -> None:
    figures = run([req("100", path="auto_approved"), req("100")], FOUR_PURCHASES, baselines={})
    # The review would have sent both to a person: the auto-approved one is not reproduced.
    assert figures.not_reproduced == 1 and figures.compared == 1


def test_only_the_departments_a_change_affects_are_backtested() -> None:
    known = ["IT", "Marketing", "Finance", "Sales"]
    assert affected_departments(SHIPPED, SHIPPED, known) == []
    assert affected_departments(SHIPPED, FOUR_PURCHASES, known) == ["IT"]
    # IT's department limit lives in the defaults, but only IT has it.
    data = SHIPPED.model_dump(mode="json")
    data["defaults"]["department_limits"]["IT"] = "2000"
    assert affected_departments(SHIPPED, RulesFile.model_validate(data), known) == ["IT"]
    # A default every department without its own value uses: any department may be affected.
    assert (
        affected_departments(SHIPPED, rules_with(SHIPPED, "defaults", "max_amount", "9"), known)
        is None
    )
    it, sales = req("40", path="auto_approved"), req("40", path="auto_approved", department="Sales")
    figures = backtest(
        [it, sales],
        current=SHIPPED,
        proposed=FOUR_PURCHASES,
        baselines={"E1": GOOD},
        since=SINCE,
        until=UNTIL,
        departments=["IT"],
    )
    assert figures.filed == 1 and figures.departments == ["IT"]
