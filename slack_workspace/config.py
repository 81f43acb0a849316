"""Settings shared by the workspace's parts (Web API, deliveries, browser UI)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


def new_bot_token() -> str:
    # Slack bot tokens look like xoxb-<team>-<bot>-<secret>; the prefix matters to SDKs that
    # tell bot and user tokens apart. Throwaway, local-only value.
    return f"xoxb-0000000001-0000000002-{secrets.token_urlsafe(18)}"


def new_signing_secret() -> str:
    # Slack's signing secrets are 32 hex characters. Throwaway, local-only value.
    return secrets.token_hex(16)


@dataclass
class WorkspaceConfig:
    bot_token: str = field(default_factory=new_bot_token)
    signing_secret: str = field(default_factory=new_signing_secret)
    # The deprecated "verification token" Slack still puts in every payload's `token` field.
    verification_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    request_url: str | None = None
    base_url: str = ""  # "http://127.0.0.1:<port>", known once the server listens
    ack_timeout: float = 3.0  # Slack waits 3 s for the HTTP 200 acknowledgement
    trigger_ttl: float = 3.0  # a trigger_id can be exchanged for 3 s, once
    commands: set[str] = field(default_factory=lambda: {"/purchase"})
    # Events API: Slack retries an event that was not acknowledged 3 times, at once, after
    # 1 minute and after 5 minutes. Tests shorten the waits.
    event_retry_delays: tuple[float, ...] = (0.0, 60.0, 300.0)
    # The bot events the app subscribed to (its manifest's); None: every event.
    bot_events: frozenset[str] | None = None
