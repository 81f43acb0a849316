"""Request ids: 64 random bits, or derived from a Slack delivery; what people type is checked."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from domain.request_ids import new_request_id, parse_request_id, request_id_for_delivery


def test_new_ids_carry_64_random_bits_and_parse() -> None:
    ids = {new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for request_id in list(ids)[:50]:
        body = request_id.removeprefix("PR-")
        assert len(base64.b32decode(body + "===")) == 8  # 64 bits
        assert parse_request_id(request_id.lower()) == request_id


def test_a_delivery_always_gives_the_same_id_and_another_delivery_another() -> None:
    first = request_id_for_delivery("command", "UNICO", "1234.5678.abc")
    assert first == request_id_for_delivery("command", "UNICO", "1234.5678.abc")
    assert first != request_id_for_delivery("command", "UBOB", "1234.5678.abc")
    assert first != request_id_for_delivery("view", "UNICO", "1234.5678.abc")
    assert parse_request_id(first) == first


def test_ids_of_older_code_are_still_accepted() -> None:
    assert parse_request_id(" pr-1a2b3c4d ") == "PR-1A2B3C4D"


@given(st.text())
def test_anything_else_is_not_a_request_id(text: str) -> None:
    parsed = parse_request_id(text)
    assert parsed is None or (parsed.startswith("PR-") and 11 <= len(parsed) <= 16)
