"""Block Kit payloads, tested as data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from activities.worker_deployments import DeploymentView
from appconfig.files import load_yaml_model
from bot.rollout_admin import RolloutStatus
from bot.slack import blocks
from bot.slack.command_parsing import NewRequest
from bot.slack.modal_validation import form_errors
from bot.slack.rollout_blocks import rollout_status_blocks
from domain.directory import Directory
from domain.models import (
    ApprovalResult,
    AutomatedReviewResult,
    CodePath,
    JourneyEvent,
    JourneyStep,
    Money,
    PlaceOrderResult,
    ProductInfo,
    PurchaseRequest,
    PurchaseResult,
    PurchaseStatus,
    Stage,
    StatusResult,
)
from domain.rollout_models import RolloutState
from tests.integration.world import REPO

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
REQUEST = PurchaseRequest(
    request_id="PR-1A2B3C4D",
    requester="UNICO",
    employee_id="E1004",
    department="IT",
    manager="UCARLOS",
    product_url="https://www.amazon.es/dp/1449373321",
    quantity=1,
    amount=Money(amount=Decimal("39.90")),
    justification="team book",
)
PRODUCT = ProductInfo(
    asin="1449373321",
    title="Learning Python",
    category="books",
    unit_price=Money(amount=Decimal("39.90")),
    vendor="amazon.es",
    url="https://www.amazon.es/dp/1449373321",
)
REVIEW = AutomatedReviewResult(
    auto_approved=False,
    confidence=0.0,
    reason="User purchase history doesn't meet approval criteria",
    risk_score=0.5,
    review_time=NOW,
    rules_version="abc123",
)


def all_text(payload: object) -> str:
    return str(payload)


def test_approval_request_has_everything_a_manager_needs_and_two_buttons() -> None:
    payload = blocks.approval_request_blocks(
        REQUEST, PRODUCT, REVIEW, code_path=CodePath.PATCHED, build_id="1.0+abc"
    )
    text = all_text(payload)
    for expected in [
        "<@UNICO>",
        "Learning Python",
        "books",
        "39.90 EUR",
        "team book",
        "confidence 0.00",
        "risk 0.50",
        "patched",
        "1.0+abc",
        "PR-1A2B3C4D",
    ]:
        assert expected in text, expected
    [actions] = [b for b in payload if b["type"] == "actions"]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (blocks.APPROVE_ACTION, "PR-1A2B3C4D"),
        (blocks.REJECT_ACTION, "PR-1A2B3C4D"),
    ]


def test_decided_message_has_no_buttons_and_says_who_and_when() -> None:
    approval = ApprovalResult(approved=False, decided_by="UCARLOS", decided_at=NOW, comments="no")
    payload = blocks.decided_blocks(REQUEST, PRODUCT, REVIEW, blocks.decision_line(approval))
    assert all(b["type"] != "actions" for b in payload)
    assert "*Rejected* by <@UCARLOS>" in all_text(payload) and "2026-11-28 09:30 UTC" in all_text(
        payload
    )


def test_auto_approval_dm_says_why_and_the_order() -> None:
    review = REVIEW.model_copy(
        update={
            "auto_approved": True,
            "confidence": 0.9,
            "reason": "All automated approval criteria met",
        }
    )
    result = PurchaseResult(
        request_id=REQUEST.request_id,
        status=PurchaseStatus.COMPLETED,
        code_path=CodePath.PATCHED,
        product=PRODUCT,
        review=review,
        approval=ApprovalResult(approved=True, decided_by="automated_system", decided_at=NOW),
        order=PlaceOrderResult(
            order_id="ORD-1", idempotency_key="k", total=REQUEST.amount, placed_at=NOW
        ),
    )
    text = all_text(blocks.outcome_blocks(REQUEST, result))
    assert "auto-approved" in text and "confidence 0.90" in text and "ORD-1" in text


def test_form_errors_point_at_the_fields() -> None:
    directory = load_yaml_model(REPO / "directory.yaml", Directory).value
    form = NewRequest(url="https://ebay.com/x", amount="0", quantity="two", justification=None)
    assert set(form_errors(form, "UNICO", directory)) == {"url", "amount", "quantity"}
    good = NewRequest(url=REQUEST.product_url, amount="39.90", quantity="1", justification=None)
    assert form_errors(good, "UNICO", directory) == {}
    assert "directory" in form_errors(good, "UNOBODY", directory)["url"]


def test_rollout_status_says_whether_the_feature_flags_can_be_read() -> None:
    status = RolloutStatus(
        deployment=DeploymentView(
            name="purchasebot", current_build="b1", ramping_build=None, ramp_percent=0
        ),
        controller=RolloutState(deployment_name="purchasebot"),
    )
    assert "Feature flags: readable." in str(rollout_status_blocks(status))
    problem = "The feature flags entity purchasebot-feature-flags does not exist"
    shown = str(rollout_status_blocks(status, flags_problem=problem))
    assert "Feature flags unreadable" in shown and problem in shown


def test_status_names_everyone_who_may_decide() -> None:
    waiting = StatusResult(
        request_id=REQUEST.request_id,
        stage=Stage.AWAITING_APPROVAL,
        request=REQUEST,
        approver="UCARLOS",
        deciders=["UCARLOS"],
    )
    assert blocks.assignment_lines(waiting) == ["Waiting for <@UCARLOS>"]
    # Builds from before `deciders`: the approver alone.
    older = waiting.model_copy(update={"deciders": []})
    assert blocks.assignment_lines(older) == ["Waiting for <@UCARLOS>"]
    delegated = waiting.model_copy(update={"approver": "UDIANA", "on_behalf_of": "UCARLOS"})
    delegated.deciders = ["UDIANA"]
    assert blocks.assignment_lines(delegated) == ["Waiting for <@UDIANA> on behalf of <@UCARLOS>"]
    second = waiting.model_copy(
        update={
            "level": 2,
            "levels": 2,
            "approver": "UHELEN",
            "deciders": ["UHELEN", "UFIONA", "UGEORGE"],
        }
    )
    assert blocks.assignment_lines(second) == ["Waiting for <@UHELEN>, <@UFIONA> or <@UGEORGE>"]


def test_whoever_was_asked_to_decide_may_look_at_a_request() -> None:
    asked = [
        JourneyEvent(at=NOW, step=JourneyStep.DELEGATED, person="UDIANA", level=1),
        JourneyEvent(at=NOW, step=JourneyStep.DECIDED, person="UDIANA", level=1),
        JourneyEvent(at=NOW, step=JourneyStep.ASKED, person="UHELEN", level=2),
    ]
    second = StatusResult(
        request_id=REQUEST.request_id,
        stage=Stage.AWAITING_APPROVAL,
        request=REQUEST,
        approver="UHELEN",
        deciders=["UHELEN", "UFIONA"],
        journey=asked,
        level=2,
        levels=2,
    )
    # The requester, their manager, the delegate who gave the first approval, and the pool.
    for person in ("UNICO", "UCARLOS", "UDIANA", "UHELEN", "UFIONA"):
        assert second.involves(person), person
    assert not second.involves("UBOB")
