"""The automated review: every check of the seed design, its order and boundaries, the
confidence formula, merging the rules file per department and strictness."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from appconfig.files import load_yaml_model
from domain.models import Money
from domain.review_rules import (
    EffectiveRules,
    HistoryOverride,
    HistoryRules,
    ReviewVerdict,
    RuleOverride,
    RuleSet,
    RulesFile,
    Strictness,
    UserHistory,
    calculate_confidence,
    evaluate,
    overlay,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = load_yaml_model(ROOT / "rules.yaml", RulesFile).value

SEED_RISKS = {0.8, 0.6, 0.7, 0.5, 0.4, 0.3, 0.1}
GOOD_HISTORY = UserHistory(previous_purchases=10, rejected_last_30_days=0)

# A department whose limit (200) is below max_amount (500), so every check can fail alone.
OPS = EffectiveRules(
    department="Ops",
    currency="EUR",
    max_amount=Decimal("500"),
    trusted_categories=("books", "office_supplies"),
    department_limit=Decimal("200"),
    vendor_whitelist=("amazon.es",),
    user_history=HistoryRules(min_previous_purchases=3, max_rejected_in_last_30_days=1),
)
# No department limit: isolates max_amount and the confidence ratios.
NO_LIMIT = OPS.model_copy(update={"department_limit": None})


def eur(value: str) -> Money:
    return Money(amount=Decimal(value), currency="EUR")


def review(rules: EffectiveRules = OPS, **changes: Any) -> ReviewVerdict:
    args: dict[str, Any] = {
        "amount": eur("100"),
        "category": "books",
        "vendor": "amazon.es",
        "department": rules.department,
        "history": GOOD_HISTORY,
        "rules": rules,
    }
    args.update(changes)
    return evaluate(**args)


def assert_rejected(verdict: ReviewVerdict, reason: str, risk: float) -> None:
    assert verdict == ReviewVerdict(
        auto_approved=False, confidence=0.0, reason=reason, risk_score=risk
    )


# --- each check failing alone -------------------------------------------------------------


def test_all_checks_passing_approves() -> None:
    verdict = review()
    assert verdict.auto_approved
    assert verdict.reason == "All automated approval criteria met"
    assert verdict.risk_score == 0.1
    assert verdict.confidence == 0.8  # 100/500 < 0.5: 0.5 + 0.3, exactly


def test_other_currency_goes_to_a_person() -> None:
    assert_rejected(
        review(amount=Money(amount=Decimal("10"), currency="USD")),
        "Amount currency USD differs from the rules currency EUR; a person must review it",
        0.8,
    )


def test_amount_over_max() -> None:
    assert_rejected(
        review(NO_LIMIT, amount=eur("500.01")), "Amount 500.01 exceeds max limit 500.00", 0.8
    )


def test_amount_equal_to_max_passes() -> None:
    assert review(NO_LIMIT, amount=eur("500")).auto_approved


def test_untrusted_category() -> None:
    assert_rejected(review(category="Toys"), "Product category 'Toys' not in trusted list", 0.6)


def test_category_is_case_insensitive() -> None:
    assert review(category="  BOOKS ").auto_approved


def test_history_unavailable() -> None:
    assert_rejected(review(history=None), "Unable to verify user purchase history", 0.7)


@pytest.mark.parametrize(
    ("previous", "rejected", "why"),
    [
        (2, 0, "2 previous purchases, 3 needed"),
        (2, 1, "2 previous purchases, 3 needed"),
        (3, 2, "2 purchases rejected by a person in the last 30 days, at most 1 allowed"),
        (
            1,
            5,
            "1 previous purchase, 3 needed; 5 purchases rejected by a person in the last 30 "
            "days, at most 1 allowed",
        ),
    ],
)
def test_history_not_meeting_criteria_says_which_and_by_how_much(
    previous: int, rejected: int, why: str
) -> None:
    history = UserHistory(previous_purchases=previous, rejected_last_30_days=rejected)
    assert_rejected(
        review(history=history), f"User purchase history doesn't meet approval criteria: {why}", 0.5
    )


def test_history_exactly_at_the_criteria_passes() -> None:
    history = UserHistory(previous_purchases=3, rejected_last_30_days=1)
    assert review(history=history).auto_approved


def test_amount_over_department_limit() -> None:
    assert_rejected(
        review(amount=eur("200.01")), "Amount 200.01 exceeds department limit 200.00", 0.4
    )


def test_amount_equal_to_department_limit_passes() -> None:
    assert review(amount=eur("200")).auto_approved


def test_vendor_not_whitelisted() -> None:
    assert_rejected(review(vendor="ebay.com"), "Vendor 'ebay.com' not in approved whitelist", 0.3)


def test_vendor_is_case_insensitive() -> None:
    assert review(vendor="Amazon.ES").auto_approved


def test_empty_whitelist_allows_any_vendor() -> None:
    rules = OPS.model_copy(update={"vendor_whitelist": ()})
    assert review(rules, vendor="ebay.com").auto_approved


def test_rules_of_another_department_are_refused() -> None:
    with pytest.raises(ValueError, match="built for department 'Ops'"):
        review(department="IT")


# --- order: the first failing check decides ------------------------------------------------

NO_HISTORY: dict[str, Any] = {"history": None}
BAD_VENDOR: dict[str, Any] = {"vendor": "ebay.com"}
BAD_CATEGORY: dict[str, Any] = {"category": "toys"}


@pytest.mark.parametrize(
    ("changes", "expected_risk"),
    [
        (
            {"amount": Money(amount=Decimal("9999"), currency="USD")}
            | BAD_CATEGORY
            | NO_HISTORY
            | BAD_VENDOR,
            0.8,
        ),
        ({"amount": eur("9999")} | BAD_CATEGORY | NO_HISTORY | BAD_VENDOR, 0.8),
        ({"amount": eur("300")} | BAD_CATEGORY | NO_HISTORY | BAD_VENDOR, 0.6),
        ({"amount": eur("300")} | NO_HISTORY | BAD_VENDOR, 0.7),
        ({"amount": eur("300")} | BAD_VENDOR, 0.4),
    ],
)
def test_first_failing_check_decides(changes: dict[str, Any], expected_risk: float) -> None:
    verdict = review(**changes)
    assert not verdict.auto_approved
    assert verdict.risk_score == expected_risk


def test_currency_guard_comes_before_the_max_amount() -> None:
    verdict = review(amount=Money(amount=Decimal("9999"), currency="USD"))
    assert verdict.reason.startswith("Amount currency USD")


def test_insufficient_history_comes_before_the_department_limit() -> None:
    history = UserHistory(previous_purchases=0, rejected_last_30_days=0)
    verdict = review(amount=eur("300"), history=history, vendor="ebay.com")
    assert verdict.risk_score == 0.5


# --- confidence -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "category", "department", "expected"),
    [
        ("100", "books", "Ops", 0.8),  # ratio 0.2
        ("249.99", "books", "Ops", 0.8),  # just under 0.5
        ("250", "books", "Ops", 0.6),  # ratio exactly 0.5: the moderate bonus only
        ("399.99", "books", "Ops", 0.6),
        ("400", "books", "Ops", 0.5),  # ratio exactly 0.8: no amount bonus
        ("500", "books", "Ops", 0.5),
        ("100", "office_supplies", "Ops", 1.0),  # 0.5 + 0.3 + 0.2
        ("300", "office_supplies", "Ops", 0.8),  # 0.5 + 0.1 + 0.2
        ("450", "Office_Supplies", "Ops", 0.7),  # category bonus is case-insensitive
        ("450", "books", "IT", 0.6),  # 0.5 + 0.1
        ("300", "books", "IT", 0.7),  # 0.5 + 0.1 + 0.1
        ("100", "office_supplies", "IT", 1.0),  # 1.1 capped at 1.0
        ("100", "books", "it", 0.8),  # department bonus only for "IT" exactly, as seeded
    ],
)
def test_confidence(amount: str, category: str, department: str, expected: float) -> None:
    rules = NO_LIMIT.model_copy(update={"department": department})
    # Exact equality on purpose: the formula works in Decimal, so no 0.7999999.
    assert (
        calculate_confidence(
            amount=eur(amount), category=category, department=department, rules=rules
        )
        == expected
    )


def test_approved_verdict_carries_the_confidence() -> None:
    verdict = review(NO_LIMIT, amount=eur("250"), category="office_supplies")
    assert verdict.auto_approved
    assert verdict.confidence == 0.8  # 0.5 + 0.1 + 0.2


# --- the rules file: merging and strictness ------------------------------------------------


def test_it_overrides_merge_with_the_defaults() -> None:
    rules = SHIPPED.for_department("IT")
    assert rules == EffectiveRules(
        department="IT",
        strictness=Strictness.STANDARD,
        currency="EUR",
        max_amount=Decimal("1000"),
        trusted_categories=("electronics", "software", "books"),
        department_limit=Decimal("1000"),
        vendor_whitelist=("amazon.es", "amazon.com"),
        user_history=HistoryRules(min_previous_purchases=5, max_rejected_in_last_30_days=0),
    )


@pytest.mark.parametrize(
    ("department", "max_amount", "categories", "limit", "min_previous", "max_rejected"),
    [
        ("Marketing", "300", ("books", "office_supplies"), "300", 3, 1),
        ("Finance", "200", ("office_supplies",), "200", 10, 0),
        ("Sales", "500", ("electronics", "books", "office_supplies"), None, 3, 1),
    ],
)
def test_seed_departments(
    department: str,
    max_amount: str,
    categories: tuple[str, ...],
    limit: str | None,
    min_previous: int,
    max_rejected: int,
) -> None:
    rules = SHIPPED.for_department(department)
    assert rules.max_amount == Decimal(max_amount)
    assert rules.trusted_categories == categories
    assert rules.department_limit == (Decimal(limit) if limit else None)
    assert rules.vendor_whitelist == ("amazon.es", "amazon.com")
    assert rules.user_history == HistoryRules(
        min_previous_purchases=min_previous, max_rejected_in_last_30_days=max_rejected
    )


def test_strict_tightens_the_shipped_rules() -> None:
    it = SHIPPED.for_department("IT", "strict")
    assert it.strictness is Strictness.STRICT
    assert it.max_amount == Decimal("500")
    assert it.department_limit == Decimal("500")
    assert it.user_history == HistoryRules(min_previous_purchases=7, max_rejected_in_last_30_days=0)

    marketing = SHIPPED.for_department("Marketing", Strictness.STRICT)
    assert marketing.max_amount == Decimal("150")
    assert marketing.department_limit == Decimal("150")
    assert marketing.user_history == HistoryRules(
        min_previous_purchases=5, max_rejected_in_last_30_days=0
    )


def test_strict_changes_a_verdict() -> None:
    history = UserHistory(previous_purchases=6, rejected_last_30_days=0)
    args: dict[str, Any] = {
        "amount": eur("400"),
        "category": "electronics",
        "vendor": "amazon.es",
        "department": "IT",
        "history": history,
    }
    assert evaluate(**args, rules=SHIPPED.for_department("IT")).auto_approved
    strict = evaluate(**args, rules=SHIPPED.for_department("IT", "strict"))
    assert strict.reason == (
        "User purchase history doesn't meet approval criteria: 6 previous purchases, 7 needed"
    )


def test_unknown_strictness_is_refused() -> None:
    with pytest.raises(ValueError, match="lenient"):
        SHIPPED.for_department("IT", "lenient")


HISTORY = {"min_previous_purchases": 3, "max_rejected_in_last_30_days": 1}


def minimal_file(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "defaults": {
            "currency": "eur",
            "max_amount": 500,
            "trusted_categories": ["Books "],
            "user_history": dict(HISTORY),
        }
    }
    data.update(extra)
    return data


def test_strict_section_defaults_when_absent() -> None:
    rules = RulesFile.model_validate(minimal_file()).for_department("Ops", "strict")
    assert rules.max_amount == Decimal("250")
    assert rules.user_history == HistoryRules(
        min_previous_purchases=5, max_rejected_in_last_30_days=0
    )


def test_strict_rejection_cap_never_loosens() -> None:
    data = minimal_file(strict={"max_rejected_in_last_30_days": 4})
    rules = RulesFile.model_validate(data).for_department("Ops", "strict")
    assert rules.user_history.max_rejected_in_last_30_days == 1


def test_partial_history_override_keeps_the_other_default() -> None:
    data = minimal_file(departments={"Ops": {"user_history": {"min_previous_purchases": 8}}})
    rules = RulesFile.model_validate(data).for_department("Ops")
    assert rules.user_history == HistoryRules(
        min_previous_purchases=8, max_rejected_in_last_30_days=1
    )


# One sample value per override field: a field added to RuleOverride fails the coverage check
# below until it has a sample here, and then is checked to reach the effective rules.
OVERRIDE_SAMPLES: dict[str, Any] = {
    "max_amount": 321,
    "trusted_categories": ["Toys"],
    "department_limits": {"Ops": 77},
    "vendor_whitelist": ["shop.example"],
    "user_history": {"max_rejected_in_last_30_days": 0},
    "second_approval_above": 4321,
}


def test_every_override_field_has_a_sample() -> None:
    assert set(OVERRIDE_SAMPLES) == set(RuleOverride.model_fields)


@pytest.mark.parametrize("field", sorted(OVERRIDE_SAMPLES))
def test_each_override_field_alone_reaches_the_effective_rules(field: str) -> None:
    plain = RulesFile.model_validate(minimal_file()).for_department("Ops")
    data = minimal_file(departments={"Ops": {field: OVERRIDE_SAMPLES[field]}})
    rules = RulesFile.model_validate(data).for_department("Ops")
    changed = {
        name for name in EffectiveRules.model_fields if getattr(rules, name) != getattr(plain, name)
    }
    expected = {"department_limits": "department_limit"}.get(field, field)
    assert changed == {expected}


def test_every_rule_reaches_the_effective_rules_by_name() -> None:
    # `for_department` carries the merged rule set over by field name: a rule the effective
    # rules lack would be dropped silently, an override without a rule would override nothing.
    carried = set(RuleSet.model_fields) - {"department_limits"}
    assert carried <= set(EffectiveRules.model_fields)
    assert set(RuleOverride.model_fields) <= set(RuleSet.model_fields)
    assert set(HistoryOverride.model_fields) == set(HistoryRules.model_fields)


class _WithMaxItems(RuleSet):
    max_items: int = 10
    user_history: _HistoryWithWeekly


class _HistoryWithWeekly(HistoryRules):
    max_per_week: int = 4


class _WithMaxItemsOverride(RuleOverride):
    max_items: int | None = None
    user_history: _HistoryWithWeeklyOverride | None = None


class _HistoryWithWeeklyOverride(HistoryOverride):
    max_per_week: int | None = None


_WithMaxItems.model_rebuild()
_WithMaxItemsOverride.model_rebuild()


def test_a_new_rule_field_is_merged_without_touching_the_merge_code() -> None:
    base = _WithMaxItems.model_validate(
        minimal_file()["defaults"] | {"user_history": {**HISTORY, "max_per_week": 4}}
    )
    merged = overlay(
        base,
        _WithMaxItemsOverride(max_items=3, user_history=_HistoryWithWeeklyOverride(max_per_week=1)),
    )
    assert merged.max_items == 3
    assert merged.user_history == _HistoryWithWeekly(**HISTORY, max_per_week=1)
    assert merged.max_amount == base.max_amount
    untouched = overlay(base, _WithMaxItemsOverride(max_amount=None))
    assert untouched == base


def test_an_override_field_without_a_rule_is_a_bug() -> None:
    class Stray(RuleOverride):
        max_weight: int | None = None

    with pytest.raises(ValueError, match="max_weight overrides nothing"):
        overlay(RulesFile.model_validate(minimal_file()).defaults, Stray(max_weight=3))


def test_names_and_currency_are_normalized() -> None:
    rules = RulesFile.model_validate(minimal_file()).for_department("Ops")
    assert rules.trusted_categories == ("books",)
    assert rules.currency == "EUR"


@pytest.mark.parametrize(
    ("data", "location"),
    [
        (minimal_file(strict={"max_amount_factor": 1.5}), ("strict", "max_amount_factor")),
        (
            minimal_file(departments={"Ops": {"currency": "USD"}}),
            ("departments", "Ops", "currency"),
        ),
        (
            minimal_file(departments={"Ops": {"max_amount": 0}}),
            ("departments", "Ops", "max_amount"),
        ),
        (minimal_file(surprise=True), ("surprise",)),
    ],
)
def test_invalid_rules_are_refused(data: dict[str, Any], location: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        RulesFile.model_validate(data)
    assert [tuple(e["loc"]) for e in caught.value.errors()] == [location]


# --- properties -----------------------------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3000"), places=2)
histories = st.none() | st.builds(
    UserHistory,
    previous_purchases=st.integers(min_value=0, max_value=15),
    rejected_last_30_days=st.integers(min_value=0, max_value=3),
)
cases = st.fixed_dictionaries(
    {
        "amount": st.builds(Money, amount=amounts, currency=st.sampled_from(["EUR", "USD"])),
        "category": st.sampled_from(
            ["electronics", "books", "office_supplies", "Office_Supplies", "software", "toys"]
        ),
        "vendor": st.sampled_from(["amazon.es", "AMAZON.COM", "ebay.com"]),
        "department": st.sampled_from(["IT", "Marketing", "Finance", "Sales"]),
        "history": histories,
        "strictness": st.sampled_from(list(Strictness)),
    }
)


def run(case: dict[str, Any], **changes: Any) -> ReviewVerdict:
    args = case | changes
    strictness = args.pop("strictness")
    rules = SHIPPED.for_department(args["department"], strictness)
    return evaluate(**args, rules=rules)


@given(cases)
def test_confidence_is_bounded_and_zero_when_not_approved(case: dict[str, Any]) -> None:
    verdict = run(case)
    if verdict.auto_approved:
        assert 0.5 <= verdict.confidence <= 1.0
        assert verdict.risk_score == 0.1
    else:
        assert verdict.confidence == 0.0


@given(cases)
def test_risk_is_always_a_seed_value(case: dict[str, Any]) -> None:
    assert run(case).risk_score in SEED_RISKS


@given(cases)
def test_deterministic(case: dict[str, Any]) -> None:
    assert run(case) == run(case)


@given(cases, st.decimals(min_value=Decimal("0"), max_value=Decimal("3000"), places=2))
def test_raising_the_amount_never_turns_a_rejection_into_an_approval(
    case: dict[str, Any], extra: Decimal
) -> None:
    higher = Money(amount=case["amount"].amount + extra, currency=case["amount"].currency)
    if not run(case).auto_approved:
        assert not run(case, amount=higher).auto_approved
