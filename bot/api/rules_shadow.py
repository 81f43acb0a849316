"""Shadow review through the API: the same candidate, the same refusals and the same ops-channel
announcements as `/rules shadow` in Slack (bot/slack/rules_shadow_handler.py)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from bot.api.framework import ApiCall, ApiError, Endpoint, refused_as
from bot.api.tokens import Role
from bot.insight.shadow import ShadowFigures, ShadowSource
from bot.rules_admin import RulesUnreadable
from bot.slack.deps import BotDeps
from bot.slack.rules_shadow_handler import announce_promoted, announce_started, announce_stopped
from domain.review_rules import RulesFile
from domain.rules_shadow import ShadowChangeResult, ShadowView
from domain.rules_versions import RulesVersionSummary, ShadowCandidate

READERS = frozenset(Role)
CHANGERS = frozenset({Role.OPS})


class ShadowBody(BaseModel):
    version: int | None = Field(default=None, ge=1, description="an earlier version's rules")
    rules: RulesFile | None = Field(default=None, description="or whole rules, as GET /api/rules")
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _one(self) -> ShadowBody:
        if (self.version is None) == (self.rules is None):
            raise ValueError("give either `version` or `rules`")
        return self


class StopQuery(BaseModel):
    reason: str = Field(default="", max_length=500)


class PromoteQuery(BaseModel):
    candidate: int | None = Field(
        default=None, ge=1, description="the candidate meant (n of c<n>): refused if another"
    )
    reason: str = Field(default="", max_length=500)


class ShadowAnswer(BaseModel):
    status: Literal["success"] = "success"
    message: str
    candidate: ShadowCandidate | None = Field(description="in shadow now")
    version: RulesVersionSummary | None = Field(default=None, description="promoted as")


def shadow_endpoints(deps: BotDeps) -> list[Endpoint]:
    """Declared before `/api/rules/{department}`, which `/api/rules/shadow` would match."""

    async def view() -> ShadowView:
        try:
            return await deps.rules.shadow()
        except RulesUnreadable as err:
            raise ApiError(503, str(err)) from err

    async def changed(making: Awaitable[ShadowChangeResult]) -> ShadowChangeResult:
        with refused_as(409):  # 404: no such version, nothing in shadow
            return await making

    async def get_shadow(_: ApiCall) -> ShadowView:
        return await view()

    async def get_status(_: ApiCall) -> ShadowFigures:
        candidate = (await view()).candidate
        if candidate is None:
            raise ApiError(404, "No rules are in shadow; PUT /api/rules/shadow starts it.")
        return await ShadowSource(deps.temporal).figures(candidate)

    async def put_shadow(call: ApiCall) -> ShadowAnswer:
        body, actor = call.body_as(ShadowBody), call.caller.actor
        if body.version is not None:
            making = deps.rules.shadow_version(body.version, author=actor, reason=body.reason)
        else:
            assert body.rules is not None
            making = deps.rules.set_shadow(
                body.rules, author=actor, reason=body.reason, source="rules given to the API"
            )
        result = await changed(making)
        return ShadowAnswer(
            message=await announce_started(deps, result), candidate=result.candidate
        )

    async def stop(call: ApiCall) -> ShadowAnswer:
        reason = call.query_as(StopQuery).reason
        result = await changed(deps.rules.stop_shadow(author=call.caller.actor, reason=reason))
        done = await announce_stopped(deps, result, call.caller.actor, reason)
        return ShadowAnswer(message=done, candidate=None)

    async def promote(call: ApiCall) -> ShadowAnswer:
        body = call.query_as(PromoteQuery)
        result = await changed(
            deps.rules.promote_shadow(
                author=call.caller.actor, reason=body.reason, candidate=body.candidate
            )
        )
        done = await announce_promoted(deps, result)
        return ShadowAnswer(message=done, candidate=None, version=result.promoted)

    return [
        Endpoint(
            "GET",
            "/api/rules/shadow",
            "The candidate rules in shadow (if any) and how they differ from the rules in force",
            READERS,
            ShadowView,
            get_shadow,
        ),
        Endpoint(
            "GET",
            "/api/rules/shadow/status",
            "How the candidate in shadow agrees with the rules in force and with people's "
            "decisions (read from Temporal)",
            READERS,
            ShadowFigures,
            get_status,
            errors=(404,),
        ),
        Endpoint(
            "PUT",
            "/api/rules/shadow",
            "Put a candidate in shadow (an earlier version or whole rules): every review also "
            "evaluates it and records its verdict; it decides nothing",
            CHANGERS,
            ShadowAnswer,
            put_shadow,
            body=ShadowBody,
            changes=True,
            description="404 when `version` does not exist; 409 when it cannot be put in "
            "shadow (e.g. it is the rules in force).",
            errors=(400, 404, 409),
        ),
        Endpoint(
            "POST",
            "/api/rules/shadow/promote",
            "Make the candidate the rules in force (a new version)",
            CHANGERS,
            ShadowAnswer,
            promote,
            query=PromoteQuery,
            changes=True,
            description="404 when no rules are in shadow; 409 when `candidate` is not the one in "
            "shadow, or the rules changed since it was set.",
            errors=(400, 404, 409),
        ),
        Endpoint(
            "DELETE",
            "/api/rules/shadow",
            "Stop the shadow review",
            CHANGERS,
            ShadowAnswer,
            stop,
            query=StopQuery,
            changes=True,
            description="404 when no rules are in shadow.",
            errors=(400, 404),
        ),
    ]
