"""The door of /slack/events: nothing is parsed before its signature is checked.

Unsigned, badly signed or stale requests get 401, and signed bodies Bolt cannot read get 400,
before Bolt sees them (Bolt parses a body before it checks the signature, so garbage in
`payload=` would otherwise cost a 500 and a traceback). Each refusal is one short log line, at
most one per kind every `QuietLog.every` seconds with a count of the ones left out: a flood of
garbage cannot flood the log.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from slack_bolt.request.async_request import AsyncBoltRequest

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5 * 60  # Slack's replay window


@dataclass
class QuietLog:
    """At most one warning per kind per `every` seconds; the rest are counted, not written."""

    every: float = 60.0
    _last: dict[str, float] = field(default_factory=dict)
    _skipped: dict[str, int] = field(default_factory=dict)

    def refused(self, kind: str, remote: str | None) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -self.every) < self.every:
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return
        skipped = self._skipped.pop(kind, 0)
        self._last[kind] = now
        more = f" (+{skipped} more since the last such line)" if skipped else ""
        log.warning("refused a Slack request: %s, from %s%s", kind, remote or "?", more)


@dataclass(frozen=True)
class Refusal:
    status: int
    kind: str


class RequestGate:
    def __init__(self, signing_secret: str, quiet_log: QuietLog | None = None) -> None:
        self._secret = signing_secret.encode()
        self.log = quiet_log or QuietLog()

    def _signed(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's v0 scheme over the raw bytes (slack_sdk's verifier decodes the body first
        and raises on bytes that are not UTF-8)."""
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_AGE_SECONDS:
            return False
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + raw, "sha256")
        given = headers.get("X-Slack-Signature", "")
        return hmac.compare_digest(f"v0={expected.hexdigest()}", given)

    def admit(
        self, raw: bytes, query: str, headers: Mapping[str, str]
    ) -> AsyncBoltRequest | Refusal:
        """A Bolt request for a signed, readable body; otherwise why not (status and kind)."""
        if not self._signed(raw, headers):
            return Refusal(401, "missing, wrong or stale signature")
        try:
            return AsyncBoltRequest(body=raw.decode("utf-8"), query=query, headers=dict(headers))
        except ValueError:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
            return Refusal(400, "signed but unreadable body")
