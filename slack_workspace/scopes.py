"""OAuth scopes: which bot scope each Web API method needs, and what an app's manifest grants.

Slack refuses a method whose scope the token lacks with
`{"ok": false, "error": "missing_scope", "needed": "...", "provided": "..."}`. Where Slack
accepts any of several scopes (conversations.open: im:write, mpim:write, ...), `needed` lists
them all, comma-separated, as Slack does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from slack_workspace.yaml_files import read_yaml

# Methods any app may call, whatever its scopes.
NO_SCOPE_METHODS = frozenset(
    {"api.test", "auth.test", "views.open", "views.push", "views.update", "views.publish"}
)
# The bot scopes of which a method needs one (methods in neither table are unknown here).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "conversations.open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "conversations.join": ("channels:join",),
    "conversations.list": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.history": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "users.info": ("users:read",),
}

# Lets an app post in public channels it has not joined (chat.postMessage, chat.postEphemeral).
CHAT_WRITE_PUBLIC = "chat:write.public"

# What an app holds when no manifest or scope list is given: every scope a method above needs,
# and deliberately NOT chat:write.public, so channel membership is enforced by default.
DEFAULT_SCOPES: frozenset[str] = frozenset(
    scope for scopes in METHOD_SCOPES.values() for scope in scopes
) | {"commands"}


class ManifestError(Exception):
    """The manifest cannot be read; the message names the file and the problem."""


def _read_manifest(path: Path) -> dict[str, Any]:
    data = read_yaml(path, ManifestError)
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: not an app manifest (a mapping at the top)")
    return data


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(s, str) for s in value)


def scopes_from_manifest(path: Path | str) -> frozenset[str]:
    """The bot scopes an app manifest (manifest.yaml) asks for: oauth_config.scopes.bot."""
    path = Path(path)
    bot = (_read_manifest(path).get("oauth_config") or {}).get("scopes", {}).get("bot")
    if not _string_list(bot):
        raise ManifestError(f"{path}: oauth_config.scopes.bot must be a list of scopes")
    return frozenset(bot)


def events_from_manifest(path: Path | str) -> frozenset[str]:
    """The bot events the app subscribes to: settings.event_subscriptions.bot_events."""
    path = Path(path)
    settings = _read_manifest(path).get("settings") or {}
    events = (settings.get("event_subscriptions") or {}).get("bot_events", [])
    if not _string_list(events):
        raise ManifestError(f"{path}: settings.event_subscriptions.bot_events must be a list")
    return frozenset(events)


class Grants:
    """The scopes the installed app holds; changeable at run time (a re-install)."""

    def __init__(self, scopes: Iterable[str] = DEFAULT_SCOPES) -> None:
        self.scopes = frozenset(scopes)

    def missing(self, method: str) -> tuple[str, ...] | None:
        """The scopes of which one is needed and none is held; None when the call is allowed."""
        needed = METHOD_SCOPES.get(method, ())
        if not needed or self.scopes.intersection(needed):
            return None
        return needed

    @property
    def chat_write_public(self) -> bool:
        return CHAT_WRITE_PUBLIC in self.scopes

    @property
    def provided(self) -> str:
        return ",".join(sorted(self.scopes))
