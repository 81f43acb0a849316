"""`POST /api/review/preview`: what the automated review would decide now, and why, for a request
another system is about to make. Nothing is filed."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from bot.api.framework import ApiCall, ApiError, Endpoint
from bot.api.tokens import Role
from bot.review_preview import PreviewResult
from bot.slack.deps import BotDeps
from domain.intake import IntakeError


class PreviewRequest(BaseModel):
    employee: str | None = Field(default=None, description="employee id (directory.yaml)")
    slack_user: str | None = Field(default=None, description="or the Slack user id")
    url: str = Field(max_length=2000, description="the Amazon product link")
    amount: str = Field(max_length=40, description="the total, e.g. `39.90` or `39.90 EUR`")
    quantity: int = Field(default=1, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_requester(self) -> PreviewRequest:
        if (self.employee is None) == (self.slack_user is None):
            raise ValueError("give exactly one of `employee` and `slack_user`")
        return self


def review_endpoints(deps: BotDeps) -> list[Endpoint]:
    async def preview(call: ApiCall) -> PreviewResult:
        body = call.body_as(PreviewRequest)
        directory = deps.directory.get().value
        requester = body.slack_user
        if body.employee is not None:
            person = next((p for p in directory.people if p.employee_id == body.employee), None)
            if person is None:
                raise ApiError(
                    400, f"No employee `{body.employee}` in the directory.", field="employee"
                )
            requester = person.slack_id
        assert requester is not None
        try:
            return await deps.preview.preview(
                requester=requester, url=body.url, amount=body.amount, quantity=body.quantity
            )
        except IntakeError as err:
            raise ApiError(400, err.message) from err

    return [
        Endpoint(
            "POST",
            "/api/review/preview",
            "What the automated review would decide now, and why (nothing is filed)",
            frozenset(Role),
            PreviewResult,
            preview,
            body=PreviewRequest,
        )
    ]
