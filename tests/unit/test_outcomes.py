"""One description of how a request ended (domain/outcomes.py), rendered by the CLI, the
plain-text notifier and the Slack blocks alike; and the names that are stored (actors, workflow
type, id prefixes) spelled in one place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from temporalio.workflow import _Definition

from activities.notifier import outcome_text
from bot.cli import describe_result
from bot.slack import blocks
from domain.actors import AUTOMATED_SYSTEM, SYSTEM, mention
from domain.models import (
    ApprovalResult,
    OutcomeNotificationInput,
    PlaceOrderResult,
    PurchaseResult,
    PurchaseStatus,
)
from domain.outcomes import describe_outcome
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE, purchase_workflow_id, request_id_of
from tests.unit.test_blocks import NOW, PRODUCT, REQUEST, REVIEW
from workflows.purchase_approval import PurchaseApprovalWorkflow

REPO = Path(__file__).resolve().parents[2]
ORDER = PlaceOrderResult(order_id="ORD-1", idempotency_key="k", total=REQUEST.amount, placed_at=NOW)
AUTO_REVIEW = REVIEW.model_copy(
    update={"auto_approved": True, "confidence": 0.9, "reason": "All criteria met"}
)


def approval(by: str, approved: bool = True, comments: str = "") -> ApprovalResult:
    return ApprovalResult(approved=approved, decided_by=by, decided_at=NOW, comments=comments)


def ended(status: PurchaseStatus, **fields: object) -> PurchaseResult:
    return PurchaseResult.model_validate(
        {"request_id": REQUEST.request_id, "status": status, "code_path": "patched"}
        | {"product": PRODUCT}
        | fields
    )


# (result, headline, what the plain sentence says after the headline's first word)
CASES = {
    "approved by a manager": (
        ended(PurchaseStatus.COMPLETED, approval=approval("UCARLOS", comments="ok"), order=ORDER),
        "approved and ordered",
        "Approved by UCARLOS and ordered: order ORD-1, 39.90 EUR.",
    ),
    "auto-approved": (
        ended(
            PurchaseStatus.COMPLETED,
            approval=approval(AUTOMATED_SYSTEM),
            review=AUTO_REVIEW,
            order=ORDER,
        ),
        "auto-approved and ordered",
        "Auto-approved and ordered: order ORD-1, 39.90 EUR.",
    ),
    "rejected by a manager": (
        ended(
            PurchaseStatus.REJECTED,
            approval=approval("UCARLOS", approved=False, comments="too dear"),
            reason="too dear",
        ),
        "rejected",
        "Rejected by UCARLOS: too dear.",
    ),
    "timed out": (
        ended(
            PurchaseStatus.REJECTED,
            approval=approval(SYSTEM, approved=False),
            reason="Approval timeout after 7 days",
        ),
        "rejected",
        "Rejected: Approval timeout after 7 days.",
    ),
    "invalid product": (
        ended(PurchaseStatus.REJECTED, product=None, reason="Not in the catalog."),
        "rejected",
        "Rejected: Not in the catalog.",
    ),
    "cancelled": (
        ended(PurchaseStatus.CANCELLED, reason="bought it myself"),
        "cancelled",
        "Cancelled: bought it myself.",
    ),
    "order failed": (
        ended(
            PurchaseStatus.FAILED,
            approval=approval("UCARLOS"),
            reason="The order could not be placed (store down); nothing was bought.",
        ),
        "approved but could not be ordered",
        "Approved by UCARLOS but could not be ordered: The order could not be placed "
        "(store down); nothing was bought.",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_renderer_tells_the_same_outcome(case: str) -> None:
    result, headline, sentence = CASES[case]
    outcome = describe_outcome(result)
    assert outcome.headline == headline
    assert outcome.sentence() == sentence
    # The CLI prints the sentence; the notifier's text and the Slack DM say the same.
    assert describe_result(result).startswith(sentence)
    told = outcome_text(OutcomeNotificationInput(request=REQUEST, result=result))
    assert told.endswith(f"was {sentence[0].lower()}{sentence[1:]}")
    dm = str(blocks.outcome_blocks(REQUEST, result))
    assert f"Your purchase was {headline}" in dm
    assert outcome.sentence(mention) in dm


def test_a_failed_order_is_never_described_as_rejected() -> None:
    result = CASES["order failed"][0]
    for text in (
        describe_result(result),
        outcome_text(OutcomeNotificationInput(request=REQUEST, result=result)),
        str(blocks.outcome_blocks(REQUEST, result)),
        blocks.outcome_line(result),
    ):
        assert "could not be ordered" in text and "ejected" not in text


def test_only_an_automated_approval_is_automated_and_explained() -> None:
    for case, (result, _, _) in CASES.items():
        outcome = describe_outcome(result)
        assert outcome.automated == (case == "auto-approved")
        assert bool(outcome.why) == (case == "auto-approved")
    auto = describe_outcome(CASES["auto-approved"][0])
    assert auto.why == "All criteria met (confidence 0.90)"
    assert "Review: All criteria met (confidence 0.90)." in describe_result(
        CASES["auto-approved"][0]
    )


def test_the_approvers_words_and_when_appear_in_slack() -> None:
    line = blocks.outcome_line(CASES["approved by a manager"][0])
    assert line.startswith(":white_check_mark: Approved by <@UCARLOS> and ordered")
    assert "2026-11-28 09:30 UTC" in line and "> ok" in line
    assert "<@" not in blocks.outcome_line(CASES["timed out"][0])


def test_decisions_by_the_system_or_the_review_name_no_person() -> None:
    assert "by the system" in blocks.decision_line(approval(SYSTEM, approved=False))
    assert "by the automated review" in blocks.decision_line(approval(AUTOMATED_SYSTEM))
    assert "by <@UCARLOS>" in blocks.decision_line(approval("UCARLOS"))
    delegated = approval("UDIANA").model_copy(update={"on_behalf_of": "UHELEN"})
    assert "by <@UDIANA> on behalf of <@UHELEN> on" in blocks.decision_line(delegated)


def test_the_workflow_type_and_ids_come_from_one_place() -> None:
    assert _Definition.must_from_class(PurchaseApprovalWorkflow).name == PURCHASE_WORKFLOW_TYPE
    assert request_id_of(purchase_workflow_id("PR-1A2B3C4D")) == "PR-1A2B3C4D"
    # The stored spellings: changing them would orphan running workflows and audit trails.
    assert (PURCHASE_WORKFLOW_TYPE, purchase_workflow_id("X")) == (
        "PurchaseApprovalWorkflow",
        "purchase-X",
    )
    assert (SYSTEM, AUTOMATED_SYSTEM) == ("system", "automated_system")


STORED_NAMES = re.compile(
    r"""["'](automated_system|system|PurchaseApprovalWorkflow|purchase-|purchasebot-rollout-)["']"""
)
DEFINED_IN = {"domain/actors.py", "domain/workflow_ids.py"}


def test_stored_names_are_spelled_only_where_they_are_defined() -> None:
    spelled = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for package in ("activities", "appconfig", "bot", "domain", "entities", "workflows")
        for path in sorted((REPO / package).rglob("*.py"))
        if str(path.relative_to(REPO)) not in DEFINED_IN
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if STORED_NAMES.search(line) and not line.strip().startswith("#")
    ]
    assert spelled == [], "use domain/actors.py or domain/workflow_ids.py:\n" + "\n".join(spelled)


def test_what_people_wrote_is_shown_literally_in_slack_and_plainly_in_the_cli() -> None:
    result = ended(
        PurchaseStatus.REJECTED,
        approval=approval("UCARLOS", approved=False, comments="<!channel> no"),
        reason="<!channel> no",
    )
    for slack_text in (
        blocks.outcome_line(result),
        str(blocks.outcome_blocks(REQUEST, result)),
        outcome_text(OutcomeNotificationInput(request=REQUEST, result=result)),
    ):
        assert "&lt;!channel&gt; no" in slack_text and "<!channel>" not in slack_text
    assert describe_result(result) == "Rejected by UCARLOS: <!channel> no."
