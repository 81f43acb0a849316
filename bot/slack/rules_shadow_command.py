"""What `/rules shadow <text>` asks for, and the Block Kit that shows the candidate in shadow and
how it agrees. Pure: bot/slack/rules_shadow_handler.py acts on the result."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.insight.shadow import ShadowFigures
from bot.slack.blocks import Block, context, text
from bot.slack.command_parsing import Unparseable
from bot.slack.rules_command import diff_text
from domain.actors import mention
from domain.mrkdwn import escape
from domain.rules_shadow import ShadowView
from domain.rules_versions import RulesVersionSummary, ShadowCandidate

SHADOW_USAGE = (
    "• `/rules shadow` — the candidate rules in shadow and how they differ from the rules in "
    "force\n"
    "• `/rules shadow start <version> [reason]` — put an earlier version's rules in shadow; "
    "`/rules shadow set <department> <field> <value> [reason]` — a candidate with one rule "
    "changed (the candidate's, or the rules in force'). Every review then also evaluates it; "
    "its verdict goes into each request's audit trail and never decides anything\n"
    "• `/rules shadow status` — how it agrees with the rules in force and with the people who "
    "decided\n"
    "• `/rules shadow promote [c<n>] [reason]` — make it the rules in force (a new version); "
    "`/rules shadow stop [reason]` — end it"
)
_VERSION = re.compile(r"^v?(\d{1,9})$", re.IGNORECASE)
_CANDIDATE = re.compile(r"^c(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class ShowShadow:
    pass


@dataclass(frozen=True)
class ShadowStatus:
    pass


@dataclass(frozen=True)
class ShadowSet:
    department: str
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class ShadowStart:
    version: int
    reason: str


@dataclass(frozen=True)
class ShadowPromote:
    candidate: int | None
    reason: str


@dataclass(frozen=True)
class ShadowStop:
    reason: str


ShadowCommand = ShowShadow | ShadowStatus | ShadowSet | ShadowStart | ShadowPromote | ShadowStop


def parse_shadow_command(words: list[str]) -> ShadowCommand | Unparseable:
    """`words`: what follows `/rules shadow`."""
    if not words or (len(words) == 1 and words[0].lower() in {"show", "list"}):
        return ShowShadow()
    verb, rest = words[0].lower(), words[1:]
    if verb == "status" and not rest:
        return ShadowStatus()
    if verb == "set":
        if len(rest) < 3:
            return Unparseable("Say `/rules shadow set <department> <field> <value> [reason]`.")
        return ShadowSet(rest[0], rest[1], rest[2], " ".join(rest[3:]))
    if verb == "start":
        match = _VERSION.match(rest[0]) if rest else None
        if match is None:
            return Unparseable(
                "Say `/rules shadow start <version> [reason]`, e.g. `/rules shadow start v2`."
            )
        return ShadowStart(int(match.group(1)), " ".join(rest[1:]))
    if verb == "promote":
        meant = _CANDIDATE.match(rest[0]) if rest else None
        reason = rest[1:] if meant else rest
        return ShadowPromote(int(meant.group(1)) if meant else None, " ".join(reason))
    if verb == "stop":
        return ShadowStop(" ".join(rest))
    if verb in {"help", "-h", "--help", "?"}:
        return Unparseable("Here is how `/rules shadow` works.")
    return Unparseable(f"`{words[0][:40]}` is not something `/rules shadow` does.")


# --- showing ----------------------------------------------------------------------------------


def candidate_line(candidate: ShadowCandidate) -> str:
    why = f" · {escape(candidate.reason)}" if candidate.reason else ""
    made = f" · from {escape(candidate.source)}" if candidate.source else ""
    return (
        f"*{candidate.label}* ({escape(candidate.content_hash)}) in shadow since "
        f"{candidate.at:%Y-%m-%d %H:%M} UTC · {mention(candidate.author)}{made}{why}"
    )


def shadow_blocks(view: ShadowView) -> list[Block]:
    candidate = view.candidate
    if candidate is None:
        return [
            text(f"*No rules are in shadow.* The rules in force are {view.active}."),
            context(SHADOW_USAGE),
        ]
    return [
        text(f"*Shadow review:* {candidate_line(candidate)}"),
        text(f"*Differs from {view.active}:*\n{diff_text(view.diff) or 'in nothing'}"),
        context("How it agrees: `/rules shadow status`. It decides nothing until promoted."),
    ]


def in_shadow_blocks(view: ShadowView) -> list[Block]:
    """The line `/rules` adds while candidate rules are in shadow: nobody forgets one running."""
    if view.candidate is None:
        return []
    return [context(f":ghost: In shadow: {candidate_line(view.candidate)} · `/rules shadow`")]


def status_blocks(view: ShadowView, figures: ShadowFigures) -> list[Block]:
    assert view.candidate is not None
    f = figures
    lines = [
        f"*Compared:* {f.compared} requests reviewed by both ({f.running} still running: a "
        "person may still decide)"
        + (f"; {f.unread} running ones could not be read now" if f.unread else ""),
        f"*With the rules in force ({view.active}):* agree on {f.agree_with_active} of "
        f"{f.compared} ({_percent(f.agreement_with_active)}); the candidate would auto-approve "
        f"{f.shadow_would_auto_approve}, the rules in force auto-approved {f.active_auto_approved}",
        f"*With the people who decided:* agree on {f.agree_with_person} of {f.decided_by_person} "
        f"({_percent(f.agreement_with_person)}); it would have auto-approved "
        f"{f.would_auto_approve_person_approved} that a person approved and "
        f"*{f.would_auto_approve_person_rejected} that a person rejected*",
    ]
    return [
        text(f"*Shadow review:* {candidate_line(view.candidate)}"),
        text("\n".join(lines)),
        context(
            "Agreeing with a person: auto-approve what they approved, or send to a person what "
            "they rejected. Read from Temporal now. `/rules shadow promote` makes it the rules."
        ),
    ]


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


# --- announcing (the ops channel; the same from Slack and the API) -----------------------------


def started_announcement(candidate: ShadowCandidate, diff_from: str, diff: str) -> str:
    why = f" — {escape(candidate.reason)}" if candidate.reason else ""
    return (
        f":ghost: Candidate review rules *{candidate.label}* are in shadow, by "
        f"{mention(candidate.author)}{why}. Every review also evaluates them and records their "
        f"verdict; they decide nothing. Differs from {diff_from}:\n{diff}"
    )


def stopped_announcement(candidate: ShadowCandidate, author: str, reason: str) -> str:
    why = f" — {escape(reason)}" if reason else ""
    return f":ghost: Shadow review of *{candidate.label}* stopped by {mention(author)}{why}."


def promoted_line(candidate: ShadowCandidate, version: RulesVersionSummary) -> str:
    return f"Shadow candidate *{candidate.label}* promoted: it is *{version.label}* now."
