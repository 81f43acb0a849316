"""RolloutControllerWorkflow: ramps, promotes and rolls back worker builds, and monitors the
build being rolled out. One per Worker Deployment; a workflow, so a plan survives restarts of
the bot and the workers.

Ops drive it with Updates (from /rollout and /rollback, the API and the CLI); every change is
an audit event. The monitor checks the watched build every `check_interval_seconds`: a failed
check alerts the ops channel, `failure_limit` failed checks in a row roll back automatically.
A rollback goes to the last build that was healthy as current (`BuildRecord`), or where ops say.
A department rollout publishes its target in the memo (`DEPARTMENT_MEMO`): request starts pin
that department's new requests to the build; the routing of everyone else does not change.
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
    from domain.actors import MONITOR, SYSTEM, mention
    from domain.models import AuditEntry
    from domain.mrkdwn import escape
    from domain.rollout_models import (
        DEPARTMENT_MEMO,
        ActorInput,
        AnalyzeInput,
        BuildHealth,
        BuildRecord,
        DepartmentInput,
        DepartmentTarget,
        FlagWrongInput,
        MonitorSettingsInput,
        MonitorSettingsResult,
        OpsAlertInput,
        Plan,
        PlanInput,
        PlanStatus,
        PromoteInput,
        RampInput,
        RollbackInput,
        RollbackResult,
        RollbackRoutingInput,
        RolloutActionResult,
        RolloutState,
        RoutingAction,
        RoutingInput,
        Verdict,
        settings_change,
    )
    from workflows.patches import Patch

ROUTING_TIMEOUT = timedelta(seconds=30)
# Routing changes are retried briefly; a refusal (unknown build) is not retried at all.
ROUTING_RETRY = RetryPolicy(maximum_attempts=3, non_retryable_error_types=["UnknownBuild"])
KEEP_EVENTS = 200
# Every patch of the controller, oldest first. A controller runs for months: each change to the
# commands it emits goes behind a new id, and tests/controller_histories/ holds histories from
# before and after each one (tests/test_controller_replay.py).
CHECK_ERRORS_COUNT = Patch(
    "monitor-check-errors-count-v1",
    "a health check that cannot run (visibility unreachable, ...) counts as a failed check, "
    "alerts, and rolls back at the failure limit",
)
ROLLBACK_BEFORE_ALERT = Patch(
    "monitor-rollback-before-alert-v1",
    "at the failure limit the monitor moves the traffic back first and alerts after (one "
    "alert): an alert retried against a Slack in trouble no longer delays the rollback",
)
ROLLBACK_TO_HEALTHY = Patch(
    "rollback-to-healthy-v1",
    "a rollback of the current build goes to the last build that was healthy as current (the "
    "controller's health history per build), or to the build ops name (`/rollback to <build>`)",
)
DEPARTMENT_ROLLOUT = Patch(
    "department-rollout-v1",
    "a department rollout: the department's NEW requests start pinned to the build (the target "
    "is in the controller's memo), the monitor judges the build on that department's requests",
)
CONTROLLER_PATCHES: tuple[Patch, ...] = (
    CHECK_ERRORS_COUNT,
    ROLLBACK_BEFORE_ALERT,
    ROLLBACK_TO_HEALTHY,
    DEPARTMENT_ROLLOUT,
)


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
                self._event(MONITOR, "check_failed", str(err.cause or err))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._state.events = self._state.events[-KEEP_EVENTS:]
                workflow.continue_as_new(self._state)

    # --- the monitor and the plan ------------------------------------------------------------

    async def _check_and_advance(self) -> None:
        build = self._state.watched_build
        if build is None or self._state.watch_since is None:
            return
        department = self._state.department
        try:
            health = await workflow.execute_activity_method(
                RolloutActivities.analyze_build,
                AnalyzeInput(
                    build_id=build,
                    since=self._state.watch_since,
                    flagged=len(self._state.flagged.get(build, [])),
                    thresholds=self._state.thresholds,
                    department=department.department
                    if department and department.build_id == build
                    else None,
                ),
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except ActivityError as err:
            if not workflow.patched(CHECK_ERRORS_COUNT.id):
                raise  # recorded as check_failed by run(), as before
            if self._state.watched_build == build:
                problem = f"the check could not run ({err.cause or err})"
                await self._failed_check(build, [problem], "could not run")
            return
        if self._state.watched_build != build:
            return  # a rollback or a new rollout happened while we measured
        self._state.health[build] = health
        if build == self._state.current_build and health.verdict is not Verdict.INCONCLUSIVE:
            self._record(build).verdict_as_current = health.verdict
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
        self._event(MONITOR, "health_check_failed", f"{build}: {'; '.join(problems)}")
        text = (
            f":warning: Health check {how} for build `{build}` "
            f"({self._state.consecutive_failures}/{limit}): "
            f"{escape('; '.join(problems))}"
        )
        at_limit = self._state.consecutive_failures >= limit
        rollback = RollbackInput(
            actor=MONITOR, reason=f"{limit} failed health checks in a row: " + "; ".join(problems)
        )
        if at_limit and workflow.patched(ROLLBACK_BEFORE_ALERT.id):
            # Traffic first: the alert (retried while Slack is in trouble) comes after.
            await self._rollback(rollback, also_tell=text)
            return
        await self._alert(text)
        if at_limit:
            await self._rollback(rollback)

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
        self._became_current(build, previous)
        self._event(actor, "promoted", f"{build} is current (was {previous})")
        if self._state.department is not None:
            # Everyone now gets the promoted build: the department's pin ends with it.
            self._end_department(actor, f"ended: {build} is current for everyone")
        return previous

    # --- health history and department rollouts (state, and the memo request starts read) ----

    def _record(self, build: str) -> BuildRecord:
        return self._state.builds.setdefault(build, BuildRecord(build_id=build))

    def _became_current(self, build: str | None, previous: str | None) -> None:
        now = workflow.now()
        if previous and previous != build:
            before = self._record(previous)
            before.was_current, before.current_until = True, now
        if build and build != previous:
            record = self._record(build)
            record.was_current, record.current_since, record.current_until = True, now, None
            record.verdict_as_current = None
        self._state.current_build = build or previous

    def _publish_department(self) -> None:
        target = self._state.department
        workflow.upsert_memo(
            {DEPARTMENT_MEMO: target.model_dump(mode="json") if target is not None else None}
        )

    def _end_department(self, actor: str, how: str) -> None:
        target = self._state.department
        if target is None:
            return
        self._state.department = None
        self._publish_department()
        self._event(
            actor, "department_rollout_ended", f"{target.build_id} for {target.department} {how}"
        )

    async def _rollback(self, input: RollbackInput, also_tell: str | None = None) -> RollbackResult:
        """`also_tell`: a line for the rollback's alert (the failed check that caused it)."""
        async with self._lock:
            department = self._state.department
            if input.to_build is None:
                # The department's new requests go back to the current build as soon as this
                # workflow task completes: before the activity, not after it. (With a named
                # target the activity may refuse it first: then nothing may have changed.)
                self._end_department(input.actor, "rolled back")
            healthy: list[str] = []
            if department is None and workflow.patched(ROLLBACK_TO_HEALTHY.id):
                healthy = self._state.healthy_builds(workflow.now())
            result = await workflow.execute_activity_method(
                RolloutActivities.rollback_routing,
                RollbackRoutingInput(
                    reason=input.reason,
                    to_build=input.to_build,
                    healthy_builds=healthy,
                    department_build=department.build_id if department else None,
                ),
                start_to_close_timeout=ROUTING_TIMEOUT,
                retry_policy=RetryPolicy(
                    maximum_attempts=3, non_retryable_error_types=["NoPreviousBuild"]
                ),
            )
            self._end_department(input.actor, "rolled back")
            self._watch(None)
            # State only (no command): a second rollback and a ramp back to this build are
            # refused by the validators until traffic moves again or an override is given.
            self._state.rolled_back_to = result.to_build
            self._record(result.from_build).rolled_back_at = workflow.now()
            if result.to_build != result.previous_current:
                self._became_current(result.to_build, result.previous_current)
            if input.override and result.to_build in self._state.rolled_back_builds:
                self._state.rolled_back_builds.remove(result.to_build)
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
        scope = f" for department {escape(department.department)}" if department else ""
        await self._alert(
            f":rotating_light: {mention(input.actor)} rolled back from build "
            f"`{result.from_build}`{scope} to `{result.to_build}`. Reason: "
            f"{escape(input.reason or 'none given')}. Requests in flight on "
            f"`{result.from_build}` finish there." + (f"\n{also_tell}" if also_tell else "")
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
            self._refuse_during_department_rollout()

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
        self._refuse_during_department_rollout()

    def _refuse_during_department_rollout(self) -> None:
        target = self._state.department
        if target is not None:
            raise ValueError(
                f"Build `{target.build_id}` is rolled out to department {target.department}: "
                f"promote it (`/rollout promote {target.build_id}`) or roll it back first."
            )

    @workflow.update
    async def target_department(self, input: DepartmentInput) -> RolloutActionResult:
        # The marker tells the replay gate which histories hold a department rollout.
        workflow.patched(DEPARTMENT_ROLLOUT.id)
        async with self._lock:
            # Routing does not change; refused when the build does not poll, is current, or
            # another build ramps (everyone else must stay on the current build).
            current = await self._route(RoutingAction.CHECK_DEPARTMENT_TARGET, input.build_id)
            if self._state.current_build is None:
                self._became_current(current, None)
            self._state.department = DepartmentTarget(
                build_id=input.build_id, department=input.department, since=workflow.now()
            )
            self._publish_department()
            self._moving_to(input.build_id, input.override)
            self._watch(input.build_id)
            self._event(
                input.actor, "department_rollout", f"{input.build_id} for {input.department}"
            )
        self._wake = True
        return RolloutActionResult(
            message=f"Build `{input.build_id}` now gets every new request of department "
            f"{escape(input.department)}; everyone else stays on `{current}`."
        )

    @target_department.validator
    def _validate_department(self, input: DepartmentInput) -> None:
        if not input.build_id.strip() or not input.department.strip():
            raise ValueError("Say which build and which department.")
        plan = self._state.plan
        if plan is not None and plan.status in (PlanStatus.RUNNING, PlanStatus.PAUSED):
            raise ValueError(
                f"A plan for `{plan.build_id}` is in progress: abort it first (`/rollout abort`)."
            )
        target = self._state.department
        if target is not None and target.build_id != input.build_id:
            self._refuse_during_department_rollout()
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
    async def rollback(self, input: RollbackInput) -> RollbackResult:
        return await self._rollback(input)

    @rollback.validator
    def _validate_rollback(self, input: RollbackInput) -> None:
        if input.to_build is not None:
            # Ops name where traffic goes: allowed after a rollback too (it went wrong).
            self._refuse_rolled_back(input.to_build, input.override)
            return
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

    @workflow.update
    async def apply_monitor_settings(self, input: MonitorSettingsInput) -> MonitorSettingsResult:
        """A process's PURCHASEBOT_MONITOR_* values, sent at its start: the last process to
        start wins. A new handler: no history recorded before it holds this Update, and the
        commands of run() and of the other handlers do not change, so no patch. The next check
        reads the new thresholds."""
        before = self._state.thresholds.settings()
        thresholds = self._state.thresholds.with_settings(input.settings)
        after = thresholds.settings()
        if after == before:
            return MonitorSettingsResult(
                changed=False, before=before, after=after, message="Monitor settings unchanged."
            )
        self._state.thresholds = thresholds
        change = settings_change(before, after)
        self._event(input.actor, "monitor_settings_changed", change)
        await self._alert(
            f":gear: Monitor settings changed by {mention(input.actor)} "
            f"(the last process to start applies its settings): {escape(change)}."
        )
        # A check now, with the new settings (a shorter interval need not wait out the old
        # one). After the alert: one activity at a time, so a history's commands come in one
        # order (the replay corpus compares them).
        self._wake = True
        return MonitorSettingsResult(
            changed=True,
            before=before,
            after=after,
            message=f"Monitor settings changed by {input.actor}: {change}.",
        )

    @apply_monitor_settings.validator
    def _validate_monitor_settings(self, input: MonitorSettingsInput) -> None:
        self._state.thresholds.with_settings(input.settings)  # the dry run: raises if refused

    @workflow.query
    def state(self) -> RolloutState:
        return self._state
