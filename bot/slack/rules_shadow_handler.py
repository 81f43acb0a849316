"""`/rules shadow …` (gated to ops and audited with every /rules command by
bot/slack/listeners/ops.py). Starting, stopping and promoting are announced in the ops channel,
as the same change made through the API (bot/api/rules_shadow.py) is."""

from __future__ import annotations

from bot.insight.shadow import ShadowSource
from bot.slack import blocks
from bot.slack.command_parsing import Unparseable
from bot.slack.deps import BotDeps
from bot.slack.rules_command import change_announcement, diff_text
from bot.slack.rules_shadow_command import (
    SHADOW_USAGE,
    ShadowPromote,
    ShadowSet,
    ShadowStart,
    ShadowStatus,
    ShadowStop,
    ShowShadow,
    parse_shadow_command,
    promoted_line,
    shadow_blocks,
    started_announcement,
    status_blocks,
    stopped_announcement,
)
from domain.rules_shadow import ShadowChangeResult


async def shadow(
    deps: BotDeps, user: str, words: list[str], departments: list[str]
) -> list[blocks.Block]:
    parsed = parse_shadow_command(words)
    if isinstance(parsed, ShowShadow):
        return shadow_blocks(await deps.rules.shadow())
    if isinstance(parsed, ShadowStatus):
        view = await deps.rules.shadow()
        if view.candidate is None:
            return shadow_blocks(view)
        return status_blocks(view, await ShadowSource(deps.temporal).figures(view.candidate))
    if isinstance(parsed, ShadowSet):
        result = await deps.rules.set_shadow_field(
            parsed.department,
            parsed.field,
            parsed.value,
            author=user,
            reason=parsed.reason,
            people_departments=departments,
        )
        return _answer(await announce_started(deps, result))
    if isinstance(parsed, ShadowStart):
        result = await deps.rules.shadow_version(parsed.version, author=user, reason=parsed.reason)
        return _answer(await announce_started(deps, result))
    if isinstance(parsed, ShadowStop):
        result = await deps.rules.stop_shadow(author=user, reason=parsed.reason)
        return _answer(await announce_stopped(deps, result, user, parsed.reason))
    if isinstance(parsed, ShadowPromote):
        result = await deps.rules.promote_shadow(
            author=user, reason=parsed.reason, candidate=parsed.candidate
        )
        return _answer(await announce_promoted(deps, result))
    assert isinstance(parsed, Unparseable)
    return [
        blocks.text(
            f"{blocks.warning(parsed.problem)}\n\n*How to use /rules shadow*\n{SHADOW_USAGE}"
        )
    ]


def _answer(done: str) -> list[blocks.Block]:
    return [blocks.text(f":white_check_mark: {done} The ops channel has been told.")]


async def announce_started(deps: BotDeps, result: ShadowChangeResult) -> str:
    candidate = result.candidate
    assert candidate is not None
    view = await deps.rules.shadow()  # the diff from the rules in force, as people see it
    same = view.candidate is not None and view.candidate.number == candidate.number
    diff = diff_text(view.diff) if same else "(changed again since: see `/rules shadow`)"
    await deps.announcer.announce(started_announcement(candidate, view.active, diff))
    return (
        f"*{candidate.label}* is in shadow: every review also evaluates it, and it decides nothing."
    )


async def announce_stopped(
    deps: BotDeps, result: ShadowChangeResult, author: str, reason: str
) -> str:
    stopped = result.stopped
    assert stopped is not None
    await deps.announcer.announce(stopped_announcement(stopped, author, reason))
    return f"The shadow review of *{stopped.label}* is stopped."


async def announce_promoted(deps: BotDeps, result: ShadowChangeResult) -> str:
    stopped, version = result.stopped, result.promoted
    assert stopped is not None and version is not None
    line = promoted_line(stopped, version)
    await deps.announcer.announce(f"{line}\n{change_announcement(version)}")
    return f"{line} Every worker reviews with it from the next request."
