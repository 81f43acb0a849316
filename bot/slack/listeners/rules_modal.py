"""`/rules set` asks first: a modal shows the change and its backtest over the last 30 days;
Apply makes the change (audited, announced as any rules change), Cancel changes nothing (audited
too). The ops listener (listeners/ops.py) opens the modal; this group answers it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.service import RPCError

from bot.rules_admin import RulesUnreadable
from bot.slack import blocks
from bot.slack.deps import BotDeps
from bot.slack.payloads import read_submission
from bot.slack.rules_command import SetRule, change_announcement
from bot.slack.rules_confirmation import RULES_CONFIRM_MODAL, PendingChange, confirmation_modal
from bot.slack.rules_handler import changed_text, people_departments
from domain.refusal import Refused
from domain.rules_versions import RulesChangeResult, RulesInvalid

log = logging.getLogger(__name__)

SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


async def open_confirmation(
    deps: BotDeps, client: AsyncWebClient, trigger_id: str, command: SetRule
) -> None:
    """Raises RulesInvalid / RulesUnreadable / Refused before anything is shown: an invalid
    change is refused in the channel as before, with no modal."""
    proposal = await deps.rules.propose_field(
        command.department,
        command.field,
        command.value,
        people_departments=people_departments(deps),
    )
    if not proposal.diff:
        raise Refused("That is already the rule; nothing to change.")
    change = PendingChange.of(command, proposal.department, proposal.current.number)
    # Opened at once (a trigger id lasts 3 s), filled in when the backtest answers.
    try:
        opened = await client.views_open(
            trigger_id=trigger_id, view=confirmation_modal(change, proposal.diff)
        )
    except SlackApiError as err:
        log.warning("rules confirmation not opened: %s", err.response.get("error"))
        raise Refused(
            "Slack did not let the bot open the confirmation (it answered too late); nothing "
            "was changed. Send the command again."
        ) from err
    view_id = str(opened["view"]["id"])
    try:
        figures = await deps.backtest.run(
            proposal.current.rules,
            proposal.proposed,
            departments=[*people_departments(deps), *proposal.current.rules.departments],
        )
        view = confirmation_modal(change, proposal.diff, figures=figures)
    except RPCError as err:
        log.warning("rules backtest failed: %s", err.message)
        view = confirmation_modal(
            change, proposal.diff, problem=f"Temporal did not answer ({err.message})"
        )
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as err:
        # Most likely closed meanwhile (cancelled): nothing to show it in, nothing to do.
        log.info("rules confirmation %s not updated: %s", view_id, err.response.get("error"))


def _result_view(message: str) -> blocks.Block:
    return {
        "type": "modal",
        "callback_id": RULES_CONFIRM_MODAL,
        "title": {"type": "plain_text", "text": "Change review rules"},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [blocks.text(message)],
    }


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.view(RULES_CONFIRM_MODAL)
    async def applied(ack: AsyncAck, body: dict[str, Any]) -> None:
        submission = read_submission(body)
        change = PendingChange.read(submission.private_metadata) if submission else None
        if submission is None or change is None:
            await ack(response_action="update", view=_result_view(blocks.warning(UNREADABLE)))
            return
        user = submission.user
        if not deps.directory.get().value.is_ops(user):
            await deps.ops_audit.record(user, "ops_command_refused", change.command)
            await ack(response_action="update", view=_result_view(NOT_OPS))
            return
        try:
            result = await deps.rules.set_field(
                change.department,
                change.field,
                change.value,
                author=user,
                reason=change.reason,
                people_departments=people_departments(deps),
                based_on=change.based_on,
            )
        except (Refused, RulesInvalid, RulesUnreadable) as refused:
            await ack(response_action="update", view=_result_view(blocks.warning(refused)))
            deps.after_ack.schedule(
                deps.ops_audit.record(user, "ops_command_refused_by_system", change.command),
                "rules change refused",
            )
            return
        await ack(response_action="update", view=_result_view(changed_text(result)))
        deps.after_ack.schedule(_after_change(user, change, result), "rules change announced")

    async def _after_change(user: str, change: PendingChange, result: RulesChangeResult) -> None:
        await deps.ops_audit.record(user, "rules_change_confirmed", change.command)
        await deps.announcer.announce(change_announcement(result.version))

    @app.view_closed(RULES_CONFIRM_MODAL)
    async def cancelled(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        change = PendingChange.read(str((body.get("view") or {}).get("private_metadata") or ""))
        if change is not None:  # the result view after Apply carries none: nothing cancelled
            deps.after_ack.schedule(
                deps.ops_audit.record(user, "rules_change_cancelled", change.command),
                "rules change cancelled",
            )


UNREADABLE = "This confirmation could not be read; nothing was changed. Run `/rules set` again."
NOT_OPS = ":no_entry: Changing the rules is for the ops team only. This attempt was recorded."
