from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.directory import Directory
from domain.intake import (
    KNOWN_CURRENCIES,
    MAX_AMOUNT,
    MAX_JUSTIFICATION_CHARS,
    MAX_QUANTITY,
    IntakeError,
    build_purchase_request,
    clean_justification,
    parse_amount,
    parse_quantity,
)
from domain.models import Money, PurchaseRequest

NOW = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)
DIRECTORY = Directory.model_validate(
    {
        "people": [
            {
                "slack_id": "UALICE",
                "employee_id": "E1001",
                "name": "Alice Martín",
                "department": "IT",
                "manager": "UCARLOS",
            },
            {
                "slack_id": "UCARLOS",
                "employee_id": "E2001",
                "name": "Carlos Ruiz",
                "department": "IT",
                "manager": "UALICE",
            },
        ]
    }
)


def _eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def _refusal(text: str) -> str:
    with pytest.raises(IntakeError) as caught:
        parse_amount(text)
    assert caught.value.message == str(caught.value)
    return caught.value.message


# --- parse_amount -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", _eur("12")),
        ("12.5", _eur("12.50")),
        ("12.50", _eur("12.50")),
        ("12,50", _eur("12.50")),
        ("12,5", _eur("12.50")),
        ("0.01", _eur("0.01")),
        (".5", _eur("0.50")),
        ("12.", _eur("12")),
        ("+12", _eur("12")),
        ("  12.50  ", _eur("12.50")),
        ("€12.50", _eur("12.50")),
        ("€ 12.50", _eur("12.50")),
        ("12.50€", _eur("12.50")),
        ("12.50 €", _eur("12.50")),
        ("12.50 EUR", _eur("12.50")),
        ("12.50eur", _eur("12.50")),
        ("EUR 12.50", _eur("12.50")),
        ("EUR12.50", _eur("12.50")),
        ("USD 10", Money(amount=Decimal("10"), currency="USD")),
        ("$10", Money(amount=Decimal("10"), currency="USD")),
        ("£7.99", Money(amount=Decimal("7.99"), currency="GBP")),
        ("10 cad", Money(amount=Decimal("10"), currency="CAD")),
        ("1000000", _eur("1000000")),
        ("1234.56", _eur("1234.56")),
    ],
)
def test_amounts_we_understand(text: str, expected: Money) -> None:
    parsed = parse_amount(text)
    assert parsed == expected
    assert parsed.amount.as_tuple().exponent == -2  # always in cents


def test_default_currency_applies_only_without_a_currency() -> None:
    assert parse_amount("10", default_currency="usd") == Money(amount=Decimal(10), currency="USD")
    assert parse_amount("10 EUR", default_currency="USD").currency == "EUR"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_amount(text: str) -> None:
    assert _refusal(text).startswith("Enter an amount")


@pytest.mark.parametrize("text", ["0", "0.00", "€0", "-0", "0,0 EUR"])
def test_zero_amount(text: str) -> None:
    assert "must be more than zero" in _refusal(text)


@pytest.mark.parametrize("text", ["-5", "- 5", "-€5", "€-5", "EUR -5", "\u22125", "-5 EUR"])
def test_negative_amount(text: str) -> None:
    assert "cannot be negative" in _refusal(text)


@pytest.mark.parametrize("text", ["NaN", "nan EUR", "Infinity", "-inf", "€inf", "sNaN"])
def test_not_a_number(text: str) -> None:
    assert "is not a number" in _refusal(text)


@pytest.mark.parametrize(("text", "digits"), [("12.345", 3), ("1.234", 3), ("0,0001", 4)])
def test_more_than_two_decimal_places(text: str, digits: int) -> None:
    reason = _refusal(text)
    assert f"has {digits} digits after the" in reason
    assert "at most 2 decimal places" in reason


@pytest.mark.parametrize("text", ["1,234.56", "1.234,56", "1,234,567", "1.234.567", "1..5"])
def test_thousands_separators_are_refused(text: str) -> None:
    assert "no thousands separators, like 1234.56" in _refusal(text)


@pytest.mark.parametrize("text", ["1000000.01", "99999999", "9" * 59])
def test_absurd_amounts(text: str) -> None:
    reason = _refusal(text)
    assert "above the limit of 1,000,000 EUR" in reason
    assert "typo" in reason


def test_absurd_amount_names_the_currency() -> None:
    assert "1,000,000 USD" in _refusal("USD 2000000")


@pytest.mark.parametrize(
    "text",
    ["twelve", "12 apples", "12-", "12 EUR EUR", "1 2", "12.50 €€", "--5", "+-5", ".", ",", "€"],
)
def test_garbage(text: str) -> None:
    assert "is not an amount we understand" in _refusal(text)


def test_both_signs_are_garbage() -> None:
    assert "is not an amount we understand" in _refusal("-€-5")


def test_currency_given_twice() -> None:
    assert "gives the currency twice" in _refusal("€12 EUR")


@pytest.mark.parametrize("text", ["12 XYZ", "ABC 12", "12 EUE"])
def test_unknown_currency(text: str) -> None:
    reason = _refusal(text)
    assert "is not a currency we buy in" in reason
    assert "EUR" in reason


def test_too_long_for_an_amount() -> None:
    assert "too long to be an amount" in _refusal("1" * 61)


def test_non_ascii_digits_are_refused() -> None:
    assert "is not an amount we understand" in _refusal("١٢")


# --- parse_quantity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), (" 3 ", 3), ("+2", 2), ("007", 7), ("1000", 1000), (5, 5), (MAX_QUANTITY, 1000)],
)
def test_quantities(text: str | int, expected: int) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Enter a quantity"),
        ("  ", "Enter a quantity"),
        ("0", "at least 1"),
        ("000", "at least 1"),
        (0, "at least 1"),
        (-3, "at least 1"),
        ("-3", "cannot be negative"),
        ("\u22123", "cannot be negative"),
        ("1001", "the limit is 1000"),
        (1001, "the limit is 1000"),
        ("9" * 5000, "the limit is 1000"),
        ("2.5", "whole number"),
        ("2.0", "whole number"),
        ("two", "whole number"),
        ("1e3", "whole number"),
        ("٣", "whole number"),
        (True, "whole number"),
    ],
)
def test_quantity_refusals(text: str | int, fragment: str) -> None:
    with pytest.raises(IntakeError, match=fragment):
        parse_quantity(text)


def test_long_quantity_text_is_clipped_in_the_message() -> None:
    with pytest.raises(IntakeError) as caught:
        parse_quantity("9" * 5000)
    assert len(caught.value.message) < 200


# --- clean_justification ----------------------------------------------------------------------


def test_justification_is_stripped_and_keeps_line_breaks() -> None:
    assert clean_justification("  Need a second screen.\r\nFor the demo.\t ") == (
        "Need a second screen.\nFor the demo."
    )


def test_control_and_bidi_characters_are_removed() -> None:
    assert clean_justification("a\x00b\x07c\x1b[31m\u202edef\u2066") == "abc[31mdef"


def test_emoji_survive() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # zero-width joiners must stay
    assert clean_justification(f"team outing {family}") == f"team outing {family}"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x01", "\u200b", "\u202e  "])
def test_blank_justification(text: str) -> None:
    with pytest.raises(IntakeError, match="write a short reason for the purchase or leave it out"):
        clean_justification(text)


def test_justification_length_limit() -> None:
    at_limit = "x" * MAX_JUSTIFICATION_CHARS
    assert clean_justification(f"  {at_limit}  ") == at_limit
    with pytest.raises(IntakeError, match=f"1001 characters long; the limit is {1000}"):
        clean_justification(at_limit + "y")


# --- build_purchase_request -------------------------------------------------------------------


def _build(**overrides: object) -> PurchaseRequest:
    arguments: dict[str, object] = {
        "request_id": "req-1",
        "requester_slack_id": "UALICE",
        "url": "https://www.amazon.es/Stabilo/dp/b000000001/ref=sr_1_1?tag=x",
        "amount": "25.98 €",
        "quantity": "2",
        "justification": "  For the workshop  ",
        "directory": DIRECTORY,
        "now": NOW,
    }
    arguments.update(overrides)
    return build_purchase_request(**arguments)  # type: ignore[arg-type]


def test_builds_a_request_from_the_directory_and_the_input() -> None:
    assert _build() == PurchaseRequest(
        request_id="req-1",
        requester="UALICE",
        employee_id="E1001",
        department="IT",
        manager="UCARLOS",
        product_url="https://www.amazon.es/dp/B000000001",
        quantity=2,
        amount=_eur("25.98"),
        justification="For the workshop",
        requested_at=NOW,
    )


def test_defaults_quantity_one_and_no_justification() -> None:
    request = build_purchase_request(
        request_id="r",
        requester_slack_id="UCARLOS",
        url="https://amazon.com/dp/B000000001",
        amount="10",
        directory=DIRECTORY,
        now=NOW,
    )
    assert (request.quantity, request.justification, request.manager) == (1, "", "UALICE")


def test_time_is_stored_in_utc() -> None:
    madrid = timezone(timedelta(hours=1))
    request = _build(now=datetime(2025, 3, 4, 11, 30, tzinfo=madrid))
    assert request.requested_at == NOW
    assert request.requested_at is not None
    assert request.requested_at.utcoffset() == timedelta(0)


def test_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware") as caught:
        _build(now=datetime(2025, 3, 4, 10, 30))
    assert not isinstance(caught.value, IntakeError)


def test_requester_must_be_in_the_directory() -> None:
    with pytest.raises(IntakeError, match=r"not in the company directory \(directory.yaml\)"):
        _build(requester_slack_id="UMALLORY")


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://www.ebay.es/itm/1", "'www.ebay.es' is not an Amazon store"),
        ("https://www.amazon.es/dp/B0", "is not a valid Amazon product id"),
        ("not a link", "spaces or invisible characters"),
    ],
)
def test_bad_links_are_refused_before_anything_starts(url: str, fragment: str) -> None:
    with pytest.raises(IntakeError, match=fragment):
        _build(url=url)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("amount", "-1", "cannot be negative"),
        ("quantity", "0", "at least 1"),
        ("quantity", 0, "at least 1"),
        ("justification", "   ", "leave it out"),
    ],
)
def test_other_fields_are_checked(field: str, value: object, fragment: str) -> None:
    with pytest.raises(IntakeError, match=fragment):
        _build(**{field: value})


# --- properties -------------------------------------------------------------------------------


@given(st.text(max_size=80))
def test_any_amount_text_parses_to_a_positive_amount_or_is_refused(text: str) -> None:
    try:
        money = parse_amount(text)
    except IntakeError as err:
        assert err.message
    else:
        assert money.amount.is_finite()
        assert Decimal(0) < money.amount <= MAX_AMOUNT
        assert money.currency in KNOWN_CURRENCIES


_AMOUNT_ALPHABET = "0123456789.,-+ €$£EURSDeurnaifNI\u2212"


@given(st.text(alphabet=_AMOUNT_ALPHABET, max_size=20))
def test_amount_shaped_text_parses_to_a_positive_amount_or_is_refused(text: str) -> None:
    try:
        money = parse_amount(text)
    except IntakeError as err:
        assert err.message
    else:
        assert money.amount.is_finite()
        assert money.amount > 0


_cents = st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2)


@given(
    value=_cents,
    currency=st.sampled_from(KNOWN_CURRENCIES),
    layout=st.sampled_from(["{n}", "{n} {c}", "{c} {n}", "{n}{c}", "{c}{n}"]),
    comma=st.booleans(),
    lower=st.booleans(),
)
def test_formatted_amounts_parse_back_equal(
    value: Decimal, currency: str, layout: str, comma: bool, lower: bool
) -> None:
    number = f"{value:.2f}"
    if comma:
        number = number.replace(".", ",")
    code = currency.lower() if lower else currency
    text = layout.format(n=number, c=code)
    expected_currency = currency if "{c}" in layout else "EUR"
    assert parse_amount(text) == Money(amount=value, currency=expected_currency)


@given(value=_cents, symbol=st.sampled_from(["€", "$", "£"]), before=st.booleans())
def test_amounts_with_symbols_parse_back_equal(value: Decimal, symbol: str, before: bool) -> None:
    text = f"{symbol}{value}" if before else f"{value} {symbol}"
    parsed = parse_amount(text)
    assert parsed.amount == value
    assert parsed.currency == {"€": "EUR", "$": "USD", "£": "GBP"}[symbol]


@given(st.one_of(st.text(max_size=30), st.integers(min_value=-(10**6), max_value=10**6)))
def test_any_quantity_is_in_range_or_refused(text: str | int) -> None:
    try:
        quantity = parse_quantity(text)
    except IntakeError as err:
        assert err.message
    else:
        assert 1 <= quantity <= MAX_QUANTITY


@given(st.text(max_size=1200))
def test_any_justification_is_clean_or_refused(text: str) -> None:
    try:
        cleaned = clean_justification(text)
    except IntakeError as err:
        assert err.message
    else:
        assert 0 < len(cleaned) <= MAX_JUSTIFICATION_CHARS
        assert cleaned == cleaned.strip()
        assert all(ch in "\n\t" or ch.isprintable() or not ch.isascii() for ch in cleaned)


@given(
    requester=st.sampled_from(["UALICE", "UCARLOS", "UNOBODY", ""]),
    url=st.text(max_size=60) | st.just("https://www.amazon.es/dp/B000000001"),
    amount=st.text(max_size=20) | st.just("12.50"),
    quantity=st.text(max_size=5) | st.integers(min_value=-5, max_value=2000),
    justification=st.none() | st.text(max_size=40),
)
def test_any_input_builds_a_request_or_is_refused(
    requester: str, url: str, amount: str, quantity: str | int, justification: str | None
) -> None:
    try:
        request = build_purchase_request(
            request_id="r",
            requester_slack_id=requester,
            url=url,
            amount=amount,
            quantity=quantity,
            justification=justification,
            directory=DIRECTORY,
            now=NOW,
        )
    except IntakeError as err:
        assert err.message
    else:
        assert request.product_url.startswith("https://www.amazon.")
        assert request.amount.amount > 0
