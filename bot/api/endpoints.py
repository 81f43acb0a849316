"""The product's endpoint groups, built from the bot's dependencies: one list, so a new group is
one line here."""

from __future__ import annotations

from bot.api.framework import Endpoint
from bot.slack.deps import BotDeps


def api_endpoints(deps: BotDeps) -> list[Endpoint]:
    del deps  # the groups (rules, review preview, ...) take what they need from it
    return []
