"""The automated purchase review: the rules file's schema and the pure decision.

`evaluate` follows the seed design check by check (first failing check decides); the only
addition is a currency guard in front of it. Nothing here does I/O, reads the clock or
depends on global state, so the same inputs always give the same verdict and the function is
safe to call from a Temporal activity or replay.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.models import Money, ProductInfo, PurchaseRequest

# --- risk scores and reasons of the seed design -------------------------------------------

RISK_CURRENCY_MISMATCH = 0.8
RISK_OVER_MAX_AMOUNT = 0.8
RISK_UNTRUSTED_CATEGORY = 0.6
RISK_HISTORY_UNAVAILABLE = 0.7
RISK_HISTORY_INSUFFICIENT = 0.5
RISK_OVER_DEPARTMENT_LIMIT = 0.4
RISK_VENDOR_NOT_WHITELISTED = 0.3
RISK_APPROVED = 0.1

REASON_HISTORY_UNAVAILABLE = "Unable to verify user purchase history"
REASON_HISTORY_INSUFFICIENT = "User purchase history doesn't meet approval criteria"
REASON_APPROVED = "All automated approval criteria met"

# The confidence bonuses are the seed's, kept as named values so tests and docs can cite them.
CONFIDENCE_BASE = Decimal("0.5")
CONFIDENCE_CHEAP_BONUS = Decimal("0.3")  # amount below half of max_amount
CONFIDENCE_MODERATE_BONUS = Decimal("0.1")  # amount below 80% of max_amount
CONFIDENCE_CATEGORY = "office_supplies"
CONFIDENCE_CATEGORY_BONUS = Decimal("0.2")
CONFIDENCE_DEPARTMENT = "IT"
CONFIDENCE_DEPARTMENT_BONUS = Decimal("0.1")
CONFIDENCE_MAX = Decimal("1.0")


# --- field types ------------------------------------------------------------------------


def _name(value: str) -> str:
    # Lower-cased once here so every comparison downstream is case-insensitive by
    # construction; an empty entry is almost always a YAML slip ("- " with nothing after).
    name = value.strip().lower()
    if not name:
        raise ValueError("must be a non-empty name")
    return name


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"'{value}' is not a three-letter currency code such as EUR")
    return code


# The approval-level threshold when the rules say nothing (or cannot be read): above 2,000 of
# the rules' currency, a second person approves.
DEFAULT_SECOND_APPROVAL_ABOVE = Decimal(2000)

# Above these a value is a typo (an extra zero or two), not a policy: refused like a negative one.
MAX_SANE_AMOUNT = Decimal(1_000_000)
MAX_SANE_COUNT = 1000

Name = Annotated[str, AfterValidator(_name)]
PositiveAmount = Annotated[Decimal, Field(gt=0, le=MAX_SANE_AMOUNT)]
Count = Annotated[int, Field(ge=0, le=MAX_SANE_COUNT)]
Currency = Annotated[str, AfterValidator(_currency)]
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    # Unknown keys are refused so a misspelt rule ("max_ammount") fails loudly instead of
    # silently leaving the default in force.
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- the rules file -------------------------------------------------------------------------


class HistoryRules(_Strict):
    min_previous_purchases: Count
    max_rejected_in_last_30_days: Count


class HistoryOverride(_Strict):
    min_previous_purchases: Count | None = None
    max_rejected_in_last_30_days: Count | None = None


class RuleSet(_Strict):
    currency: Currency
    max_amount: PositiveAmount
    trusted_categories: list[Name]
    department_limits: dict[str, PositiveAmount] = Field(default_factory=dict)
    # Empty means "any vendor", as in the seed design.
    vendor_whitelist: list[Name] = Field(default_factory=list)
    user_history: HistoryRules
    # Amounts above this need a second approval (the department head or finance) after the
    # manager's. Not a review check: it decides how many people approve. Defaulted so that
    # rule versions stored before it existed still read.
    second_approval_above: PositiveAmount = DEFAULT_SECOND_APPROVAL_ABOVE


class RuleOverride(_Strict):
    """A department's deviations from the defaults, merged by `overlay`: lists and maps replace
    the default wholesale; `user_history` is merged field by field. A new rule is a field here
    with the same name as in RuleSet (and EffectiveRules); no merge code changes.

    There is deliberately no `currency`: every amount in the file (limits included) is in
    the defaults' currency, and a per-department currency would make them ambiguous.
    """

    max_amount: PositiveAmount | None = None
    trusted_categories: list[Name] | None = None
    department_limits: dict[str, PositiveAmount] | None = None
    vendor_whitelist: list[Name] | None = None
    user_history: HistoryOverride | None = None
    second_approval_above: PositiveAmount | None = None


class StrictnessAdjustments(_Strict):
    """How "strict" review tightens the rules. Each adjustment can only tighten: the factor
    is at most 1, the extra purchases are non-negative and the rejection cap only ever
    lowers the allowance."""

    max_amount_factor: Decimal = Field(default=Decimal("0.5"), gt=0, le=1)
    min_previous_purchases_extra: int = Field(default=2, ge=0)
    max_rejected_in_last_30_days: int = Field(default=0, ge=0)


class Strictness(StrEnum):
    STANDARD = "standard"
    STRICT = "strict"


class EffectiveRules(BaseModel):
    """The rules that apply to one department at one strictness, ready for `evaluate`."""

    model_config = ConfigDict(frozen=True)

    department: str
    strictness: Strictness = Strictness.STANDARD
    currency: Currency
    max_amount: PositiveAmount
    trusted_categories: tuple[Name, ...]
    department_limit: PositiveAmount | None = None
    vendor_whitelist: tuple[Name, ...] = ()
    user_history: HistoryRules
    second_approval_above: PositiveAmount = DEFAULT_SECOND_APPROVAL_ABOVE

    def tightened(self, strict: StrictnessAdjustments) -> EffectiveRules:
        limit = self.department_limit
        history = self.user_history
        return self.model_copy(
            update={
                "strictness": Strictness.STRICT,
                "max_amount": self.max_amount * strict.max_amount_factor,
                "department_limit": None if limit is None else limit * strict.max_amount_factor,
                "user_history": HistoryRules(
                    min_previous_purchases=history.min_previous_purchases
                    + strict.min_previous_purchases_extra,
                    max_rejected_in_last_30_days=min(
                        history.max_rejected_in_last_30_days, strict.max_rejected_in_last_30_days
                    ),
                ),
            }
        )


class RulesFile(_Strict):
    defaults: RuleSet
    departments: dict[str, RuleOverride] = Field(default_factory=dict)
    # Absent section -> the model defaults, so "strict" is never silently the same as
    # "standard".
    strict: StrictnessAdjustments = Field(default_factory=StrictnessAdjustments)

    def for_department(
        self, department: str, strictness: Strictness | str = Strictness.STANDARD
    ) -> EffectiveRules:
        """Merge the defaults with the department's overrides, then apply strictness.

        Raises ValueError for an unknown strictness: a mistyped feature-flag value must not
        quietly fall back to the laxer rules.
        """
        level = Strictness(strictness)
        merged = overlay(self.defaults, self.departments.get(department, RuleOverride()))
        # Every field of the merged rule set that EffectiveRules also has is carried over by
        # name; only the per-department limit is picked out of its map.
        rules = EffectiveRules.model_validate(
            {
                **merged.model_dump(exclude={"department_limits"}),
                "department": department,
                "strictness": level,
                "department_limit": merged.department_limits.get(department),
            }
        )
        return rules.tightened(self.strict) if level is Strictness.STRICT else rules


def overlay(base: M, override: BaseModel) -> M:
    """`base` with every field `override` sets (None counts as not set: "use the default").

    A field holding a model (`user_history`) is overlaid field by field in turn; anything else,
    lists and maps included, replaces the base value whole. Works for any pair of models whose
    override fields are a subset of the base's, so a new rule needs no merge code.
    """
    changes: dict[str, Any] = {}
    for name in override.model_fields_set:
        value = getattr(override, name)
        if value is None:
            continue
        if name not in type(base).model_fields:
            raise ValueError(f"{type(override).__name__}.{name} overrides nothing in the base")
        current = getattr(base, name)
        nested = isinstance(current, BaseModel) and isinstance(value, BaseModel)
        changes[name] = overlay(current, value) if nested else value
    # Re-validated rather than model_copy(update=...): the result is checked like a file would be.
    return type(base).model_validate({**base.model_dump(), **changes})


# --- the review -----------------------------------------------------------------------------


class UserHistory(BaseModel):
    model_config = ConfigDict(frozen=True)

    previous_purchases: int = Field(ge=0)
    rejected_last_30_days: int = Field(ge=0)


class ReviewVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    auto_approved: bool
    confidence: float
    reason: str
    risk_score: float


def _reject(reason: str, risk: float) -> ReviewVerdict:
    return ReviewVerdict(auto_approved=False, confidence=0.0, reason=reason, risk_score=risk)


def _same_name(value: str) -> str:
    return value.strip().lower()


def calculate_confidence(
    *, amount: Money, category: str, department: str, rules: EffectiveRules
) -> float:
    """The seed's confidence formula. Computed in Decimal so 0.5 + 0.3 is exactly 0.8."""
    confidence = CONFIDENCE_BASE
    # Compared by multiplication rather than dividing, so ratios of exactly 0.5 and 0.8 are
    # decided without any rounding.
    if amount.amount < rules.max_amount * Decimal("0.5"):
        confidence += CONFIDENCE_CHEAP_BONUS
    elif amount.amount < rules.max_amount * Decimal("0.8"):
        confidence += CONFIDENCE_MODERATE_BONUS
    if _same_name(category) == CONFIDENCE_CATEGORY:
        confidence += CONFIDENCE_CATEGORY_BONUS
    if department == CONFIDENCE_DEPARTMENT:
        confidence += CONFIDENCE_DEPARTMENT_BONUS
    return float(min(confidence, CONFIDENCE_MAX))


def history_shortfalls(history: UserHistory, criteria: HistoryRules) -> list[str]:
    """Which history criterion fails and by how much, in words the requester can act on."""
    found: list[str] = []
    purchases, needed = history.previous_purchases, criteria.min_previous_purchases
    if purchases < needed:
        found.append(f"{purchases} previous {_plural(purchases, 'purchase')}, {needed} needed")
    rejected, allowed = history.rejected_last_30_days, criteria.max_rejected_in_last_30_days
    if rejected > allowed:
        found.append(
            f"{rejected} {_plural(rejected, 'purchase')} rejected by a person in the last 30 "
            f"days, at most {allowed} allowed"
        )
    return found


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"


def evaluate_request(
    request: PurchaseRequest,
    product: ProductInfo,
    history: UserHistory | None,
    rules: EffectiveRules,
) -> ReviewVerdict:
    """`evaluate` for one request and its validated product: the review and its preview."""
    return evaluate(
        amount=request.amount,
        category=product.category,
        vendor=product.vendor,
        department=request.department,
        history=history,
        rules=rules,
    )


def evaluate(
    *,
    amount: Money,
    category: str,
    vendor: str,
    department: str,
    history: UserHistory | None,
    rules: EffectiveRules,
) -> ReviewVerdict:
    """Decide whether a purchase can be approved without a person. The first failing check
    decides, in the seed design's order; a rejection means "ask the manager"."""
    if department != rules.department:
        # The limits in `rules` were merged for another department: deciding with them
        # would apply the wrong budget, so this is a caller bug, not a verdict.
        raise ValueError(
            f"rules were built for department '{rules.department}', not '{department}'"
        )

    # Not in the seed: every limit is in the rules' currency and there are no exchange rates
    # here, so comparing 400 USD with a 500 EUR limit would be meaningless. A person decides.
    if amount.currency != rules.currency:
        return _reject(
            f"Amount currency {amount.currency} differs from the rules currency "
            f"{rules.currency}; a person must review it",
            RISK_CURRENCY_MISMATCH,
        )

    value = amount.amount
    if value > rules.max_amount:
        return _reject(
            f"Amount {value:.2f} exceeds max limit {rules.max_amount:.2f}", RISK_OVER_MAX_AMOUNT
        )

    if _same_name(category) not in rules.trusted_categories:
        return _reject(
            f"Product category '{category}' not in trusted list", RISK_UNTRUSTED_CATEGORY
        )

    if history is None:
        return _reject(REASON_HISTORY_UNAVAILABLE, RISK_HISTORY_UNAVAILABLE)
    shortfalls = history_shortfalls(history, rules.user_history)
    if shortfalls:
        return _reject(
            f"{REASON_HISTORY_INSUFFICIENT}: {'; '.join(shortfalls)}", RISK_HISTORY_INSUFFICIENT
        )

    limit = rules.department_limit
    if limit is not None and value > limit:
        return _reject(
            f"Amount {value:.2f} exceeds department limit {limit:.2f}", RISK_OVER_DEPARTMENT_LIMIT
        )

    if rules.vendor_whitelist and _same_name(vendor) not in rules.vendor_whitelist:
        return _reject(f"Vendor '{vendor}' not in approved whitelist", RISK_VENDOR_NOT_WHITELISTED)

    return ReviewVerdict(
        auto_approved=True,
        confidence=calculate_confidence(
            amount=amount, category=category, department=department, rules=rules
        ),
        reason=REASON_APPROVED,
        risk_score=RISK_APPROVED,
    )
