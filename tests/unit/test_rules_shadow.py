"""Shadow review, pure parts: setting a candidate (and its refusals), promoting it, the status
figures' arithmetic, and `/rules shadow` parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appconfig.files import load_yaml_model
from bot.insight.shadow import ShadowFact, shadow_fact, shadow_figures
from bot.slack.command_parsing import Unparseable
from bot.slack.rules_command import ShadowWords, parse_rules_command
from bot.slack.rules_shadow_command import (
    ShadowPromote,
    ShadowSet,
    ShadowStart,
    ShadowStatus,
    ShadowStop,
    ShowShadow,
    parse_shadow_command,
)
from domain.actors import AUTOMATED_SYSTEM, SHADOW_REVIEW, SYSTEM, is_person
from domain.models import (
    ApprovalResult,
    AutomatedReviewResult,
    CodePath,
    PurchaseResult,
    PurchaseStatus,
    ShadowVerdict,
)
from domain.review_rules import RulesFile
from domain.rules_shadow import (
    PromoteShadowInput,
    SetShadowInput,
    candidate_of,
    in_shadow,
    promoted_version,
    shadow_view,
    with_shadow,
)
from domain.rules_versions import (
    RulesEntityState,
    ShadowCandidate,
    first_version,
    next_version,
    rules_with,
    with_version,
)

SHIPPED = load_yaml_model(Path(__file__).resolve().parents[2] / "rules.yaml", RulesFile).value
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)
LOWER = rules_with(SHIPPED, "IT", "max_amount", "20")


def fresh() -> RulesEntityState:
    return RulesEntityState(versions=[first_version(SHIPPED, author="i", at=AT, reason="seed")])


def shadowed(state: RulesEntityState, rules: RulesFile = LOWER) -> RulesEntityState:
    input = SetShadowInput(rules=rules, author="UOLIVIA", reason="try", source="v1 with x")
    return with_shadow(state, candidate_of(state, input, AT))


def test_a_candidate_is_numbered_kept_beside_the_rules_in_force_and_shown_with_its_diff() -> None:
    state = shadowed(fresh())
    candidate = in_shadow(state)
    assert (candidate.label, candidate.based_on, candidate.author) == ("c1", 1, "UOLIVIA")
    assert candidate.reference.startswith("c1 (") and state.versions[-1].rules == SHIPPED
    view = shadow_view(state)
    assert view.active == "v1"
    assert [str(c) for c in view.diff] == ["departments.IT.max_amount: 1000 -> 20"]
    again = shadowed(state, rules_with(LOWER, "IT", "max_amount", "30"))
    assert in_shadow(again).label == "c2"
    # Another version of the rules in force keeps the candidate in shadow.
    changed = with_version(
        again, next_version(again, LOWER, author="U", at=AT + timedelta(1), reason="")
    )
    assert changed.shadow == again.shadow and changed.shadows_started == 2


def test_setting_a_candidate_is_refused_when_it_compares_nothing_or_changed_meanwhile() -> None:
    state = shadowed(fresh())
    with pytest.raises(ValueError, match=r"rules in force \(v1\)"):
        candidate_of(state, SetShadowInput(rules=SHIPPED, author="U"), AT)
    with pytest.raises(ValueError, match=r"already in shadow \(c1\)"):
        candidate_of(state, SetShadowInput(rules=LOWER, author="U"), AT)
    stale = SetShadowInput(rules=SHIPPED.model_copy(), author="U", based_on_candidate=0)
    with pytest.raises(ValueError, match=r"changed meanwhile \(now c1\)"):
        candidate_of(state, stale, AT)


def test_promoting_makes_a_new_version_and_is_refused_when_it_would_undo_a_change() -> None:
    with pytest.raises(ValueError, match="No rules are in shadow"):
        promoted_version(fresh(), PromoteShadowInput(author="U"), AT)
    state = shadowed(fresh())
    with pytest.raises(ValueError, match="c7 is not in shadow any more; c1 is"):
        promoted_version(state, PromoteShadowInput(author="U", candidate=7), AT)
    version = promoted_version(state, PromoteShadowInput(author="U", reason="ok", candidate=1), AT)
    assert (version.number, version.rules, version.reason) == (2, LOWER, "promoted shadow c1: ok")
    other = rules_with(SHIPPED, "IT", "max_amount", "500")
    moved = with_version(state, next_version(state, other, author="UBOB", at=AT, reason=""))
    with pytest.raises(ValueError, match=r"made beside v1; now v2, by UBOB"):
        promoted_version(moved, PromoteShadowInput(author="U"), AT)


def test_figures_count_agreement_with_the_rules_in_force_and_with_people() -> None:
    candidate = ShadowCandidate(
        number=3, rules=LOWER, content_hash="abc", author="U", at=AT, based_on=1
    )
    facts = [
        ShadowFact(shadow_approves=True, active_approves=True),  # auto-approved, agree
        ShadowFact(shadow_approves=True, active_approves=False, person_approved=False),
        ShadowFact(shadow_approves=True, active_approves=False, person_approved=True),
        ShadowFact(shadow_approves=False, active_approves=False, person_approved=False),
        ShadowFact(shadow_approves=False, active_approves=False),  # timed out
    ]
    facts.append(ShadowFact(shadow_approves=True, active_approves=True, running=True))
    f = shadow_figures(candidate, facts, unread=2)
    assert (f.candidate, f.compared, f.running, f.unread) == ("c3 (abc)", 6, 1, 2)
    assert (f.agree_with_active, f.agreement_with_active) == (4, 4 / 6)
    assert (f.shadow_would_auto_approve, f.active_auto_approved) == (4, 2)
    assert (f.decided_by_person, f.agree_with_person) == (3, 2)
    assert f.agreement_with_person == pytest.approx(2 / 3)
    assert (f.would_auto_approve_person_rejected, f.would_auto_approve_person_approved) == (1, 1)
    empty = shadow_figures(candidate, [])
    assert empty.agreement_with_active is None and empty.agreement_with_person is None


def test_a_result_gives_a_fact_only_for_its_own_candidate() -> None:
    candidate = ShadowCandidate(
        number=1, rules=LOWER, content_hash="abc", author="U", at=AT, based_on=1
    )

    def result(shadow: str, decided_by: str, approved: bool) -> PurchaseResult:
        verdict = ShadowVerdict(
            auto_approved=True, reason="r", risk_score=0.1, confidence=0.9, candidate=shadow
        )
        review = AutomatedReviewResult(
            auto_approved=False,
            confidence=0.0,
            reason="r",
            risk_score=0.5,
            review_time=AT,
            rules_version="v1 (x)",
            shadow=verdict,
        )
        return PurchaseResult(
            request_id="PR-1",
            status=PurchaseStatus.REJECTED,
            code_path=CodePath.PATCHED,
            review=review,
            approval=ApprovalResult(
                approved=approved, decided_by=decided_by, decided_at=AT, comments=""
            ),
        )

    def fact(done: PurchaseResult) -> ShadowFact | None:
        return shadow_fact(done.review, done.approval, candidate)

    assert fact(result("c1 (abc)", "UCARLOS", False)) == ShadowFact(
        shadow_approves=True, active_approves=False, person_approved=False
    )
    assert fact(result("c1 (abc)", SYSTEM, False)) == ShadowFact(
        shadow_approves=True, active_approves=False, person_approved=None
    )
    assert fact(result("c0 (old)", "UCARLOS", False)) is None


def test_the_shadow_review_is_not_a_person() -> None:
    assert not is_person(SHADOW_REVIEW) and not is_person(AUTOMATED_SYSTEM)


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("", ShowShadow()),
        ("show", ShowShadow()),
        ("status", ShadowStatus()),
        ("set IT max_amount 800 budget", ShadowSet("IT", "max_amount", "800", "budget")),
        ("start v2 compare", ShadowStart(2, "compare")),
        ("start 3", ShadowStart(3, "")),
        ("promote", ShadowPromote(None, "")),
        ("promote c4 looks good", ShadowPromote(4, "looks good")),
        ("promote looks good", ShadowPromote(None, "looks good")),
        ("stop enough", ShadowStop("enough")),
    ],
)
def test_rules_shadow_parsing(typed: str, parsed: object) -> None:
    assert parse_shadow_command(typed.split()) == parsed


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("set IT", "/rules shadow set <department>"),
        ("start", "/rules shadow start <version>"),
        ("start latest", "/rules shadow start <version>"),
        ("status now", "is not something"),
        ("launch", "`launch` is not something `/rules shadow` does"),
    ],
)
def test_rules_shadow_parsing_refuses_with_how(typed: str, says: str) -> None:
    parsed = parse_shadow_command(typed.split())
    assert isinstance(parsed, Unparseable) and says in parsed.problem


def test_rules_hands_shadow_to_its_parser() -> None:
    assert parse_rules_command("shadow promote c2") == ShadowWords(("promote", "c2"))
