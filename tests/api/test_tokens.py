"""API tokens: parsing, roles, constant-time identification, refusals that never echo a token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.api.tokens import ApiCaller, ApiTokens, BadTokenConfig, Role

OPS = "ops-secret-0123456789abcdef"
AUDIT = "audit-secret-0123456789abcd"


def test_tokens_carry_their_role_and_name() -> None:
    tokens = ApiTokens.parse(f"{OPS}:ops:alice, {AUDIT}:auditor")
    assert tokens.identify(OPS) == ApiCaller("alice", Role.OPS)
    assert tokens.identify(AUDIT) == ApiCaller("auditor-2", Role.AUDITOR)
    assert tokens.identify(OPS + "x") is None
    assert tokens.identify("") is None
    assert ApiCaller("alice", Role.OPS).actor == "api:alice"


def test_a_file_and_the_inline_setting_add_up(tmp_path: Path) -> None:
    file = tmp_path / "tokens"
    file.write_text(f"# the finance system\n{AUDIT}:finance:ledger\n\n")
    tokens = ApiTokens.load(f"{OPS}:ops", file)
    assert len(tokens) == 2
    assert tokens.identify(AUDIT) == ApiCaller("ledger", Role.FINANCE)


def test_no_setting_means_no_caller_is_known() -> None:
    assert ApiTokens.load(None, None).identify(OPS) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"{OPS}", "is not `token:role[:name]`"),
        (f"{OPS}:admin", "role `admin` is not one of ops, finance, auditor, integration"),
        ("short:ops", "shorter than 16"),
        (f"{OPS}:ops:bad name!", "the name may have"),
        (f"{OPS}:ops,{OPS}:auditor", "repeats an earlier token"),
    ],
)
def test_a_bad_setting_is_refused_without_showing_the_token(text: str, says: str) -> None:
    with pytest.raises(BadTokenConfig, match=re.escape(says)) as refused:
        ApiTokens.parse(text)
    assert OPS not in str(refused.value)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadTokenConfig, match="Cannot read the API tokens file"):
        ApiTokens.load(None, tmp_path / "missing")
