"""A person's latest requests, with the live stage of those still open: what `/purchase status`
answers and the App Home shows."""

from __future__ import annotations

from bot.slack import blocks
from bot.slack.deps import BotDeps
from domain.refusal import Refused
from domain.workflow_ids import purchases_query, request_id_of
from workflows.names import PURCHASE_OUTCOME

LATEST = 10
NOT_IN_DIRECTORY = "You are not in the company directory; ask ops to add you."
NO_REQUESTS = "You have no purchase requests yet. `/purchase help` shows how."


async def latest_request_lines(user: str, deps: BotDeps) -> list[str]:
    """Raises Refused when `user` is not in the directory."""
    person = deps.directory.get().value.person(user)
    if person is None:
        raise Refused(NOT_IN_DIRECTORY)
    # Newest first is visibility's default order.
    query = purchases_query(f"EmployeeId = '{person.employee_id}'")
    lines = []
    async for wf in deps.temporal.list_workflows(query, limit=LATEST):
        request_id = request_id_of(wf.id)
        outcome = wf.typed_search_attributes.get(PURCHASE_OUTCOME)
        follow_up = ""
        if outcome is None:
            # Still open: its stage, live from the workflow itself.
            try:
                status = await deps.service.status(request_id)
                outcome = status.stage.value
                follow_up = blocks.last_follow_up(status.journey)  # e.g. "reminded <date>"
            except Refused:
                outcome = "in progress"
        # Stored names read as words: `rejected_by_system` -> "rejected by system".
        shown = outcome.replace("_", " ") + (f", {follow_up}" if follow_up else "")
        lines.append(f"• `{request_id}` — {shown} (filed {blocks.when(wf.start_time)})")
    return lines


def latest_requests_block(lines: list[str]) -> blocks.Block:
    if not lines:
        return blocks.text(NO_REQUESTS)
    return blocks.text("*Your latest requests*\n" + "\n".join(lines))
