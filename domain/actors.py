"""Who did something when it was not a person. These spellings are stored (audit trails,
approvals, recorded histories), so they are defined here once and never change."""

from __future__ import annotations

from collections.abc import Callable

# The workflow itself: validation, timeouts, ordering, alerts.
SYSTEM = "system"
# The automated review: the approvals it grants and the reviews it records.
AUTOMATED_SYSTEM = "automated_system"
# The candidate rules running in shadow: it only ever records what it would have decided.
SHADOW_REVIEW = "shadow_review"


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
