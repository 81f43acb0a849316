"""API tokens and the roles they carry (PURCHASEBOT_API_TOKENS / PURCHASEBOT_API_TOKENS_FILE).

A token is a secret: it is never logged, never shown and never stored; a caller is named by its
optional name or by its role and position in the list (`api:ops-1`)."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Role(StrEnum):
    OPS = "ops"  # changes the product's behaviour (rules, flags)
    FINANCE = "finance"  # reads money-related views
    AUDITOR = "auditor"  # reads everything, changes nothing
    INTEGRATION = "integration"  # other systems: previews, checks


# Tokens shorter than this are refused at start: a guessable token is no protection.
MIN_TOKEN_LENGTH = 16
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


class BadTokenConfig(ValueError):
    """The token setting cannot be read; the message names the entry (never the token)."""


@dataclass(frozen=True)
class ApiCaller:
    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        return f"api:{self.name}"


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    caller: ApiCaller


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps the comparison's time independent of the length of
    # what was presented.
    return hashlib.sha256(token.encode()).digest()


class ApiTokens:
    def __init__(self, entries: list[_Entry]) -> None:
        self._entries = entries

    @classmethod
    def parse(cls, text: str) -> ApiTokens:
        """`token:role[:name]` entries separated by commas or new lines; `#` starts a comment."""
        entries: list[_Entry] = []
        seen: set[bytes] = set()
        lines = [line.split("#", 1)[0] for line in text.splitlines()]
        items = [item.strip() for line in lines for item in line.split(",") if item.strip()]
        for number, item in enumerate(items, start=1):
            parts = item.split(":")
            if len(parts) not in (2, 3):
                raise BadTokenConfig(f"API token entry {number} is not `token:role[:name]`.")
            token, role_text = parts[0], parts[1]
            try:
                role = Role(role_text.strip().lower())
            except ValueError:
                roles = ", ".join(r.value for r in Role)
                raise BadTokenConfig(
                    f"API token entry {number}: role `{role_text}` is not one of {roles}."
                ) from None
            if len(token) < MIN_TOKEN_LENGTH:
                raise BadTokenConfig(
                    f"API token entry {number} is shorter than {MIN_TOKEN_LENGTH} characters."
                )
            name = parts[2].strip() if len(parts) == 3 else f"{role.value}-{number}"
            if not _NAME.match(name):
                raise BadTokenConfig(
                    f"API token entry {number}: the name may have letters, digits, `_.-` (1-40)."
                )
            digest = _digest(token)
            if digest in seen:
                raise BadTokenConfig(f"API token entry {number} repeats an earlier token.")
            seen.add(digest)
            entries.append(_Entry(digest, ApiCaller(name, role)))
        return cls(entries)

    @classmethod
    def load(cls, inline: str | None, file: Path | None) -> ApiTokens:
        """Both may be set: their tokens add up. Neither: the API answers 401 to everyone."""
        text = inline or ""
        if file is not None:
            try:
                text += "\n" + file.read_text()
            except OSError as err:
                raise BadTokenConfig(f"Cannot read the API tokens file {file}: {err}") from err
        return cls.parse(text)

    def __len__(self) -> int:
        return len(self._entries)

    def identify(self, presented: str) -> ApiCaller | None:
        """The caller whose token was presented. Every entry is compared, in constant time."""
        given = _digest(presented)
        found: ApiCaller | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, given):
                found = entry.caller
        return found
