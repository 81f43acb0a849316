"""The App Home's own sections as data: the approvals waiting for a manager carry the approval
message's buttons (same action ids and values, one block id per request), and the dashboard's
figures read as words."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.insight.dashboard import Period, RolloutFigures, build_dashboard
from bot.insight.facts import Fate, RequestFacts
from bot.slack import blocks
from bot.slack.home_blocks import (
    MAX_APPROVALS_SHOWN,
    NOTHING_WAITING,
    SECTION_LIMIT,
    dashboard_blocks,
    waiting_approval_blocks,
)
from bot.slack.waiting_approvals import waits_for
from domain.models import ApprovalResult, Stage, StatusResult
from tests.unit.test_blocks import NOW, PRODUCT, REQUEST, REVIEW


def waiting(request_id: str, **changes: object) -> StatusResult:
    status = StatusResult(
        request_id=request_id,
        stage=Stage.AWAITING_APPROVAL,
        request=REQUEST.model_copy(update={"request_id": request_id, "requested_at": NOW}),
        product=PRODUCT,
        review=REVIEW,
        approver="UCARLOS",
    )
    return status.model_copy(update=changes)


def buttons(found: list[blocks.Block]) -> list[tuple[str, str, str]]:
    return [
        (b["block_id"], e["action_id"], e["value"])
        for b in found
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_each_waiting_request_has_the_dms_buttons_under_its_own_block_id() -> None:
    found = waiting_approval_blocks([waiting("PR-AAAA1111"), waiting("PR-BBBB2222")])
    assert buttons(found) == [
        ("home-decision-PR-AAAA1111", blocks.APPROVE_ACTION, "PR-AAAA1111"),
        ("home-decision-PR-AAAA1111", blocks.REJECT_ACTION, "PR-AAAA1111"),
        ("home-decision-PR-BBBB2222", blocks.APPROVE_ACTION, "PR-BBBB2222"),
        ("home-decision-PR-BBBB2222", blocks.REJECT_ACTION, "PR-BBBB2222"),
    ]
    text = str(found)
    assert "Waiting for your decision* (2)" in text and "team book" in text


def test_the_buttons_are_the_approval_messages_own() -> None:
    dm = blocks.approval_request_blocks(REQUEST, PRODUCT, REVIEW, code_path="p", build_id="b")
    home = waiting_approval_blocks([waiting(REQUEST.request_id)])

    def elements(found: list[blocks.Block]) -> list[blocks.Block]:
        return [e for b in found if b["type"] == "actions" for e in b["elements"]]

    assert elements(home) == elements(dm)


def test_a_long_queue_is_cut_to_what_slack_shows() -> None:
    many = [waiting(f"PR-{n:08d}") for n in range(MAX_APPROVALS_SHOWN + 3)]
    found = waiting_approval_blocks(many)
    assert len(buttons(found)) == 2 * MAX_APPROVALS_SHOWN
    assert "…and 3 more" in str(found) and len(found) < 100


def test_nothing_waiting_says_so() -> None:
    assert NOTHING_WAITING in str(waiting_approval_blocks([]))


def test_only_an_undecided_request_waiting_for_this_person_counts() -> None:
    assert waits_for(waiting("PR-1"), "UCARLOS")
    assert not waits_for(waiting("PR-1"), "UHELEN")
    assert waits_for(waiting("PR-1", approver="UHELEN"), "UHELEN")  # escalated to Helen
    assert waits_for(waiting("PR-1", approver=None), "UCARLOS")  # older build: the manager
    assert not waits_for(waiting("PR-1", stage=Stage.PURCHASING), "UCARLOS")
    decided = ApprovalResult(approved=True, decided_by="UCARLOS", decided_at=NOW)
    assert not waits_for(waiting("PR-1", approval=decided), "UCARLOS")


def test_the_dashboard_reads_as_words_with_undefined_rates_as_dashes() -> None:
    period = Period(since=NOW - timedelta(days=30), until=NOW)
    figures = build_dashboard(period, [], RolloutFigures("v7", 30.0, 0.02, 1.5, 1, (2.5,)))
    text = str(dashboard_blocks(figures))
    assert "last 30 days" in text and "0 filed · 0 reviewed" in text
    assert "Auto-approval rate —" in text  # 0/0
    assert (
        "Build `v7` · rollout 30% · error rate 2% · p99 1.5 s · rollbacks 1 (median 2.5 s)" in text
    )
    assert "/purchase dashboard" in text


def test_many_departments_stay_within_slacks_section_limit() -> None:
    period = Period(since=NOW - timedelta(days=30), until=NOW)
    requests = [
        RequestFacts(f"r{n}", f"Department number {n}", NOW, Decimal("1"), "EUR", Fate.RUNNING)
        for n in range(300)
    ]
    figures = build_dashboard(period, requests, RolloutFigures(None, 0.0, None, None, 0))
    (section, _) = dashboard_blocks(figures)
    assert len(section["text"]["text"]) <= SECTION_LIMIT
