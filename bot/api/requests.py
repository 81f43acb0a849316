"""`POST /api/requests/{request_id}/reassign`: ops hand a waiting request to another approver,
as `/purchase reassign` does in Slack (audited in the ops audit trail by the framework, and on
the request by the workflow)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.api.framework import ApiCall, ApiError, Endpoint, refused_as
from bot.api.tokens import Role
from bot.slack.deps import BotDeps
from domain.models import ReassignResult
from domain.request_ids import parse_request_id


class ReassignBody(BaseModel):
    to: str = Field(pattern=r"^[UW][A-Z0-9]+$", description="Slack user id of the new approver")
    reason: str = Field(default="", max_length=500, description="why, for the people told")


def request_endpoints(deps: BotDeps) -> list[Endpoint]:
    async def reassign(call: ApiCall) -> ReassignResult:
        body = call.body_as(ReassignBody)
        request_id = parse_request_id(call.path["request_id"])
        if request_id is None:
            raise ApiError(
                404,
                "That is not a request id; they look like PR-K5QW2XH7RTB3M.",
                field="request_id",
            )
        with refused_as(409, field="request_id"):
            return await deps.service.reassign(
                request_id, to=body.to, by=call.caller.actor, reason=body.reason
            )

    return [
        Endpoint(
            "POST",
            "/api/requests/{request_id}/reassign",
            "Hand a request waiting for approval to another approver",
            frozenset({Role.OPS}),
            ReassignResult,
            reassign,
            body=ReassignBody,
            changes=True,
            description=(
                "The new approver gets the approval message with buttons; the previous one's "
                "message loses its buttons and says where the request went; the requester is "
                "told. 404 when there is no request with that id (or it is not a request id); "
                "409 when the request is not waiting (already decided, cancelled or finished), "
                "the new approver filed it, or is not in the directory."
            ),
            errors=(400, 404, 409),
        )
    ]
