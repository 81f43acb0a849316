"""`/rules`: the ops listener's handler (gated to ops and audited by bot/slack/listeners/ops.py).
A change is announced in the ops channel, as the same change made through the API is."""

from __future__ import annotations

from bot.rules_admin import RulesUnreadable
from bot.slack import blocks
from bot.slack.command_parsing import Unparseable
from bot.slack.deps import BotDeps
from bot.slack.rules_command import (
    RULES_USAGE,
    DiffVersions,
    RevertRules,
    SetRule,
    ShadowWords,
    ShowHistory,
    ShowRules,
    change_announcement,
    diff_blocks,
    history_blocks,
    parse_rules_command,
    rules_blocks,
)
from bot.slack.rules_shadow_command import in_shadow_blocks
from bot.slack.rules_shadow_handler import shadow
from domain.refusal import Refused
from domain.rules_versions import RulesChangeResult, diff_rules


async def rules(deps: BotDeps, user: str, text: str) -> list[blocks.Block]:
    parsed = parse_rules_command(text)
    if isinstance(parsed, ShowRules):
        shown = rules_blocks(await deps.rules.current(), people_departments(deps))
        try:
            return shown + in_shadow_blocks(await deps.rules.shadow())
        except RulesUnreadable:
            return shown  # the rules themselves were read: show them
    if isinstance(parsed, ShowHistory):
        return history_blocks((await deps.rules.history()).versions)
    if isinstance(parsed, DiffVersions):
        old, new = await deps.rules.version(parsed.old), await deps.rules.version(parsed.new)
        return diff_blocks(old, new, diff_rules(old.rules, new.rules))
    if isinstance(parsed, SetRule):
        # Never applied from here: the ops listener shows it with its backtest in a modal
        # first (listeners/rules_modal.py), and only Apply there makes the change.
        raise Refused("`/rules set` is confirmed in a modal; send it again.")
    if isinstance(parsed, RevertRules):
        result = await deps.rules.revert(parsed.version, author=user, reason=parsed.reason)
        return await announced(deps, result)
    if isinstance(parsed, ShadowWords):
        return await shadow(deps, user, list(parsed.words), people_departments(deps))
    assert isinstance(parsed, Unparseable)
    return [blocks.text(f"{blocks.warning(parsed.problem)}\n\n{RULES_USAGE}")]


def people_departments(deps: BotDeps) -> list[str]:
    return sorted({person.department for person in deps.directory.get().value.people})


async def announced(deps: BotDeps, result: RulesChangeResult) -> list[blocks.Block]:
    await deps.announcer.announce(change_announcement(result.version))
    return [blocks.text(changed_text(result))]


def changed_text(result: RulesChangeResult) -> str:
    label = result.version.label
    return f":white_check_mark: The review rules are now *{label}*; the ops channel has been told."
