"""Checking the purchase form field by field, so Slack can show each error on its field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack.blocks import AMOUNT_BLOCK, JUSTIFICATION_BLOCK, QUANTITY_BLOCK, URL_BLOCK
from bot.slack.command_parsing import NewRequest
from bot.slack.payloads import text_value
from domain.amazon_urls import InvalidProductUrl, parse_amazon_url
from domain.directory import Directory
from domain.intake import IntakeError, clean_justification, parse_amount, parse_quantity


def read_form(state_values: dict[str, Any]) -> NewRequest:
    def value(block: str) -> str:
        return text_value(state_values, block)

    justification = value(JUSTIFICATION_BLOCK)
    return NewRequest(
        url=value(URL_BLOCK).strip(),
        amount=value(AMOUNT_BLOCK).strip(),
        quantity=value(QUANTITY_BLOCK).strip() or "1",
        justification=justification if justification.strip() else None,
    )


def form_errors(form: NewRequest, requester: str, directory: Directory) -> dict[str, str]:
    """Field block id -> message. Empty when the form can be submitted."""
    checks: list[tuple[str, Callable[[], object]]] = [
        (URL_BLOCK, lambda: parse_amazon_url(form.url)),
        (AMOUNT_BLOCK, lambda: parse_amount(form.amount)),
        (QUANTITY_BLOCK, lambda: parse_quantity(form.quantity)),
    ]
    if form.justification is not None:
        checks.append((JUSTIFICATION_BLOCK, lambda: clean_justification(form.justification or "")))
    errors: dict[str, str] = {}
    for block, check in checks:
        try:
            check()
        except (IntakeError, InvalidProductUrl) as err:
            errors[block] = str(err)[:150]  # Slack truncates field errors
    if directory.person(requester) is None:
        errors[URL_BLOCK] = "You are not in the company directory; ask ops to add you."
    return errors
