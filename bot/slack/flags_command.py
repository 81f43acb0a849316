"""What `/flags <text>` asks for, and the Block Kit that shows the flags. Pure: the listener
fills in the actor, calls FlagsAdmin and responds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.slack.blocks import Block, context, text
from bot.slack.command_parsing import Unparseable
from domain import flag_registry
from domain.actors import mention
from domain.feature_flags import (
    FlagScope,
    FlagsEntityState,
    FlagSettings,
    SetFlagInput,
    check_user_id,
    parse_flag_name,
    render_rollout,
)
from domain.flag_registry import Flag
from domain.mrkdwn import escape, unescape_slack

V = TypeVar("V")


def flags_usage() -> str:
    registered = flag_registry.FLAGS
    values = "|".join(dict.fromkeys(word for flag in registered for word in flag.values.shown))
    rollout_values = " / ".join(dict.fromkeys(flag.show(flag.rollout_value) for flag in registered))
    flags = "\n".join(
        f"• `{flag.name}` ({'/'.join(flag.values.shown)}, default {flag.show(flag.default)}): "
        f"{flag.description}"
        for flag in registered
    )
    return (
        "*How to use /flags*\n"
        "• `/flags` — show every flag and the last changes\n"
        f"• `/flags <flag> {values}` — set the global value\n"
        "• `/flags <flag> <value> user @someone` or `… department IT` — for one person or "
        "department\n"
        f"• `/flags <flag> rollout <percent> [value]` — for that share of people (value: "
        f"{rollout_values})\n"
        "• `/flags <flag> clear user @someone|department IT|global|rollout` — remove a value\n"
        "The most specific value wins: user, then department, then global, then rollout.\n"
        f"*Flags*\n{flags}"
    )


@dataclass(frozen=True)
class ShowFlags:
    pass


@dataclass(frozen=True)
class SetFlag:
    """`change.actor` is empty: the listener sets it to the Slack user id of whoever typed."""

    change: SetFlagInput


FlagsCommand = ShowFlags | SetFlag | Unparseable

# Slack sends mentions as <@U123> or <@U123|name>; the name may contain spaces, so a mention is
# one token whatever is inside the brackets.
_TOKEN = re.compile(r"<[^>]*>|\S+")
_MENTION = re.compile(r"^<@([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_HELP = {"help", "-h", "--help", "?"}
_SHOW = {"show", "list"}
MAX_LISTED = 20
RECENT_CHANGES = 5


def parse_flags_command(command_text: str) -> FlagsCommand:
    words = _TOKEN.findall(command_text)
    if not words or (len(words) == 1 and words[0].lower() in _SHOW):
        return ShowFlags()
    if words[0].lower() in _HELP:
        return Unparseable("Here is how `/flags` works.")
    try:
        flag = parse_flag_name(words[0])
    except ValueError as err:
        return Unparseable(str(err))
    if len(words) == 1:
        return Unparseable(
            f"Say what to do with `{flag}`: a value, `rollout <percent>` or `clear …`."
        )
    verb, rest = words[1].lower(), words[2:]
    if verb == "clear":
        return _clear(flag, rest)
    if verb == "rollout":
        return _rollout(flag, rest)
    try:
        value = flag.show(flag.parse(verb))
    except ValueError as err:
        return Unparseable(str(err))
    target = _target(rest or ["global"])
    if isinstance(target, Unparseable):
        return target
    scope, key = target
    if scope is FlagScope.ROLLOUT:
        return Unparseable(f"For a rollout say `/flags {flag} rollout <percent> [value]`.")
    return SetFlag(SetFlagInput(flag=flag.name, scope=scope.value, key=key, value=value))


def _clear(flag: Flag[Any], rest: list[str]) -> FlagsCommand:
    if not rest:
        return Unparseable(
            "Say what to clear: `user @someone`, `department <name>`, `global` or `rollout`."
        )
    target = _target(rest)
    if isinstance(target, Unparseable):
        return target
    scope, key = target
    return SetFlag(SetFlagInput(flag=flag.name, scope=scope.value, key=key, value=None))


def _rollout(flag: Flag[Any], rest: list[str]) -> FlagsCommand:
    if not rest or len(rest) > 2:
        return Unparseable(f"Say `/flags {flag} rollout <percent> [value]`, e.g. `rollout 30`.")
    written = rest[0].removesuffix("%")
    if not written.isdecimal() or not 0 <= int(written) <= 100:
        return Unparseable(f"A rollout percent is a whole number from 0 to 100, not `{rest[0]}`.")
    value = flag.show(flag.rollout_value)
    if len(rest) == 2:
        try:
            value = flag.show(flag.parse(rest[1]))
        except ValueError as err:
            return Unparseable(str(err))
    return SetFlag(
        SetFlagInput(
            flag=flag.name, scope=FlagScope.ROLLOUT.value, value=value, percent=int(written)
        )
    )


def _target(words: list[str]) -> tuple[FlagScope, str] | Unparseable:
    head = words[0].lower()
    if _MENTION.match(words[0]) and len(words) == 1:
        return _user(words[0])
    if head in {"global", "rollout"}:
        if len(words) > 1:
            return Unparseable(f"`{head}` takes nothing after it.")
        return FlagScope(head), ""
    if head == "user":
        if len(words) != 2:
            return Unparseable("Say which user: `user @someone`.")
        return _user(words[1])
    if head == "department":
        name = unescape_slack(" ".join(words[1:])).strip()
        if not name:
            return Unparseable("Say which department: `department IT`.")
        return FlagScope.DEPARTMENT, name
    return Unparseable(
        f"`{words[0][:40]}` is not a target; say `user @someone`, `department <name>` or `global`."
    )


def _user(word: str) -> tuple[FlagScope, str] | Unparseable:
    match = _MENTION.match(word)
    if word.startswith("@"):
        return Unparseable(
            f"`{word[:40]}` is not a Slack mention; pick the person from the @ list so Slack "
            "sends their user id."
        )
    try:
        return FlagScope.USER, check_user_id(match.group(1) if match else word)
    except ValueError as err:
        return Unparseable(str(err))


# --- showing the flags ------------------------------------------------------------------------


def flags_blocks(state: FlagsEntityState) -> list[Block]:
    blocks: list[Block] = [text("*Feature flags*")]
    for flag in flag_registry.FLAGS:
        blocks += _flag_blocks(flag, state.flags.settings(flag))
    blocks.append(text(f"*Last {RECENT_CHANGES} changes*"))
    recent = list(reversed(state.changes[-RECENT_CHANGES:]))
    if not recent:
        blocks.append(context("No changes yet."))
    for change in recent:
        blocks.append(
            context(
                f"{change.at:%Y-%m-%d %H:%M} UTC · {mention(change.actor)} · "
                f"{escape(change.action)} · {escape(change.detail)}"
            )
        )
    return blocks


def _flag_blocks(flag: Flag[V], settings: FlagSettings[V]) -> list[Block]:
    lines = [f"*{flag}* (default {flag.show(flag.default)})"]
    lines.append(f"• Global: {flag.show(settings.global_value)}")
    if settings.rollout is None:
        lines.append(f"• Rollout: {flag.show(None)}")
    else:
        note = (
            " _(no effect while a global value is set)_"
            if settings.global_value is not None
            else ""
        )
        lines.append(f"• Rollout: {render_rollout(flag, settings.rollout)}{note}")
    departments = [f"{escape(k)} {flag.show(v)}" for k, v in settings.departments.items()]
    users = [f"{mention(k)} {flag.show(v)}" for k, v in settings.users.items()]
    lines.append(f"• Departments: {_listing(departments)}")
    lines.append(f"• Users: {_listing(users)}")
    return [text("\n".join(lines))]


def _listing(items: list[str]) -> str:
    # A section's text is limited to 3000 characters; a long list is cut, not refused by Slack.
    if not items:
        return "—"
    shown = ", ".join(sorted(items)[:MAX_LISTED])
    extra = len(items) - MAX_LISTED
    return shown + (f" and {extra} more" if extra > 0 else "")
