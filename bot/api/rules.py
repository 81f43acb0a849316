"""The design's rules API: read the live rules and their versions, change one department's.

A change is the same as `/rules set` from Slack: validated with the rules file's schema (400
with the field path), a new version with author and reason, audited, announced in the ops
channel."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from temporalio.service import RPCError

from bot.api.framework import ApiCall, ApiError, Endpoint
from bot.api.tokens import Role
from bot.rules_admin import RulesUnreadable
from bot.slack.deps import BotDeps
from bot.slack.rules_command import change_announcement
from bot.slack.rules_handler import people_departments
from domain.backtest import BacktestFigures
from domain.refusal import Refused
from domain.review_rules import EffectiveRules, RuleOverride, RulesFile
from domain.rules_versions import (
    DEFAULTS,
    RuleChange,
    RulesHistory,
    RulesInvalid,
    RulesVersion,
    department_named,
    diff_rules,
    known_departments,
    with_department,
)

READERS = frozenset(Role)
CHANGERS = frozenset({Role.OPS})


class RulesAnswer(BaseModel):
    version: str
    content_hash: str
    author: str
    at: datetime
    reason: str
    rules: RulesFile


class DepartmentRulesAnswer(BaseModel):
    department: str
    version: str
    overrides: RuleOverride = Field(description="what this department sets itself")
    effective: EffectiveRules = Field(description="the defaults merged with its overrides")


class ChangeQuery(BaseModel):
    dry_run: bool = Field(default=False, description="Validate and show the diff; change nothing")
    reason: str = Field(default="", max_length=500, description="Why (kept with the version)")


class ChangeAnswer(BaseModel):
    status: Literal["success", "dry_run"]
    department: str
    version: str = Field(description="the new version, or the current one on a dry run")
    diff: list[RuleChange]
    backtest: BacktestFigures | None = Field(
        default=None,
        description="on a dry run: what the new rules would have decided on the requests of "
        "the last 30 days, compared with what actually happened",
    )


def rules_endpoints(deps: BotDeps) -> list[Endpoint]:
    async def live_rules() -> RulesVersion:
        try:
            return await deps.rules.current()
        except RulesUnreadable as err:
            raise ApiError(503, str(err)) from err

    async def get_all(_: ApiCall) -> RulesAnswer:
        live = await live_rules()
        return RulesAnswer(
            version=live.label,
            content_hash=live.content_hash,
            author=live.author,
            at=live.at,
            reason=live.reason,
            rules=live.rules,
        )

    async def get_history(_: ApiCall) -> RulesHistory:
        return await deps.rules.history()

    async def get_department(call: ApiCall) -> DepartmentRulesAnswer:
        live = await live_rules()
        name = _department(call, live.rules, deps)
        if name == DEFAULTS:
            raise ApiError(404, "`defaults` is not a department; GET /api/rules has them.")
        return DepartmentRulesAnswer(
            department=name,
            version=live.label,
            overrides=live.rules.departments.get(name, RuleOverride()),
            effective=live.rules.for_department(name),
        )

    async def put_department(call: ApiCall) -> ChangeAnswer:
        live = await live_rules()
        name = _department(call, live.rules, deps)
        if name == DEFAULTS:
            raise ApiError(400, "The defaults are changed with `/rules set defaults …`.")
        query = call.query_as(ChangeQuery)
        try:
            proposed = with_department(live.rules, name, call.body_as(RuleOverride))
        except RulesInvalid as err:
            raise ApiError(400, f"Field `{err.field}`: {err.reason}.", field=err.field) from err
        diff = diff_rules(live.rules, proposed)
        if query.dry_run:
            try:
                figures = await deps.backtest.run(
                    live.rules,
                    proposed,
                    departments=[*people_departments(deps), *live.rules.departments],
                )
            except RPCError as err:
                raise ApiError(503, f"The backtest could not be run ({err.message}).") from err
            return ChangeAnswer(
                status="dry_run", department=name, version=live.label, diff=diff, backtest=figures
            )
        try:
            result = await deps.rules.change(
                proposed, author=call.caller.actor, reason=query.reason, based_on=live.number
            )
        except Refused as err:
            raise ApiError(409 if "changed since" in str(err) else 400, str(err)) from err
        await deps.announcer.announce(change_announcement(result.version))
        return ChangeAnswer(
            status="success", department=name, version=result.version.label, diff=diff
        )

    return [
        Endpoint("GET", "/api/rules", "The review rules in force", READERS, RulesAnswer, get_all),
        Endpoint(
            "GET",
            "/api/rules/history",
            "Every version of the rules (newest first): who, when, why, what changed",
            READERS,
            RulesHistory,
            get_history,
        ),
        Endpoint(
            "GET",
            "/api/rules/{department}",
            "One department's rules: its overrides and the rules in effect",
            READERS,
            DepartmentRulesAnswer,
            get_department,
            errors=(404,),
        ),
        Endpoint(
            "PUT",
            "/api/rules/{department}",
            "Replace one department's overrides (a new version). `dry_run=true` changes nothing: "
            "it shows the diff and the backtest (what the new rules would have decided on the "
            "last 30 days' requests, compared with what happened)",
            CHANGERS,
            ChangeAnswer,
            put_department,
            body=RuleOverride,
            query=ChangeQuery,
            changes=True,
            errors=(400, 404, 409, 503),
        ),
    ]


def _department(call: ApiCall, rules: RulesFile, deps: BotDeps) -> str:
    try:
        return department_named(
            call.path["department"], known_departments(rules, people_departments(deps))
        )
    except RulesInvalid as err:
        raise ApiError(404, f"{err.reason}.") from err
