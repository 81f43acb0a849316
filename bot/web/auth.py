"""Who is looking at the web dashboard: an API token (header, or once in the URL and then a
cookie) or a short-lived login link the bot sent in Slack, exchanged for an HttpOnly cookie.

Links and sessions are signed (HMAC-SHA256) with one key; a link and a session are signed for
different purposes, so one cannot stand in for the other. Nothing here logs a token or a link."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.api.tokens import ApiTokens, Role

LINK_LIFETIME = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(hours=8)
_LINK, _SESSION = "login-link", "session"


@dataclass(frozen=True)
class Viewer:
    name: str
    """`slack:<user id>` for a login link, `api:<token name>` for a token."""
    role: Role


class Expired(Exception):
    """A login link or session that was valid once: the person must get a new one."""


def web_key(web_secret: str | None, slack_signing_secret: str) -> bytes:
    """The signing key: PURCHASEBOT_WEB_SECRET; else derived from the Slack signing secret (every
    replica has it); else random, so links work only on the replica that made them."""
    if web_secret:
        return hashlib.sha256(web_secret.encode()).digest()
    if slack_signing_secret:
        return hmac.new(slack_signing_secret.encode(), b"purchasebot web", "sha256").digest()
    return secrets.token_bytes(32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WebAuth:
    def __init__(
        self,
        tokens: ApiTokens,
        key: bytes,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tokens = tokens
        self._key = key
        self._now = now

    # --- API tokens ------------------------------------------------------------------------

    def from_token(self, token: str) -> Viewer | None:
        caller = self._tokens.identify(token)
        return None if caller is None else Viewer(caller.actor, caller.role)

    # --- login links (sent in Slack) and sessions (cookies) ----------------------------------

    def login_link(self, viewer: Viewer) -> str:
        return self._sign(_LINK, viewer, LINK_LIFETIME)

    def session(self, viewer: Viewer) -> str:
        return self._sign(_SESSION, viewer, SESSION_LIFETIME)

    def from_login_link(self, signed: str) -> Viewer | None:
        """None: not a link we made. Raises Expired for one of ours that is too old."""
        return self._verify(_LINK, signed)

    def from_session(self, signed: str) -> Viewer | None:
        return self._verify(_SESSION, signed)

    def _mac(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}.{body}".encode(), "sha256").digest())

    def _sign(self, purpose: str, viewer: Viewer, lifetime: timedelta) -> str:
        expires = int((self._now() + lifetime).timestamp())
        body = _b64(json.dumps({"n": viewer.name, "r": viewer.role.value, "e": expires}).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def _verify(self, purpose: str, signed: str) -> Viewer | None:
        body, _, mac = signed.partition(".")
        if not body or not hmac.compare_digest(mac.encode(), self._mac(purpose, body).encode()):
            return None
        try:
            claims = json.loads(_unb64(body))
            viewer = Viewer(str(claims["n"]), Role(claims["r"]))
            expires = int(claims["e"])
        except (ValueError, KeyError, TypeError):
            return None  # signed by us, so never expected; refused all the same
        if self._now().timestamp() >= expires:
            raise Expired(purpose)
        return viewer
