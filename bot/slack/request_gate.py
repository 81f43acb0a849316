"""The door of /slack/events: nothing is parsed before its signature is checked.

Unsigned, badly signed or stale requests get 401, and signed bodies Bolt cannot read get 400,
before Bolt sees them (Bolt parses a body before it checks the signature, so garbage in
`payload=` would otherwise cost a 500 and a traceback). Each refusal is one short log line, at
most one per kind every `QuietLog.every` seconds with a count of the ones left out: a flood of
garbage cannot flood the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


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
        self._verifier = SignatureVerifier(signing_secret)
        self.log = quiet_log or QuietLog()

    def admit(
        self, raw: bytes, query: str, headers: Mapping[str, str]
    ) -> AsyncBoltRequest | Refusal:
        """A Bolt request for a signed, readable body; otherwise why not (status and kind)."""
        signed = self._verifier.is_valid(
            body=raw,
            timestamp=headers.get("X-Slack-Request-Timestamp", ""),
            signature=headers.get("X-Slack-Signature", ""),
        )
        if not signed:
            return Refusal(401, "missing, wrong or stale signature")
        try:
            return AsyncBoltRequest(body=raw.decode("utf-8"), query=query, headers=dict(headers))
        except ValueError:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
            return Refusal(400, "signed but unreadable body")
