"""The rollout control API: what a deploy pipeline drives without Slack. The same controller and
the same rules as `/rollout` and `/rollback` (`RolloutAdmin`): a refusal there (no worker of the
build polling, a plan that does not end at 100, nothing to roll back) is a JSON error here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Self

from pydantic import BaseModel, Field, model_validator

from bot.announcements import OpsAnnouncer
from bot.api.framework import ApiCall, ApiError, Endpoint, refused_as
from bot.api.tokens import Role
from bot.flags_admin import FlagsAdmin
from bot.rollout_admin import RolloutAdmin
from domain.actors import mention
from domain.rollout_models import RolloutActionResult, RolloutState

OPS = frozenset({Role.OPS})
READERS = frozenset({Role.OPS, Role.AUDITOR})


class RampBody(BaseModel):
    """Either `percentage` (a share of everyone's new requests) or `department` (every new
    request of one department; everyone else stays on the current build)."""

    build_id: str = Field(min_length=1, max_length=200)
    percentage: float | None = Field(
        default=None, ge=0, le=100, description="share of NEW requests; 0 clears the ramp"
    )
    department: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="send every NEW request of this department (directory.yaml) to the build",
    )
    override: bool = Field(default=False, description="send traffic to a rolled-back build")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.percentage is None) == (self.department is None):
            raise ValueError("give either `percentage` or `department`")
        return self


class PromoteBody(BaseModel):
    build_id: str = Field(min_length=1, max_length=200)
    override: bool = Field(default=False, description="send traffic to a rolled-back build")


class PlanBody(BaseModel):
    build_id: str = Field(min_length=1, max_length=200)
    steps: list[float] = Field(min_length=1, description="going up and ending at 100")
    interval: float = Field(ge=1, description="seconds between steps (each also needs a pass)")
    override: bool = Field(default=False, description="send traffic to a rolled-back build")


class ReasonBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class RollbackBody(BaseModel):
    build_id: str | None = Field(
        default=None,
        max_length=200,
        description="the build to roll back (ramping, in a department rollout, or current); "
        "refused if it is none of those",
    )
    to_build_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="where new requests go; default: the last build that was healthy as current "
        "(for a ramp or a department rollout: the current build)",
    )
    override: bool = Field(
        default=False, description="`to_build_id` may be a build that was itself rolled back"
    )
    reason: str = Field(default="", max_length=500)


class ActionAnswer(BaseModel):
    status: str = "success"
    message: str


class RollbackAnswer(BaseModel):
    status: str = "rolled_back"
    build_id: str = Field(description="the build rolled back (no new requests go to it)")
    previous_build_id: str | None = Field(description="the build new requests go to now")
    pinned_workflows: int
    message: str


class VersionAnswer(BaseModel):
    build_id: str
    status: str
    last_current_time: datetime | None = None


class DeploymentAnswer(BaseModel):
    name: str
    current_build: str | None
    ramping_build: str | None
    ramp_percent: float
    versions: list[VersionAnswer]


class RolloutStatusAnswer(BaseModel):
    """What `/rollout status` shows: routing, builds, the controller (health, plan, events)."""

    deployment: DeploymentAnswer
    controller: RolloutState
    healthy_builds: list[str] = Field(
        description="builds that were healthy as current, the most recently current first: a "
        "rollback of the current build goes to the first of them that is not current"
    )
    flags_problem: str | None = Field(
        default=None, description="why the feature flags cannot be read, if they cannot"
    )


def rollout_endpoints(
    admin: RolloutAdmin, announcer: OpsAnnouncer, flags: FlagsAdmin | None = None
) -> list[Endpoint]:
    async def announced(call: ApiCall, result: RolloutActionResult) -> ActionAnswer:
        await announcer.announce(f":gear: {mention(call.caller.actor)}: {result.message}")
        return ActionAnswer(message=result.message)

    async def ramp(call: ApiCall) -> ActionAnswer:
        body = call.body_as(RampBody)
        with refused_as(400):
            if body.department is not None:
                result = await admin.target_department(
                    body.build_id, body.department, call.caller.actor, override=body.override
                )
            else:
                assert body.percentage is not None  # one of the two, by RampBody
                result = await admin.ramp(
                    body.build_id, body.percentage, call.caller.actor, override=body.override
                )
        return await announced(call, result)

    async def promote(call: ApiCall) -> ActionAnswer:
        body = call.body_as(PromoteBody)
        with refused_as(400):
            result = await admin.promote(body.build_id, call.caller.actor, override=body.override)
        return await announced(call, result)

    async def plan(call: ApiCall) -> ActionAnswer:
        body = call.body_as(PlanBody)
        with refused_as(400):
            result = await admin.plan(
                body.build_id,
                body.steps,
                body.interval,
                call.caller.actor,
                override=body.override,
            )
        return await announced(call, result)

    def plan_control(action: str) -> Endpoint:
        async def handle(call: ApiCall) -> ActionAnswer:
            with refused_as(409):
                result = await admin.plan_control(action, call.caller.actor)
            return await announced(call, result)

        return Endpoint(
            "POST",
            f"/api/rollout/{action}",
            f"{action.capitalize()} the rollout plan",
            roles=OPS,
            answer=ActionAnswer,
            handle=handle,
            body=ReasonBody,
            changes=True,
            errors=(400, 409),
        )

    async def rollback(call: ApiCall) -> RollbackAnswer:
        body = call.body_as(RollbackBody)
        if body.build_id is not None:
            routing = await admin.deployments.describe()
            target = await admin.routing.target()
            department = target.build_id if target is not None else None
            if body.build_id not in (routing.ramping_build, routing.current_build, department):
                raise ApiError(
                    409,
                    f"Build `{body.build_id}` is neither ramping nor current: there is nothing "
                    f"of it to roll back (current: `{routing.current_build}`, ramping: "
                    f"`{routing.ramping_build}`, department rollout: `{department}`).",
                    field="build_id",
                )
        with refused_as(409):
            # The controller tells the ops channel who rolled back, why, from and to which build.
            result = await admin.rollback(
                call.caller.actor,
                body.reason,
                to_build=body.to_build_id,
                override=body.override,
            )
        return RollbackAnswer(
            build_id=result.from_build,
            previous_build_id=result.to_build,
            pinned_workflows=result.pinned_workflows,
            message=result.message,
        )

    async def status(call: ApiCall) -> RolloutStatusAnswer:
        del call
        shown = await admin.status()
        d = shown.deployment
        return RolloutStatusAnswer(
            deployment=DeploymentAnswer(
                name=d.name,
                current_build=d.current_build,
                ramping_build=d.ramping_build,
                ramp_percent=d.ramp_percent,
                versions=[
                    VersionAnswer(
                        build_id=v.build_id, status=v.status, last_current_time=v.last_current_time
                    )
                    for v in d.versions
                ],
            ),
            controller=shown.controller,
            healthy_builds=shown.controller.healthy_builds(datetime.now(UTC)),
            flags_problem=await flags.unreadable_reason() if flags else None,
        )

    return [
        Endpoint(
            "GET",
            "/api/rollout",
            "Routing, builds, health, plan and recent events (what /rollout status shows)",
            roles=READERS,
            answer=RolloutStatusAnswer,
            handle=status,
            errors=(),
        ),
        Endpoint(
            "POST",
            "/api/rollout",
            "Send a share of NEW requests, or one department's, to a build (0 % clears the ramp)",
            roles=OPS,
            answer=ActionAnswer,
            handle=ramp,
            body=RampBody,
            changes=True,
            description="`percentage`: that share of everyone's new requests. `department`: "
            "every new request of that department, pinned to the build when it starts; everyone "
            "else stays on the current build, and the monitor judges the build on that "
            "department's requests. 400 when the percentage is not 0-100, the department is "
            "unknown, no worker of the build polls, or (department) another build is ramping.",
        ),
        Endpoint(
            "POST",
            "/api/rollout/promote",
            "Make a build current",
            roles=OPS,
            answer=ActionAnswer,
            handle=promote,
            body=PromoteBody,
            changes=True,
        ),
        Endpoint(
            "POST",
            "/api/rollout/plan",
            "Ramp in steps, each after the interval and a passing health check; 100 promotes",
            roles=OPS,
            answer=ActionAnswer,
            handle=plan,
            body=PlanBody,
            changes=True,
        ),
        *(plan_control(action) for action in ("pause", "resume", "abort")),
        Endpoint(
            "POST",
            "/api/rollback",
            "Emergency rollback: new requests go back to the last healthy build at once",
            roles=OPS,
            answer=RollbackAnswer,
            handle=rollback,
            body=RollbackBody,
            changes=True,
            errors=(400, 409),
            description="A ramp or a department rollout is undone (new requests to the current "
            "build); else the current build is replaced by the last build that was healthy as "
            "current, or by `to_build_id`. 409 when there is nothing to roll back, `build_id` is "
            "none of ramping, department rollout or current, or `to_build_id` cannot take the "
            "traffic (no worker, or rolled back without `override`). The ops channel is told "
            "who, why, from and to which build.",
        ),
    ]
