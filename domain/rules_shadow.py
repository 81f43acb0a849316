"""Shadow review: a candidate rule set that every review also evaluates, recording what it would
have decided without acting on it, until ops promote it (a new version) or stop it.

Pure code: the rules entity (entities/review_rules.py) applies these in its Updates and their
validators (a refusal is a ValueError whose text a person reads), the bot and the API explain.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.review_rules import RulesFile
from domain.rules_versions import (
    RuleChange,
    RulesEntityState,
    RulesVersion,
    RulesVersionSummary,
    ShadowCandidate,
    content_hash,
    diff_rules,
    next_version,
)


class SetShadowInput(BaseModel):
    rules: RulesFile
    author: str
    reason: str = ""
    source: str = ""
    based_on_candidate: int | None = Field(
        default=None,
        description="the candidate an edit was made from (0: none): refused if another was set "
        "since, as a rules change made from an old version is",
    )


class StopShadowInput(BaseModel):
    author: str
    reason: str = ""


class PromoteShadowInput(BaseModel):
    author: str
    reason: str = ""
    candidate: int | None = Field(
        default=None, description="the candidate meant (c<n>): refused if another is in shadow"
    )


class ShadowChangeResult(BaseModel):
    candidate: ShadowCandidate | None = Field(description="in shadow now (None once stopped)")
    stopped: ShadowCandidate | None = None
    promoted: RulesVersionSummary | None = Field(default=None, description="the new version")


class ReviewRulesSnapshot(BaseModel):
    """What a review reads: the rules in force and the candidate in shadow, if any."""

    active: RulesVersion
    shadow: ShadowCandidate | None = None


class ShadowView(BaseModel):
    """The candidate and how it differs from the rules in force (`/rules shadow`, the API)."""

    active: str = Field(description="the version in force, `v<n>`")
    candidate: ShadowCandidate | None = None
    diff: list[RuleChange] = Field(default_factory=list, description="active -> candidate")


def shadow_view(state: RulesEntityState) -> ShadowView:
    active = state.versions[-1]
    candidate = state.shadow
    diff = diff_rules(active.rules, candidate.rules) if candidate is not None else []
    return ShadowView(active=active.label, candidate=candidate, diff=diff)


def candidate_of(state: RulesEntityState, input: SetShadowInput, at: datetime) -> ShadowCandidate:
    """The candidate `input` would put in shadow. Raises ValueError (why, what to do)."""
    active, current = state.versions[-1], state.shadow
    if input.based_on_candidate is not None:
        now = current.number if current is not None else 0
        if now != input.based_on_candidate:
            shown = current.label if current is not None else "none"
            raise ValueError(
                f"The shadow candidate changed meanwhile (now {shown}): look at `/rules shadow` "
                "and redo the change."
            )
    if not diff_rules(active.rules, input.rules):
        raise ValueError(
            f"These are the rules in force ({active.label}): in shadow they could only agree "
            "with themselves. Change something first."
        )
    if current is not None and not diff_rules(current.rules, input.rules):
        raise ValueError(f"This is the candidate already in shadow ({current.label}).")
    return ShadowCandidate(
        number=state.shadows_started + 1,
        rules=input.rules,
        content_hash=content_hash(input.rules),
        author=input.author,
        at=at,
        reason=input.reason,
        based_on=active.number,
        source=input.source,
    )


def with_shadow(state: RulesEntityState, candidate: ShadowCandidate | None) -> RulesEntityState:
    started = max(state.shadows_started, candidate.number if candidate is not None else 0)
    return state.model_copy(update={"shadow": candidate, "shadows_started": started})


NOTHING_IN_SHADOW = (
    "No rules are in shadow. Start with `/rules shadow start <version>` or "
    "`/rules shadow set <department> <field> <value>`."
)


def in_shadow(state: RulesEntityState, meant: int | None = None) -> ShadowCandidate:
    """The candidate in shadow (the one `meant`, if given). Raises ValueError."""
    candidate = state.shadow
    if candidate is None:
        raise ValueError(NOTHING_IN_SHADOW)
    if meant is not None and meant != candidate.number:
        raise ValueError(
            f"c{meant} is not in shadow any more; {candidate.label} is. Look at `/rules shadow "
            "status` for it first."
        )
    return candidate


def promoted_version(
    state: RulesEntityState, input: PromoteShadowInput, at: datetime
) -> RulesVersion:
    """The version promoting the candidate makes. Raises ValueError when there is none, or when
    the rules in force changed since it was set (promoting would silently undo that change)."""
    candidate = in_shadow(state, input.candidate)
    active = state.versions[-1]
    if active.number != candidate.based_on:
        raise ValueError(
            f"The rules changed since {candidate.label} was put in shadow (it was made beside "
            f"v{candidate.based_on}; now {active.label}, by {active.author}): promoting it "
            "would undo that change. Set the candidate again from the rules in force."
        )
    why = f"promoted shadow {candidate.label}" + (f": {input.reason}" if input.reason else "")
    return next_version(state, candidate.rules, author=input.author, at=at, reason=why)
