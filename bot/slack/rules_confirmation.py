"""The modal `/rules set` opens before changing anything: the change, and what it would have done
to the last 30 days' requests (the backtest). Pure Block Kit and its private metadata; the
listener (bot/slack/listeners/rules_modal.py) opens it, fills it in and applies on submit."""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, ValidationError

from bot.slack.blocks import Block, context, text, warning
from bot.slack.rules_command import SetRule
from domain.backtest import BacktestFigures
from domain.mrkdwn import escape
from domain.rules_versions import RuleChange

RULES_CONFIRM_MODAL = "rules_change_confirm"
# Slack refuses private_metadata over 3000 characters; a reason is kept to this much of it.
MAX_REASON_CHARS = 500


class PendingChange(BaseModel):
    """What the modal carries from `/rules set` to its submission."""

    department: str
    field: str
    value: str
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)
    based_on: int = Field(ge=1, description="the version the backtest compared against")

    @classmethod
    def of(cls, command: SetRule, department: str, based_on: int) -> PendingChange:
        return cls(
            department=department,
            field=command.field,
            value=command.value,
            reason=command.reason[:MAX_REASON_CHARS],
            based_on=based_on,
        )

    def metadata(self) -> str:
        return self.model_dump_json()

    @classmethod
    def read(cls, metadata: str) -> PendingChange | None:
        try:
            return cls.model_validate(json.loads(metadata))
        except (ValueError, ValidationError):
            return None

    @property
    def command(self) -> str:
        """As typed, for the audit trail."""
        return f"/rules set {self.department} {self.field} {self.value} {self.reason}".strip()


def confirmation_modal(
    change: PendingChange,
    diff: list[RuleChange],
    *,
    figures: BacktestFigures | None = None,
    problem: str = "",
) -> Block:
    """While neither `figures` nor `problem` is known the modal says it is computing and offers
    no Apply button: nothing can be applied before its effect was shown (or could not be)."""
    lines = "\n".join(f"• `{escape(str(c))}`" for c in diff) or "• no difference"
    why = f"\n_Reason:_ {escape(change.reason)}" if change.reason else ""
    blocks: list[Block] = [
        text(f"*Change the review rules* (now v{change.based_on}):\n{lines}{why}"),
    ]
    if figures is not None:
        blocks += backtest_blocks(figures)
    elif problem:
        blocks.append(text(warning(f"The backtest could not be run: {problem}")))
        blocks.append(context("Apply only if you know what the change will do."))
    else:
        blocks.append(context(":hourglass_flowing_sand: Backtesting the last 30 days…"))
    view: Block = {
        "type": "modal",
        "callback_id": RULES_CONFIRM_MODAL,
        "private_metadata": change.metadata(),
        "notify_on_close": True,  # a cancel is audited too
        "title": {"type": "plain_text", "text": "Change review rules"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
    if figures is not None or problem:
        view["submit"] = {"type": "plain_text", "text": "Apply"}
    return view


def backtest_blocks(figures: BacktestFigures) -> list[Block]:
    f = figures
    period = f"{f.since:%Y-%m-%d} to {f.until:%Y-%m-%d}"
    if f.departments is not None:  # only those the change affects: the others cannot change
        period = f"{escape(', '.join(f.departments)) or 'no department'}; {period}"
    rejected = (
        f"Of the {f.more} newly auto-approved, *{f.more_rejected_by_manager} had been rejected "
        "by a manager*"
        + (f" (e.g. {', '.join(f.rejected_examples)})" if f.rejected_examples else "")
        + "."
    )
    return [
        text(
            f"*On the requests of the last 30 days* ({period}), these rules would have "
            f"auto-approved *{f.more} more* and *{f.fewer} fewer* than actually were: "
            f"{f.would_auto_approve} instead of {f.actual_auto_approved} of the "
            f"{f.compared} requests compared.\n{rejected}"
        ),
        context(
            f"{f.filed} requests filed in the period. Left out: {f.without_inputs} filed before "
            "amount, category and store were recorded at filing; "
            f"{f.not_reproduced} that today's rules would not have decided as happened (rules "
            "changed meanwhile, review off, strictness); "
            f"{f.not_reviewed} never reviewed or still open. The history criterion uses each "
            "requester's history at filing time."
        ),
    ]
