"""Ops commands: /rollout, /rollback, /flags, /rules. Only `ops_users` may use them; every attempt,
allowed or refused, is recorded in the ops audit trail."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.flags_admin import FlagsUnreadable
from bot.history_health import probe_history
from bot.rules_admin import RulesUnreadable
from bot.slack import blocks
from bot.slack.command_parsing import Unparseable
from bot.slack.deps import BotDeps
from bot.slack.flags_command import (
    SetFlag,
    ShowFlags,
    flags_blocks,
    flags_usage,
    parse_flags_command,
)
from bot.slack.listeners.rules_modal import open_confirmation
from bot.slack.ops_history import ops_history_blocks
from bot.slack.rollout_blocks import history_health_block, rollout_status_blocks
from bot.slack.rollout_command import (
    ROLLOUT_USAGE,
    PlanControl,
    Promote,
    Ramp,
    ShowHistory,
    ShowRollout,
    StartPlan,
    TargetDepartment,
    parse_rollback_command,
    parse_rollout_command,
)
from bot.slack.rules_command import SetRule, parse_rules_command
from bot.slack.rules_handler import rules
from domain.refusal import Refused
from domain.rules_versions import RulesInvalid

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: BotDeps) -> None:
    async def run(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        deps.after_ack.schedule(_handle(command, respond, client), str(command.get("command")))

    async def _handle(
        command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user, name = str(command.get("user_id") or ""), str(command.get("command") or "")
        text = str(command.get("text") or "")
        detail = f"{name} {text}".strip()
        if not deps.directory.get().value.is_ops(user):
            await deps.ops_audit.record(user, "ops_command_refused", detail)
            await respond(
                response_type="ephemeral",
                text=f":no_entry: `{name}` is for the ops team only. This attempt was recorded.",
            )
            return
        answer: list[blocks.Block] | None = None
        try:
            change = rules_change_to_confirm(name, text)
            if change is not None:  # answered in a modal, not in the channel
                await open_confirmation(deps, client, str(command.get("trigger_id")), change)
            else:
                answer = await HANDLERS[name](deps, user, text)
            outcome = "ops_command"
        except (Refused, FlagsUnreadable, RulesUnreadable, RulesInvalid) as refused:
            answer, outcome = (
                [blocks.text(blocks.warning(refused))],
                "ops_command_refused_by_system",
            )
        except Exception:
            log.exception("%s failed for %s", name, user)
            answer, outcome = [blocks.text(blocks.SOMETHING_WENT_WRONG)], "ops_command_failed"
        await deps.ops_audit.record(user, outcome, detail)
        if answer is not None:
            await respond(response_type="ephemeral", blocks=answer, text=detail)

    for name in SLASH_COMMANDS:
        app.command(name)(run)


async def rollout(deps: BotDeps, user: str, text: str) -> list[blocks.Block]:
    parsed = parse_rollout_command(text)
    admin = deps.rollout
    if isinstance(parsed, ShowRollout):
        shown = rollout_status_blocks(
            await admin.status(), flags_problem=await deps.flags.unreadable_reason()
        )
        if deps.history is not None:
            shown.append(history_health_block(await probe_history(deps.temporal, deps.history)))
        return shown
    if isinstance(parsed, ShowHistory):
        return ops_history_blocks(await deps.ops_audit.entries(), parsed.page)
    if isinstance(parsed, Unparseable):
        return [blocks.text(f":warning: {parsed.problem}\n\n{ROLLOUT_USAGE}")]
    if isinstance(parsed, Ramp):
        result = await admin.ramp(parsed.build_id, parsed.percent, user, override=parsed.override)
    elif isinstance(parsed, Promote):
        result = await admin.promote(parsed.build_id, user, override=parsed.override)
    elif isinstance(parsed, StartPlan):
        result = await admin.plan(
            parsed.build_id, parsed.steps, parsed.interval_seconds, user, override=parsed.override
        )
    elif isinstance(parsed, TargetDepartment):
        result = await admin.target_department(
            parsed.build_id, parsed.department, user, override=parsed.override
        )
    else:
        assert isinstance(parsed, PlanControl)
        result = await admin.plan_control(parsed.action, user)
    return [blocks.text(result.message)]


async def rollback(deps: BotDeps, user: str, text: str) -> list[blocks.Block]:
    parsed = parse_rollback_command(text)
    if isinstance(parsed, Unparseable):
        return [blocks.text(f":warning: {parsed.problem}\n\n{ROLLOUT_USAGE}")]
    result = await deps.rollout.rollback(
        user, parsed.reason, to_build=parsed.to_build, override=parsed.override
    )
    return [
        blocks.text(
            f"Rolled back: new requests now run on `{result.to_build}` instead of "
            f"`{result.from_build}`. {result.pinned_workflows} auto-upgrade requests were pinned "
            f"to `{result.from_build}` to finish there. The ops channel has been told."
        )
    ]


async def flags(deps: BotDeps, user: str, text: str) -> list[blocks.Block]:
    parsed = parse_flags_command(text)
    if isinstance(parsed, ShowFlags):
        return flags_blocks(await deps.flags.snapshot())
    if isinstance(parsed, SetFlag):
        result = await deps.flags.set(parsed.change.model_copy(update={"actor": user}))
        return [blocks.text(f":white_check_mark: {result.change.detail}")]
    return [blocks.text(f":warning: {parsed.problem}\n\n{flags_usage()}")]


def rules_change_to_confirm(name: str, text: str) -> SetRule | None:
    """`/rules set …`: shown with its backtest in a modal, applied only when confirmed."""
    parsed = parse_rules_command(text) if name == "/rules" else None
    return parsed if isinstance(parsed, SetRule) else None


# An ops command is one entry here (and its line in manifest.yaml): it is registered, gated to
# ops users, audited and offered by the local workspace from this table.
HANDLERS = {"/rollout": rollout, "/rollback": rollback, "/flags": flags, "/rules": rules}
SLASH_COMMANDS: tuple[str, ...] = tuple(HANDLERS)
