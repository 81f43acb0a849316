"""The monitor judges a sliding window (compressed here to seconds): a regression that starts
after a healthy period is caught within one window, although the ramp-to-date numbers would
still pass. Decision quality has its own minimum sample: one flag on a fresh ramp does not roll
it back. A check that cannot run counts as failed and alerts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.models import PurchaseStatus
from domain.rollout_models import AnalyzeInput, BuildHealth, Thresholds, Verdict
from tests.fixtures.failing_workflow import FailingPurchaseApprovalWorkflow
from tests.integration.deployment_world import BOOK, DeploymentWorld, deployment_world
from tests.integration.test_rollouts import results, rollback_announced
from tests.integration.world import poll_until
from workflows.purchase_approval import PurchaseApprovalWorkflow

WINDOW = 3.0
# Generous error limits: judged to date, the late failures stay under them.
THRESHOLDS = Thresholds(
    check_interval_seconds=0.5,
    min_sample=3,
    failure_limit=2,
    window_seconds=WINDOW,
    max_error_rate=0.25,
    min_success_rate=0.75,
)
HEALTHY = 60


async def test_a_late_regression_is_caught_within_one_window(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path, THRESHOLDS) as world:
        await world.start_build("A", PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        await world.start_build("B", PurchaseApprovalWorkflow)
        await world.admin.ramp("B", 100, "UOLIVIA")
        # A healthy period: many good requests on B, judged as passing.
        await results([await world.start_request() for _ in range(HEALTHY)], timeout=60)

        async def passed() -> bool:
            await world.start_request()  # healthy traffic keeps flowing while we wait
            health = (await world.admin.status()).controller.health.get("B")
            return health is not None and health.verdict is Verdict.PASS

        await poll_until(passed, 20, "a passing check of the healthy build B", every=0.2)
        await asyncio.sleep(WINDOW)  # the healthy requests leave the window

        # Then B goes bad (its workers now run broken code).
        await world.replace_build("B", FailingPurchaseApprovalWorkflow)
        broke = time.monotonic()

        async def rolled_back() -> bool:
            await world.start_request()
            return (await world.admin.deployments.describe()).ramping_build is None

        await poll_until(rolled_back, 30, "the monitor to roll back B", every=0.3)
        caught = time.monotonic() - broke
        # One window to fill, `failure_limit` checks, and a loaded machine's slack.
        assert caught < WINDOW + THRESHOLDS.failure_limit * 0.5 + 10, caught

        health = (await world.admin.status()).controller.health["B"]
        assert health.verdict is Verdict.FAIL and "error rate" in health.problems[0]
        # The to-date numbers hold the healthy period (most of HEALTHY: the first requests after
        # the ramp can still reach A while the new routing spreads to the task queue).
        assert health.to_date is not None and health.to_date.completed >= HEALTHY // 2
        assert health.to_date.completed > health.completed + health.failed
        to_date = health.to_date.failed / (health.to_date.completed + health.to_date.failed)
        assert to_date <= THRESHOLDS.max_error_rate, "to date, B would still have passed"
        assert health.window_since is not None and health.window_since > health.to_date.since


@activity.defn(name="analyze_build")
async def unreachable_visibility(input: AnalyzeInput) -> BuildHealth:
    """FAULT: the health check cannot run (as when visibility is unreachable)."""
    raise ApplicationError(f"visibility unreachable while checking {input.build_id}")


async def test_a_check_that_cannot_run_counts_as_failed_and_alerts(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    thresholds = Thresholds(check_interval_seconds=0.5, failure_limit=2)
    async with deployment_world(
        dev_env.client, tmp_path, thresholds, faulty=[unreachable_visibility]
    ) as world:
        await world.start_build("A", PurchaseApprovalWorkflow)
        await world.admin.promote("A", "UOLIVIA")
        await world.start_build("B", PurchaseApprovalWorkflow)
        await world.admin.ramp("B", 20, "UOLIVIA")

        async def rolled_back() -> bool:
            return (await world.admin.deployments.describe()).ramping_build is None

        await poll_until(rolled_back, 60, "the monitor to roll back B", every=0.3)
        await poll_until(rollback_announced(world), 10, "the rollback's ops alert")
        alerts = world.notifier.ops_alerts()
        could_not = [a for a in alerts if "Health check could not run for build `B`" in a]
        assert len(could_not) >= 2 and "visibility unreachable" in could_not[0]
        assert "(1/2)" in could_not[0]
        assert any("The monitor rolled back" in a for a in alerts)


async def test_one_flag_on_a_fresh_ramp_does_not_roll_it_back(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """One failed check rolls back (failure_limit 1), and the flag is 1 of 2 auto-approvals
    (50 % > 5 %): only the minimum decision sample keeps the fresh ramp. With the sample
    reached, the same flag fails the build, so the flag does reach the monitor."""
    thresholds = Thresholds(
        check_interval_seconds=0.5, min_sample=2, failure_limit=1, min_decision_sample=3
    )
    async with deployment_world(dev_env.client, tmp_path, thresholds) as world:
        await reviewed_ramp_to_b(world)

        approved = await auto_approved_on_b(world, 2)
        await world.admin.flag_wrong(approved[0], "B", "UCARLOS")
        health = await first_check_with(world, flagged=1, auto_approved=2)
        assert health.verdict is Verdict.PASS and not health.flags_judged, health.problems
        routing = await world.admin.deployments.describe()
        assert routing.ramping_build == "B", "one flag on a fresh ramp rolled it back"

        # A third auto-approval reaches the decision sample: 1 of 3 flagged fails the build.
        await auto_approved_on_b(world, 1)

        async def rolled_back() -> bool:
            return (await world.admin.deployments.describe()).ramping_build is None

        await poll_until(rolled_back, 20, "the monitor to judge the flags and roll back B")
        failed = (await world.admin.status()).controller.health["B"]
        assert failed.problems == ["auto-approvals flagged as wrong 33.3% > 5%"], failed


async def test_the_ramps_flags_are_judged_with_its_approvals_after_a_promotion(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A promotion restarts the watch. The flag given during the ramp (1 of 4 auto-approvals:
    25 % <= 30 %) must not then be divided by the 2 approvals since the promotion (50 %: one
    failed check would roll the healthy build back)."""
    thresholds = Thresholds(
        check_interval_seconds=0.5,
        min_sample=2,
        failure_limit=1,
        min_decision_sample=2,
        max_flagged_rate=0.3,
    )
    async with deployment_world(dev_env.client, tmp_path, thresholds) as world:
        await reviewed_ramp_to_b(world)
        approved = await auto_approved_on_b(world, 4)
        await world.admin.flag_wrong(approved[0], "B", "UCARLOS")
        ramped = await first_check_with(world, flagged=1, auto_approved=4)
        assert ramped.verdict is Verdict.PASS and ramped.flags_judged, ramped.problems

        await world.admin.promote("B", "UOLIVIA")
        await auto_approved_on_b(world, 2)
        promoted = await first_check_with(world, flagged=1, auto_approved=6)
        assert promoted.verdict is Verdict.PASS, promoted.problems
        assert (await world.admin.deployments.describe()).current_build == "B"


async def reviewed_ramp_to_b(world: DeploymentWorld) -> None:
    """Automated review on (so requests can be auto-approved), A current, B ramped to 100 %."""
    await world.enable_automated_review()
    await world.start_build("A", PurchaseApprovalWorkflow)
    await world.admin.promote("A", "UOLIVIA")
    await world.start_build("B", PurchaseApprovalWorkflow)
    await world.admin.ramp("B", 100, "UOLIVIA")
    await world.until_new_requests_run_on("B")


async def auto_approved_on_b(world: DeploymentWorld, count: int) -> list[str]:
    """`count` requests auto-approved on build B; their request ids."""
    handles = [
        await world.start_request(requester="UALICE", url=BOOK, amount="39.90")
        for _ in range(count)
    ]
    done = await results(handles)
    assert [(r.status, r.review is not None and r.review.auto_approved) for r in done] == [
        (PurchaseStatus.COMPLETED, True)
    ] * count, done
    assert await world.builds_of(handles) == ["B"] * count
    return [r.request_id for r in done]


async def first_check_with(
    world: DeploymentWorld, *, flagged: int, auto_approved: int
) -> BuildHealth:
    """The monitor's first verdict on B that saw these numbers (visibility can lag a moment)."""
    seen: list[BuildHealth] = []

    async def checked() -> bool:
        health = (await world.admin.status()).controller.health.get("B")
        if health is None or (health.flagged, health.auto_approved) != (flagged, auto_approved):
            return False
        seen.append(health)
        return True

    await poll_until(checked, 20, f"a check of B with {flagged}/{auto_approved} flagged", every=0.1)
    return seen[0]
