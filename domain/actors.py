"""Who did something when it was not a person. These spellings are stored (audit trails,
approvals, recorded histories), so they are defined here once and never change."""

from __future__ import annotations

import re
from collections.abc import Callable

from domain.mrkdwn import escape

# The workflow itself: validation, timeouts, ordering, alerts.
SYSTEM = "system"
# The automated review: the approvals it grants and the reviews it records.
AUTOMATED_SYSTEM = "automated_system"
# The candidate rules running in shadow: it only ever records what it would have decided.
SHADOW_REVIEW = "shadow_review"
# The rollout controller's health monitor (its automatic rollbacks).
MONITOR = "monitor"
# Callers that are not Slack users: an API token (`api:<name>`) and the CLI (`cli:<user>`).
CHANNEL_PREFIXES = {"api:": "API", "cli:": "CLI"}
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")


def is_automated(actor: str) -> bool:
    return actor == AUTOMATED_SYSTEM


def is_person(actor: str) -> bool:
    return actor not in (SYSTEM, AUTOMATED_SYSTEM, SHADOW_REVIEW)


def actor_label(actor: str, person: Callable[[str], str] = str) -> str:
    """How an actor is named to people; `person` renders a Slack user id (a mention in Slack)."""
    if actor == SYSTEM:
        return "the system"
    if actor == AUTOMATED_SYSTEM:
        return "the automated review"
    if actor == SHADOW_REVIEW:
        return "the shadow review (decides nothing)"
    return person(actor)


def mention(actor: str) -> str:
    """An actor named in a Slack message: a Slack user as a mention, anyone else by name with
    where they acted from (`<@api:ops-1>` is a broken mention, not a name)."""
    if SLACK_USER_ID.match(actor):
        return f"<@{actor}>"
    if actor == MONITOR:
        return "The monitor"
    for prefix, channel in CHANNEL_PREFIXES.items():
        if actor.startswith(prefix):
            return f"`{escape(actor)}` ({channel})"
    return f"`{escape(actor)}`"
