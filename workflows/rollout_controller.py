"""RolloutControllerWorkflow: ramps, promotes and rolls back worker builds, and monitors the
build being rolled out. One per Worker Deployment; a workflow, so a plan survives restarts of
the bot and the workers.

Ops drive it with Updates (from /rollout and /rollback); every change is an audit event.
The monitor checks the watched build every `check_interval_seconds`: a failed check alerts the
ops channel, `failure_limit` failed checks in a row roll back automatically.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.rollout import RolloutActivities
    from domain.actors import SYSTEM
    from domain.models import AuditEntry
    from domain.mrkdwn import escape
    from domain.rollout_models import (
        ActorInput,
        AnalyzeInput,
        BuildHealth,
        FlagWrongInput,
        OpsAlertInput,
        Plan,
        PlanInput,
        PlanStatus,
        PromoteInput,
        RampInput,
        RollbackResult,
        RollbackRoutingInput,
        RolloutActionResult,
        RolloutState,
        RoutingAction,
        RoutingInput,
        Verdict,
    )

ROUTING_TIMEOUT = timedelta(seconds=30)
# Routing changes are retried briefly; a refusal (unknown build) is not retried at all.
ROUTING_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["UnknownBuild"])
KEEP_EVENTS = 200
# A health check that cannot run (visibility unreachable, ...) counts as a failed check and
# alerts. A new command on that path, so behind its own patch id: controllers that were already
# past such a failure replay it as it was (only recorded).
CHECK_ERRORS_COUNT = "monitor-check-errors-count-v1"


@workflow.defn
class RolloutControllerWorkflow:
    @workflow.init
    def __init__(self, state: RolloutState) -> None:
        self._state = state
        self._lock = asyncio.Lock()  # one routing change at a time
        self._wake = False

    @workflow.run
    async def run(self, state: RolloutState) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._wake,
                    timeout=timedelta(seconds=self._state.thresholds.check_interval_seconds),
                )
            self._wake = False
            try:
                await self._check_and_advance()
            except ActivityError as err:
                # The controller must outlive any one failed check or routing call.
                self._event("monitor", "check_failed", str(err.cause or err))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._state.events = self._state.events[-KEEP_EVENTS:]
                workflow.continue_as_new(self._state)

    # --- the monitor and the plan ------------------------------------------------------------

    async def _check_and_advance(self) -> None:
        build = self._state.watched_build
        if build is None or self._state.watch_since is None:
            return
        try:
            health = await workflow.execute_activity_method(
                RolloutActivities.analyze_build,
                AnalyzeInput(
                    build_id=build,
                    since=self._state.watch_since,
                    flagged=len(self._state.flagged.get(build, [])),
                    thresholds=self._state.thresholds,
                ),
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            if not workflow.patched(CHECK_ERRORS_COUNT):
                raise  # recorded as check_failed by run(), as before
            if self._state.watched_build == build:
                problem = f"the check could not run ({err.cause or err})"
                await self._failed_check(build, [problem], "could not run")
            return
        if self._state.watched_build != build:
            return  # a rollback or a new rollout happened while we measured
        self._state.health[build] = health
        if health.verdict is Verdict.FAIL:
            await self._failed_check(build, health.problems, "failed")
            return
        if health.verdict is Verdict.PASS:
            self._state.consecutive_failures = 0
            await self._advance_plan(health)

    async def _failed_check(self, build: str, problems: list[str], how: str) -> None:
        """Counted, alerted, and `failure_limit` of them in a row roll back."""
        self._state.consecutive_failures += 1
        limit = self._state.thresholds.failure_limit
        self._event("monitor", "health_check_failed", f"{build}: {'; '.join(problems)}")
        await self._alert(
            f":warning: Health check {how} for build `{build}` "
            f"({self._state.consecutive_failures}/{limit}): "
            f"{escape('; '.join(problems))}"
        )
        if self._state.consecutive_failures >= limit:
            await self._rollback(
                ActorInput(
                    actor="monitor",
                    reason=f"{limit} failed health checks in a row: " + "; ".join(problems),
                )
            )

    async def _advance_plan(self, health: BuildHealth) -> None:
        plan = self._state.plan
        if plan is None or plan.status is not PlanStatus.RUNNING or plan.step_started_at is None:
            return
        waited = (workflow.now() - plan.step_started_at).total_seconds()
        # The passing check must be about this step's traffic: taken after the step began.
        if waited < plan.interval_seconds or health.checked_at < plan.step_started_at:
            return
        async with self._lock:
            if plan.step + 1 < len(plan.steps):
                plan.step += 1
                await self._route(RoutingAction.SET_RAMPING, plan.build_id, plan.steps[plan.step])
                plan.step_started_at = workflow.now()
                self._event("plan", "plan_step", f"{plan.build_id} at {plan.steps[plan.step]:g}%")
                await self._alert(
                    f":arrow_up: Rollout plan: build `{plan.build_id}` now gets "
                    f"{plan.steps[plan.step]:g}% of new requests."
                )
            else:
                await self._promote(plan.build_id, "plan")
                plan.status = PlanStatus.COMPLETED
                await self._alert(f":white_check_mark: Build `{plan.build_id}` is now current.")

    # --- routing ------------------------------------------------------------------------------

    async def _route(self, action: RoutingAction, build: str, percent: float = 0) -> str | None:
        result = await workflow.execute_activity_method(
            RolloutActivities.change_routing,
            RoutingInput(action=action, build_id=build, percent=percent),
            start_to_close_timeout=ROUTING_TIMEOUT,
            retry_policy=ROUTING_RETRY,
        )
        return result.previous_current

    def _watch(self, build: str | None) -> None:
        self._state.watched_build = build
        self._state.watch_since = workflow.now() if build else None
        self._state.consecutive_failures = 0

    async def _promote(self, build: str, actor: str) -> str | None:
        previous = await self._route(RoutingAction.SET_CURRENT, build)
        # Keep watching after promotion: a late problem still rolls back to `previous`.
        self._watch(build if previous and previous != build else None)
        self._event(actor, "promoted", f"{build} is current (was {previous})")
        return previous

    async def _rollback(self, input: ActorInput) -> RollbackResult:
        async with self._lock:
            result = await workflow.execute_activity_method(
                RolloutActivities.rollback_routing,
                RollbackRoutingInput(reason=input.reason),
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=RetryPolicy(
                    maximum_attempts=3, non_retryable_error_types=["NoPreviousBuild"]
                ),
            )
            self._watch(None)
            # State only (no command): a second rollback and a ramp back to this build are
            # refused by the validators until traffic moves again or an override is given.
            self._state.rolled_back_to = result.to_build
            if result.from_build not in self._state.rolled_back_builds:
                self._state.rolled_back_builds.append(result.from_build)
            if self._state.plan is not None and self._state.plan.status in (
                PlanStatus.RUNNING,
                PlanStatus.PAUSED,
            ):
                self._state.plan.status = PlanStatus.ROLLED_BACK
            self._event(
                input.actor,
                "rolled_back",
                f"{result.from_build} -> {result.to_build}: {input.reason} "
                f"({result.pinned_workflows} auto-upgrade workflows pinned)",
            )
        who = "The monitor" if input.actor == "monitor" else f"<@{input.actor}>"
        await self._alert(
            f":rotating_light: {who} rolled back from build `{result.from_build}` to "
            f"`{result.to_build}`. Reason: {escape(input.reason or 'none given')}. "
            f"Requests in flight on `{result.from_build}` finish there."
        )
        return result

    async def _alert(self, text: str) -> None:
        try:
            await workflow.execute_activity_method(
                RolloutActivities.alert_ops,
                OpsAlertInput(text=text),
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
        except ActivityError as err:
            # An alert that cannot be delivered must not block a rollback; it stays audited.
            self._event(SYSTEM, "alert_failed", f"{text} ({err.cause})")

    def _moving_to(self, build: str, override: bool) -> None:
        """Traffic moves to `build`: the last rollback is no longer what a /rollback undoes."""
        self._state.rolled_back_to = None
        if override and build in self._state.rolled_back_builds:
            self._state.rolled_back_builds.remove(build)

    def _refuse_rolled_back(self, build: str, override: bool) -> None:
        if build in self._state.rolled_back_builds and not override:
            raise ValueError(
                f"Build `{build}` was rolled back. To send it traffic again, say so "
                'explicitly: add `override` (`/rollout ... override`, API `"override": '
                "true`, CLI `--override`)."
            )

    def _event(self, actor: str, action: str, detail: str) -> None:
        self._state.events.append(
            AuditEntry(at=workflow.now(), actor=actor, action=action, detail=detail)
        )

    # --- updates --------------------------------------------------------------------------------

    @workflow.update
    async def ramp(self, input: RampInput) -> RolloutActionResult:
        async with self._lock:
            await self._route(RoutingAction.SET_RAMPING, input.build_id, input.percent)
            if input.percent > 0:
                self._moving_to(input.build_id, input.override)
            self._watch(input.build_id if input.percent > 0 else None)
            self._event(input.actor, "ramped", f"{input.build_id} at {input.percent:g}%")
        self._wake = True
        return RolloutActionResult(
            message=f"Build `{input.build_id}` now gets {input.percent:g}% of new requests."
        )

    @ramp.validator
    def _validate_ramp(self, input: RampInput) -> None:
        if not 0 <= input.percent <= 100:
            raise ValueError(f"{input.percent:g} is not a percentage: use 0 to 100.")
        if not input.build_id.strip():
            raise ValueError("Say which build to ramp.")
        if input.percent > 0:
            self._refuse_rolled_back(input.build_id, input.override)

    @workflow.update
    async def promote(self, input: PromoteInput) -> RolloutActionResult:
        async with self._lock:
            previous = await self._promote(input.build_id, input.actor)
            self._moving_to(input.build_id, input.override)
            plan = self._state.plan
            if plan is not None and plan.build_id == input.build_id:
                plan.status = PlanStatus.COMPLETED
        return RolloutActionResult(
            message=f"Build `{input.build_id}` is now current (previous: `{previous}`)."
        )

    @promote.validator
    def _validate_promote(self, input: PromoteInput) -> None:
        self._refuse_rolled_back(input.build_id, input.override)

    @workflow.update
    async def start_plan(self, input: PlanInput) -> RolloutActionResult:
        async with self._lock:
            await self._route(RoutingAction.SET_RAMPING, input.build_id, input.steps[0])
            self._state.plan = Plan(
                build_id=input.build_id,
                steps=input.steps,
                interval_seconds=input.interval_seconds,
                step_started_at=workflow.now(),
            )
            self._moving_to(input.build_id, input.override)
            self._watch(input.build_id)
            steps = ", ".join(f"{s:g}%" for s in input.steps)
            self._event(input.actor, "plan_started", f"{input.build_id}: {steps}")
        return RolloutActionResult(
            message=f"Plan started for `{input.build_id}`: {steps}, each step after "
            f"{input.interval_seconds:g} s and a passing health check."
        )

    @start_plan.validator
    def _validate_plan(self, input: PlanInput) -> None:
        if not input.steps or any(not 0 < s <= 100 for s in input.steps):
            raise ValueError("Plan steps must be percentages above 0 and at most 100.")
        if input.steps != sorted(input.steps) or input.steps[-1] != 100:
            raise ValueError("Plan steps must go up and end at 100, e.g. 10,25,50,100.")
        if input.interval_seconds < 1:
            raise ValueError("The interval between steps must be at least 1 second.")
        self._refuse_rolled_back(input.build_id, input.override)

    @workflow.update
    def pause(self, input: ActorInput) -> RolloutActionResult:
        return self._set_plan_status(input, PlanStatus.PAUSED, (PlanStatus.RUNNING,))

    @workflow.update
    def resume(self, input: ActorInput) -> RolloutActionResult:
        plan = self._state.plan
        result = self._set_plan_status(input, PlanStatus.RUNNING, (PlanStatus.PAUSED,))
        if plan is not None:
            plan.step_started_at = workflow.now()
        return result

    @workflow.update
    async def abort(self, input: ActorInput) -> RolloutActionResult:
        plan = self._state.plan
        if plan is None or plan.status not in (PlanStatus.RUNNING, PlanStatus.PAUSED):
            raise ApplicationError("There is no plan in progress to abort.", non_retryable=True)
        async with self._lock:
            await self._route(RoutingAction.SET_RAMPING, plan.build_id, 0)
            plan.status = PlanStatus.ABORTED
            self._watch(None)
            self._event(input.actor, "plan_aborted", input.reason)
        return RolloutActionResult(
            message=f"Plan for `{plan.build_id}` aborted; its ramp is cleared."
        )

    def _set_plan_status(
        self, input: ActorInput, status: PlanStatus, allowed_from: tuple[PlanStatus, ...]
    ) -> RolloutActionResult:
        plan = self._state.plan
        if plan is None or plan.status not in allowed_from:
            current = plan.status.value if plan else "no plan"
            raise ApplicationError(
                f"The plan cannot be {status.value} ({current}).", non_retryable=True
            )
        plan.status = status
        self._event(input.actor, f"plan_{status.value}", input.reason)
        return RolloutActionResult(message=f"Plan for `{plan.build_id}` is {status.value}.")

    @workflow.update
    async def rollback(self, input: ActorInput) -> RollbackResult:
        return await self._rollback(input)

    @rollback.validator
    def _validate_rollback(self, input: ActorInput) -> None:
        del input
        back_to = self._state.rolled_back_to
        if back_to is not None:
            raise ValueError(
                f"Nothing to roll back: the last rollback went to `{back_to}`, and no build "
                "has been ramped or promoted since."
            )

    @workflow.update
    def flag_wrong(self, input: FlagWrongInput) -> RolloutActionResult:
        flagged = self._state.flagged.setdefault(input.build_id, [])
        if input.request_id not in flagged:
            flagged.append(input.request_id)
            self._event(
                input.actor, "auto_approval_flagged", f"{input.request_id} on {input.build_id}"
            )
        return RolloutActionResult(message="Thanks: recorded as a wrong auto-approval.")

    @workflow.query
    def state(self) -> RolloutState:
        return self._state
