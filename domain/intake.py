"""Turning what a person typed into a `PurchaseRequest`.

Every refusal is an `IntakeError` whose message says what was wrong and what to type instead;
nothing a person types makes these functions raise anything else.

Amounts: the decimal separator may be a point or a comma ("12.50", "12,50": Spanish keyboards
write the latter). Thousands separators are refused rather than guessed: "1,234" means one
thousand to some people and 1.234 to others, and getting money wrong by a factor of a thousand
is worse than asking again. Write 1234.56.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from domain.amazon_urls import InvalidProductUrl, parse_amazon_url
from domain.directory import Directory
from domain.models import DEFAULT_CURRENCY, Money, PurchaseRequest

# Above this an amount is a typo or a joke; real purchases this size do not go through chat.
MAX_AMOUNT = Decimal("1000000")
MAX_QUANTITY = 1000
MAX_JUSTIFICATION_CHARS = 1000

# The currencies of the Amazon stores we buy from. An unknown code is far more likely a typo
# ("EUE") than a real purchase in that currency.
KNOWN_CURRENCIES: tuple[str, ...] = (
    "EUR",
    "USD",
    "GBP",
    "CAD",
    "MXN",
    "JPY",
    "INR",
    "AUD",
    "SEK",
    "PLN",
)
# "$" is also the Canadian, Mexican and Australian dollar; those must be written as codes.
CURRENCY_SYMBOLS: dict[str, str] = {"€": "EUR", "$": "USD", "£": "GBP"}

_AMOUNT_EXAMPLES = "for example 12.50, 12.50 EUR or €12.50"
_MAX_AMOUNT_TEXT_CHARS = 60
# Leading "-" so it is literal inside a character class; U+2212 is the minus sign some
# keyboards and phones produce.
_SIGNS = "-+\u2212"
_AMOUNT = re.compile(
    rf"""
    (?P<sign1>[{_SIGNS}])?\s*
    (?P<pre>[€$£]|[A-Za-z]{{3}})?\s*
    (?P<sign2>[{_SIGNS}])?\s*
    (?P<number>[0-9.,]+)
    \s*(?P<post>[€$£]|[A-Za-z]{{3}})?
    """,
    re.VERBOSE,
)
_NUMBER = re.compile(r"(?P<whole>[0-9]*)(?:(?P<sep>[.,])(?P<frac>[0-9]*))?")
_NOT_A_NUMBER = re.compile(r"nan|inf", re.IGNORECASE)
_CENT = Decimal("0.01")

# Bidirectional overrides can make the approver read text in a different order than it was
# written; they have no business in a justification.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class IntakeError(ValueError):
    """Something a person typed that we cannot use; `message` says what to do."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def parse_amount(text: str, default_currency: str = DEFAULT_CURRENCY) -> Money:
    raw = text.strip()
    if not raw:
        raise IntakeError(f"Enter an amount, {_AMOUNT_EXAMPLES}.")
    if len(raw) > _MAX_AMOUNT_TEXT_CHARS:
        raise IntakeError(
            f"That is too long to be an amount; enter just the amount, {_AMOUNT_EXAMPLES}."
        )
    if _NOT_A_NUMBER.search(raw):
        raise IntakeError(f"'{raw}' is not a number; enter an amount, {_AMOUNT_EXAMPLES}.")
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        raise IntakeError(f"'{raw}' is not an amount we understand; {_AMOUNT_EXAMPLES}.")
    if match["sign1"] and match["sign2"]:
        raise IntakeError(f"'{raw}' is not an amount we understand; {_AMOUNT_EXAMPLES}.")
    negative = (match["sign1"] or match["sign2"] or "+") != "+"
    currency = _currency(raw, match["pre"], match["post"], default_currency)
    value = _number(raw, match["number"])
    if negative and value != 0:
        raise IntakeError(
            f"The amount cannot be negative ('{raw}'); enter what the purchase costs."
        )
    if value == 0:
        raise IntakeError("The amount must be more than zero; enter what the purchase costs.")
    if value > MAX_AMOUNT:
        raise IntakeError(
            f"{value:,.2f} {currency} is above the limit of {MAX_AMOUNT:,.0f} {currency} for a "
            "purchase request; check for a typo."
        )
    return Money(amount=value.quantize(_CENT), currency=currency)


def _currency(raw: str, pre: str | None, post: str | None, default: str) -> str:
    if pre and post:
        raise IntakeError(f"'{raw}' gives the currency twice; write it once, like 12.50 EUR.")
    given = pre or post
    if not given:
        return default.strip().upper()
    code = CURRENCY_SYMBOLS.get(given, given.upper())
    if code not in KNOWN_CURRENCIES:
        raise IntakeError(
            f"'{given}' is not a currency we buy in; use one of {', '.join(KNOWN_CURRENCIES)} "
            "(or €, $ for USD, £)."
        )
    return code


def _number(raw: str, number: str) -> Decimal:
    if number.count(".") + number.count(",") > 1:
        raise IntakeError(
            f"'{raw}' uses thousands separators or more than one decimal point; write the "
            "amount with one decimal separator and no thousands separators, like 1234.56."
        )
    parts = _NUMBER.fullmatch(number)
    if parts is None or not (parts["whole"] or parts["frac"]):
        raise IntakeError(f"'{raw}' is not an amount we understand; {_AMOUNT_EXAMPLES}.")
    frac = parts["frac"] or ""
    if len(frac) > 2:
        raise IntakeError(
            f"'{raw}' has {len(frac)} digits after the '{parts['sep']}': amounts have at most 2 "
            "decimal places (cents). Do not use thousands separators: write one thousand two "
            "hundred as 1200."
        )
    try:
        return Decimal(f"{parts['whole'] or '0'}.{frac or '0'}")
    except InvalidOperation as err:  # unreachable given the pattern; kept as a safety net
        raise IntakeError(f"'{raw}' is not an amount we understand; {_AMOUNT_EXAMPLES}.") from err


def parse_quantity(text: str | int) -> int:
    if isinstance(text, bool):  # bool is an int subclass; True is not a quantity
        raise IntakeError(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
    if isinstance(text, int):
        value = text
    else:
        raw = text.strip()
        if not raw:
            raise IntakeError(f"Enter a quantity: a whole number from 1 to {MAX_QUANTITY}.")
        if re.fullmatch(r"[-\u2212][0-9]+", raw):
            raise IntakeError(f"Quantity cannot be negative ('{raw}'); order at least 1.")
        if not re.fullmatch(r"\+?[0-9]+", raw):
            raise IntakeError(
                f"'{_clip(raw)}' is not a quantity: enter a whole number from 1 to "
                f"{MAX_QUANTITY}, like 1 or 3."
            )
        digits = raw.lstrip("+").lstrip("0") or "0"
        # Checked on the text: int() refuses very long digit strings with its own error.
        if len(digits) > len(str(MAX_QUANTITY)):
            raise IntakeError(f"Quantity {_clip(raw)} is too large; the limit is {MAX_QUANTITY}.")
        value = int(digits)
    if value < 1:
        raise IntakeError(f"Quantity must be at least 1 (got {value}).")
    if value > MAX_QUANTITY:
        raise IntakeError(f"Quantity {value} is too large; the limit is {MAX_QUANTITY}.")
    return value


def clean_justification(text: str) -> str:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = "".join(
        ch
        for ch in normalised
        if ch not in _BIDI_CONTROLS and (ch in "\n\t" or unicodedata.category(ch) != "Cc")
    )
    cleaned = kept.strip()
    # Zero-width and other format characters survive strip() but show nothing to the approver.
    if not any(ch.isprintable() and not ch.isspace() for ch in cleaned):
        raise IntakeError(
            "The justification is blank; write a short reason for the purchase or leave it out."
        )
    if len(cleaned) > MAX_JUSTIFICATION_CHARS:
        raise IntakeError(
            f"The justification is {len(cleaned)} characters long; the limit is "
            f"{MAX_JUSTIFICATION_CHARS}. Shorten it."
        )
    return cleaned


def build_purchase_request(
    *,
    request_id: str,
    requester_slack_id: str,
    url: str,
    amount: str,
    quantity: str | int = 1,
    justification: str | None = None,
    directory: Directory,
    now: datetime,
) -> PurchaseRequest:
    """Check everything a person can get wrong before any workflow starts.

    `now` must be timezone-aware (a naive time is a programming error, not the person's).
    The stored product link is the canonical one, without tracking parameters.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    person = directory.person(requester_slack_id)
    if person is None:
        raise IntakeError(
            "You are not in the company directory (directory.yaml), so nobody is set up to "
            "approve your purchases. Ask ops to add you."
        )
    try:
        ref = parse_amazon_url(url)
    except InvalidProductUrl as err:
        raise IntakeError(err.message) from err
    return PurchaseRequest(
        request_id=request_id,
        requester=person.slack_id,
        employee_id=person.employee_id,
        department=person.department,
        manager=person.manager,
        product_url=ref.canonical_url,
        quantity=parse_quantity(quantity),
        amount=parse_amount(amount),
        justification="" if justification is None else clean_justification(justification),
        requested_at=now.astimezone(UTC),
    )


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
