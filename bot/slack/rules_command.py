"""What `/rules <text>` asks for, and the Block Kit that shows the live rules. Pure: the ops
listener acts on the result with RulesAdmin."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.slack.blocks import Block, context, text
from bot.slack.command_parsing import Unparseable
from domain.actors import mention
from domain.mrkdwn import escape, unescape_slack
from domain.rules_versions import DEFAULTS, RuleChange, RulesVersion, RulesVersionSummary

RULES_USAGE = (
    "*How to use /rules*\n"
    "• `/rules` — the rules in force, per department\n"
    "• `/rules set <department> <field> <value> [reason]` — change one rule, e.g. "
    "`/rules set IT max_amount 800 budget cut` or `/rules set Finance user_history."
    "min_previous_purchases 5`; lists comma-separated (`trusted_categories books,software`); "
    "`default` removes a department's own value; `defaults` as the department changes the "
    "defaults\n"
    "• `/rules history` — every version: who, when, why, what changed\n"
    "• `/rules diff <v1> <v2>` — what differs between two versions\n"
    "• `/rules revert <version> [reason]` — make an earlier version's rules the rules again "
    "(as a new version)\n"
    "• `/rules shadow …` — run candidate rules in shadow beside the rules in force, see how "
    "they agree, promote them (`/rules shadow help`)"
)
SHOWN_HISTORY = 15
_VERSION = re.compile(r"^v?(\d{1,9})$", re.IGNORECASE)


@dataclass(frozen=True)
class ShowRules:
    pass


@dataclass(frozen=True)
class ShowHistory:
    pass


@dataclass(frozen=True)
class SetRule:
    department: str
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class DiffVersions:
    old: int
    new: int


@dataclass(frozen=True)
class RevertRules:
    version: int
    reason: str


@dataclass(frozen=True)
class ShadowWords:
    """`/rules shadow …`: parsed by bot/slack/rules_shadow_command.py."""

    words: tuple[str, ...]


RulesCommand = (
    ShowRules | ShowHistory | SetRule | DiffVersions | RevertRules | ShadowWords | Unparseable
)


def parse_rules_command(command_text: str) -> RulesCommand:
    words = unescape_slack(command_text).split()
    if not words or (len(words) == 1 and words[0].lower() in {"show", "list"}):
        return ShowRules()
    verb, rest = words[0].lower(), words[1:]
    if verb == "history" and not rest:
        return ShowHistory()
    if verb == "shadow":
        return ShadowWords(tuple(rest))
    if verb == "set":
        if len(rest) < 3:
            return Unparseable("Say `/rules set <department> <field> <value> [reason]`.")
        return SetRule(rest[0], rest[1], rest[2], " ".join(rest[3:]))
    if verb == "diff":
        numbers = [_version(word) for word in rest]
        if len(numbers) != 2 or None in numbers:
            return Unparseable("Say `/rules diff <v1> <v2>`, e.g. `/rules diff v1 v3`.")
        old, new = numbers
        assert old is not None and new is not None
        return DiffVersions(old, new)
    if verb == "revert":
        number = _version(rest[0]) if rest else None
        if number is None:
            return Unparseable("Say `/rules revert <version> [reason]`, e.g. `/rules revert v2`.")
        return RevertRules(number, " ".join(rest[1:]))
    if verb in {"help", "-h", "--help", "?"}:
        return Unparseable("Here is how `/rules` works.")
    return Unparseable(f"`{words[0][:40]}` is not something `/rules` does.")


def _version(word: str) -> int | None:
    match = _VERSION.match(word)
    return int(match.group(1)) if match else None


# --- showing ----------------------------------------------------------------------------------


def rules_blocks(version: RulesVersion, departments: list[str]) -> list[Block]:
    rules = version.rules
    blocks: list[Block] = [
        text(f"*Review rules {version.label}* ({escape(version.content_hash)})"),
        context(_summary_line(version)),
    ]
    for department in [DEFAULTS, *departments]:
        if department == DEFAULTS:
            effective = rules.defaults
            limits = ", ".join(f"{k} {v}" for k, v in sorted(effective.department_limits.items()))
            lines = [
                f"*defaults* (every amount in {effective.currency})",
                f"• max amount {effective.max_amount}; department limits: {limits or '—'}",
                f"• trusted categories: {', '.join(effective.trusted_categories) or '—'}",
                f"• vendors: {', '.join(effective.vendor_whitelist) or 'any'}",
                _history_line(
                    effective.user_history.min_previous_purchases,
                    effective.user_history.max_rejected_in_last_30_days,
                ),
                _second_approval_line(effective.second_approval_above),
            ]
        else:
            merged = rules.for_department(department)
            own = "" if department in rules.departments else " _(defaults only)_"
            lines = [
                f"*{department}*{own}",
                f"• max amount {merged.max_amount}; department limit "
                f"{merged.department_limit if merged.department_limit is not None else '—'}",
                f"• trusted categories: {', '.join(merged.trusted_categories) or '—'}",
                f"• vendors: {', '.join(merged.vendor_whitelist) or 'any'}",
                _history_line(
                    merged.user_history.min_previous_purchases,
                    merged.user_history.max_rejected_in_last_30_days,
                ),
                _second_approval_line(merged.second_approval_above),
            ]
        # Names in the rules are data people typed: the whole text is escaped once.
        blocks.append(text(escape("\n".join(lines))))
    blocks.append(context("Change one: `/rules set <department> <field> <value> [reason]`."))
    return blocks


def _second_approval_line(above: Decimal) -> str:
    return f"• a second approval (head or finance) above {above}"


def _history_line(min_purchases: int, max_rejected: int) -> str:
    return (
        f"• history: at least {min_purchases} purchases, at most {max_rejected} rejected by "
        "a person in 30 days"
    )


def history_blocks(versions: list[RulesVersionSummary]) -> list[Block]:
    blocks: list[Block] = [text(f"*Review rules: the last {SHOWN_HISTORY} versions*")]
    for version in versions[:SHOWN_HISTORY]:
        blocks.append(context(_summary_line(version) + "\n" + diff_text(version.diff)))
    if len(versions) > SHOWN_HISTORY:
        blocks.append(context(f"…and {len(versions) - SHOWN_HISTORY} older versions."))
    return blocks


def diff_blocks(old: RulesVersion, new: RulesVersion, changes: list[RuleChange]) -> list[Block]:
    return [
        text(f"*From {old.label} to {new.label}*"),
        text(diff_text(changes) or "No differences."),
    ]


def _summary_line(version: RulesVersionSummary) -> str:
    why = f" · {escape(version.reason)}" if version.reason else ""
    return f"*{version.label}* · {version.at:%Y-%m-%d %H:%M} UTC · {mention(version.author)}{why}"


def diff_text(changes: list[RuleChange]) -> str:
    return "\n".join(f"• `{escape(str(change))}`" for change in changes)


def change_announcement(summary: RulesVersionSummary) -> str:
    """The ops channel's line for a rules change, the same from Slack and from the API."""
    why = f" — {escape(summary.reason)}" if summary.reason else ""
    return (
        f":scroll: Review rules are now *{summary.label}*, by {mention(summary.author)}{why}. "
        "Every worker reviews with them from the next request.\n" + diff_text(summary.diff)
    )
