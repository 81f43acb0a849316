"""The approval journey as data: reminder messages, what `/purchase status` shows of the way to a
decision, and the timings' configuration."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from activities.approval_plan import ApprovalTimings
from activities.notifier import message_text
from appconfig.files import load_yaml_model
from appconfig.settings import Settings
from bot.slack import blocks
from bot.slack.rules_command import rules_blocks
from domain.directory import Directory
from domain.models import (
    ApprovalRequestInput,
    CodePath,
    JourneyEvent,
    JourneyStep,
    MessageInput,
    MessageKind,
    Stage,
    StatusResult,
)
from domain.review_rules import RuleOverride, RulesFile
from domain.rules_versions import first_version
from tests.integration.world import REPO
from tests.unit.test_blocks import NOW, PRODUCT, REQUEST, REVIEW

NOTE = "Reminder 1 of 2: this request has been waiting for you since 2026-11-28 09:30 UTC."


def test_a_reminder_has_the_same_buttons_and_says_it_is_one() -> None:
    first = blocks.approval_request_blocks(
        REQUEST, PRODUCT, REVIEW, code_path=CodePath.PATCHED, build_id="b"
    )
    reminder = blocks.approval_request_blocks(
        REQUEST, PRODUCT, REVIEW, code_path=CodePath.PATCHED, build_id="b", note=NOTE
    )
    assert reminder[1:] == first
    assert NOTE in str(reminder[0])
    message = MessageInput(
        kind=MessageKind.REMINDER,
        key="purchase-PR-1:reminder-1:UCARLOS",
        recipient="UCARLOS",
        approval=ApprovalRequestInput(
            request=REQUEST, product=PRODUCT, review=REVIEW, code_path="patched", note=NOTE
        ),
    )
    assert message_text(message).startswith(NOTE + " Approval needed for request PR-1A2B3C4D")


def test_status_shows_who_was_asked_and_when_they_were_reminded() -> None:
    journey = [
        JourneyEvent(at=NOW, step=JourneyStep.ASKED, person="UCARLOS"),
        JourneyEvent(at=NOW + timedelta(days=1), step=JourneyStep.REMINDED, person="UCARLOS"),
        JourneyEvent(at=NOW + timedelta(days=4), step=JourneyStep.REMINDED, person="UCARLOS"),
    ]
    journey.append(
        JourneyEvent(at=NOW + timedelta(days=5), step=JourneyStep.ESCALATED, person="UHELEN")
    )
    line = blocks.journey_line(journey)
    assert line.startswith("Asked <@UCARLOS> <!date^")
    assert line.count("reminded <!date^") == 2
    assert "escalated to <@UHELEN> <!date^" in line and "2026-12-03 09:30 UTC" in line
    assert "2026-11-29 09:30 UTC" in line and "2026-12-02 09:30 UTC" in line
    status = StatusResult(
        request_id=REQUEST.request_id,
        stage=Stage.AWAITING_APPROVAL,
        request=REQUEST,
        journey=journey,
    )
    assert line in str(blocks.status_blocks(status))
    assert blocks.journey_line([]) == ""
    # `/purchase status` (the list) shows the latest follow-up of a waiting request.
    assert blocks.last_follow_up(journey).startswith("escalated to <@UHELEN> <!date^")
    assert blocks.last_follow_up(journey[:2]).startswith("reminded <!date^")
    assert blocks.last_follow_up(journey[:1]) == ""


def test_reminder_days_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().reminder_after_days == (1.0, 4.0)
    monkeypatch.setenv("PURCHASEBOT_REMINDER_AFTER_DAYS", "3, 0.5")
    days = Settings().reminder_after_days
    assert days == (0.5, 3.0)
    assert ApprovalTimings.from_days(days).reminders_after == (
        timedelta(hours=12),
        timedelta(days=3),
    )
    monkeypatch.setenv("PURCHASEBOT_REMINDER_AFTER_DAYS", "")
    assert Settings().reminder_after_days == ()
    assert Settings().escalate_after_days == 5.0
    assert ApprovalTimings.from_days((), 5.0).escalate_after == timedelta(days=5)
    monkeypatch.setenv("PURCHASEBOT_ESCALATE_AFTER_DAYS", "0")
    assert ApprovalTimings.from_days((), Settings().escalate_after_days).escalate_after is None
    monkeypatch.setenv("PURCHASEBOT_ESCALATE_AFTER_DAYS", "-1")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.delenv("PURCHASEBOT_ESCALATE_AFTER_DAYS")
    for bad in ("0", "-1", "soon"):
        monkeypatch.setenv("PURCHASEBOT_REMINDER_AFTER_DAYS", bad)
        with pytest.raises(ValidationError):
            Settings()


def test_a_message_the_request_moved_away_from_keeps_its_facts_and_loses_its_buttons() -> None:
    line = ":arrow_heading_up: Moved to <@UHELEN>: no decision after 5 days."
    payload = blocks.decided_blocks(REQUEST, PRODUCT, REVIEW, line, title="Purchase request moved")
    assert all(b["type"] != "actions" for b in payload)
    assert "Purchase request moved" in str(payload) and line in str(payload)
    assert "PR-1A2B3C4D" in str(payload)


def test_second_approvers_are_the_head_then_finance_and_must_be_people() -> None:
    directory = load_yaml_model(REPO / "directory.yaml", Directory).value
    assert directory.second_approvers("IT") == ["UHELEN", "UFIONA", "UGEORGE"]
    assert directory.second_approvers("Operations") == ["UOLIVIA", "UFIONA", "UGEORGE"]
    george_heads = directory.model_copy(update={"department_heads": {"Finance": "UGEORGE"}})
    assert george_heads.second_approvers("Finance") == ["UGEORGE", "UFIONA"]  # head once
    assert directory.second_approvers("Nowhere") == ["UFIONA", "UGEORGE"]
    data = directory.model_dump()
    data["department_heads"] = {"IT": "UNOBODY"}
    with pytest.raises(ValidationError, match="IT: UNOBODY in department_heads but not in people"):
        Directory.model_validate(data)


def test_the_second_approval_threshold_is_a_live_rule_per_department() -> None:
    rules = load_yaml_model(REPO / "rules.yaml", RulesFile).value
    assert rules.for_department("IT").second_approval_above == Decimal(2000)
    changed = rules.model_copy(
        update={"departments": {"IT": RuleOverride(second_approval_above=Decimal(5000))}}
    )
    assert changed.for_department("IT").second_approval_above == Decimal(5000)
    assert changed.for_department("Marketing").second_approval_above == Decimal(2000)
    # Rules stored before the field existed still read, with the default.
    stored = rules.model_dump(mode="json")
    del stored["defaults"]["second_approval_above"]
    assert RulesFile.model_validate(stored).defaults.second_approval_above == Decimal(2000)


def test_rules_view_shows_the_second_approval_threshold() -> None:
    rules = load_yaml_model(REPO / "rules.yaml", RulesFile).value
    changed = rules.model_copy(
        update={"departments": {"IT": RuleOverride(second_approval_above=Decimal(5000))}}
    )
    version = first_version(changed, author="test", at=NOW, reason="seed")
    shown = str(rules_blocks(version, ["IT", "Marketing"]))
    assert shown.count("a second approval (head or finance) above 2000") == 2  # defaults, Mkt
    assert "a second approval (head or finance) above 5000" in shown  # IT's own
