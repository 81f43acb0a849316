"""Purchase request ids: `PR-` and 13 characters of base32, i.e. 64 bits.

Random ids (the command line) cannot collide in practice at 64 bits; ids derived from a Slack
delivery (a slash command's trigger id, a modal's view id) make a delivery Slack repeats start
the same request instead of a second one. Either way the service refuses to join an existing
request of someone else (see `PurchaseService.submit`).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

PREFIX = "PR-"
_ID_BYTES = 8  # 64 bits
# Ids of older code were 8 hex digits; they stay valid.
_REQUEST_ID = re.compile(r"PR-[A-Z0-9]{8,13}")


def _encode(raw: bytes) -> str:
    return PREFIX + base64.b32encode(raw).decode().rstrip("=")


def new_request_id() -> str:
    return _encode(secrets.token_bytes(_ID_BYTES))


def request_id_for_delivery(kind: str, user: str, delivery_id: str) -> str:
    """The same delivery (kind, person, Slack's id for it) always gives the same request id."""
    digest = hashlib.sha256(f"{kind}\0{user}\0{delivery_id}".encode()).digest()
    return _encode(digest[:_ID_BYTES])


def parse_request_id(text: str) -> str | None:
    """A request id from what a person typed or a button carried, or None if it is not one."""
    candidate = text.strip().upper()
    return candidate if _REQUEST_ID.fullmatch(candidate) else None
