"""What `/purchase <text>` is understood to ask for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.command_parsing import (
    CancelRequest,
    NewRequest,
    OpenForm,
    ShowHelp,
    ShowStatus,
    Unparseable,
    parse_purchase_command,
)

URL = "https://www.amazon.es/dp/1449373321"


def test_empty_text_opens_the_form() -> None:
    assert parse_purchase_command("  ") == OpenForm()


def test_help_status_and_cancel() -> None:
    assert parse_purchase_command("help") == ShowHelp()
    assert parse_purchase_command("status") == ShowStatus(None)
    assert parse_purchase_command("status pr-1a2b3c4d") == ShowStatus("PR-1A2B3C4D")
    assert parse_purchase_command("cancel PR-1A2B3C4D") == CancelRequest("PR-1A2B3C4D")
    assert isinstance(parse_purchase_command("cancel"), Unparseable)
    assert isinstance(parse_purchase_command("status a b"), Unparseable)


def test_full_request_with_slack_link_markup_and_currency() -> None:
    parsed = parse_purchase_command(f"<{URL}|amazon.es> 39.90 EUR 2 for the &lt;team&gt;")
    assert parsed == NewRequest(
        url=URL, amount="39.90 EUR", quantity="2", justification="for the <team>"
    )


def test_quantity_and_justification_are_optional() -> None:
    assert parse_purchase_command(f"{URL} 39.90") == NewRequest(URL, "39.90", "1", None)
    assert parse_purchase_command(f"{URL} 39.90 new hire") == NewRequest(
        URL, "39.90", "1", "new hire"
    )


def test_missing_amount_or_no_link_is_unparseable() -> None:
    assert isinstance(parse_purchase_command(URL), Unparseable)
    assert isinstance(parse_purchase_command("gimme a laptop"), Unparseable)


@given(st.text())
def test_any_text_gives_a_command_never_an_exception(text: str) -> None:
    assert isinstance(
        parse_purchase_command(text),
        NewRequest | OpenForm | ShowHelp | ShowStatus | CancelRequest | Unparseable,
    )
