"""FeatureFlagsWorkflow and evaluate_flags on the real Temporal dev server: values at every
level reach the activity, refused changes change nothing, every change is audited, `ensure`
never overwrites, and the activity's cache and fallback behave."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.feature_flags import FeatureFlagActivities
from bot.flags_admin import FlagsAdmin, FlagsUnreadable
from domain.feature_flags import (
    KEEP_CHANGES,
    EvaluateFlagsInput,
    FlagsEntityState,
    FlagsEvaluation,
    FlagsState,
    SetFlagInput,
    apply_change,
)
from domain.flag_registry import AUTOMATED_REVIEW, REVIEW_STRICTNESS
from domain.models import AuditEntry
from domain.refusal import Refused
from entities.feature_flags import FeatureFlagsWorkflow

AUTO_FLAG, STRICTNESS_FLAG = AUTOMATED_REVIEW, REVIEW_STRICTNESS
AUTO, STRICTNESS = AUTO_FLAG.name, STRICTNESS_FLAG.name
ALICE = EvaluateFlagsInput(user="UALICE", department="IT")
NICO = EvaluateFlagsInput(user="UNICO", department="IT")
BOB = EvaluateFlagsInput(user="UBOB", department="Marketing")


@workflow.defn
class EvaluateFlagsProbe:
    """Test only: evaluate_flags as a workflow calls it, through the worker and the converter."""

    @workflow.run
    async def run(self, input: EvaluateFlagsInput) -> FlagsEvaluation:
        return await workflow.execute_activity_method(
            FeatureFlagActivities.evaluate_flags,
            input,
            start_to_close_timeout=timedelta(seconds=10),
        )


@dataclass
class Flags:
    client: Client
    task_queue: str
    workflow_id: str
    admin: FlagsAdmin

    async def evaluate(self, who: EvaluateFlagsInput) -> FlagsEvaluation:
        # A fresh, uncached reader each time: these tests are about the entity, not the cache.
        return await FeatureFlagActivities(
            self.client, self.workflow_id, cache_seconds=0
        ).evaluate_flags(who)

    async def set(
        self,
        flag: str,
        value: str | None,
        scope: str = "global",
        key: str = "",
        percent: int | None = None,
        actor: str = "UOPS",
    ) -> AuditEntry:
        result = await self.admin.set(
            SetFlagInput(flag=flag, scope=scope, key=key, value=value, percent=percent, actor=actor)
        )
        return result.change


def worker(client: Client, task_queue: str, workflow_id: str) -> Worker:
    flags = FeatureFlagActivities(client, workflow_id, cache_seconds=0)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[FeatureFlagsWorkflow, EvaluateFlagsProbe],
        activities=[flags.evaluate_flags],
        # The probe lives in this test module; passing the module through keeps the sandbox
        # from re-importing pytest. FeatureFlagsWorkflow is still imported inside the sandbox.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("tests")
        ),
    )


@pytest_asyncio.fixture
async def flags(dev_env: WorkflowEnvironment) -> AsyncIterator[Flags]:
    task_queue = f"flags-{uuid.uuid4().hex[:8]}"
    workflow_id = f"feature-flags-{uuid.uuid4().hex[:8]}"
    async with worker(dev_env.client, task_queue, workflow_id):
        yield Flags(
            client=dev_env.client,
            task_queue=task_queue,
            workflow_id=workflow_id,
            admin=FlagsAdmin(dev_env.client, task_queue, workflow_id),
        )


async def test_a_missing_entity_is_an_error_and_an_ops_alert_never_a_silent_off(
    flags: Flags,
) -> None:
    """Every process creates the entity at start; if it is gone anyway, deciding with the
    defaults would switch the review off for everyone without a word."""
    alerts: list[str] = []

    async def alert_ops(text: str) -> None:
        alerts.append(text)

    reader = FeatureFlagActivities(
        flags.client, flags.workflow_id, cache_seconds=0, alert_ops=alert_ops
    )
    for _ in range(2):
        with pytest.raises(ApplicationError, match="does not exist"):
            await reader.evaluate_flags(ALICE)
    assert len(alerts) == 1, "one alert per outage, not one per request"
    assert flags.workflow_id in alerts[0]
    with pytest.raises(FlagsUnreadable, match="does not exist: every request goes to a manager"):
        await flags.admin.snapshot()


async def test_values_at_every_level_reach_evaluate_flags(flags: Flags) -> None:
    await flags.set(AUTO, "on", "rollout", percent=100)
    alice = await flags.evaluate(ALICE)
    assert alice.value(AUTO_FLAG) is True
    assert alice.decided_by[AUTO].startswith("rollout 100% (bucket ")

    await flags.set(AUTO, "off")
    assert (await flags.evaluate(ALICE)).decided_by[AUTO] == "global"
    assert (await flags.evaluate(ALICE)).value(AUTO_FLAG) is False

    await flags.set(AUTO, "on", "department", "IT")
    await flags.set(STRICTNESS, "strict", "department", "IT")
    nico = await flags.evaluate(NICO)
    assert (nico.value(AUTO_FLAG), nico.value(STRICTNESS_FLAG)) == (True, "strict")
    assert nico.decided_by == {AUTO: "department IT", STRICTNESS: "department IT"}

    await flags.set(AUTO, "off", "user", "UALICE")
    alice = await flags.evaluate(ALICE)
    assert (alice.value(AUTO_FLAG), alice.decided_by[AUTO]) == (False, "user UALICE")
    bob = await flags.evaluate(BOB)
    assert (bob.value(AUTO_FLAG), bob.value(STRICTNESS_FLAG)) == (False, "standard")
    assert bob.decided_by == {AUTO: "global", STRICTNESS: "default"}

    await flags.set(AUTO, None, "user", "UALICE")
    assert (await flags.evaluate(ALICE)).decided_by[AUTO] == "department IT"


async def test_a_workflow_gets_the_evaluation_through_the_worker(flags: Flags) -> None:
    await flags.set(STRICTNESS, "strict", "user", "UALICE")
    result = await flags.client.execute_workflow(
        EvaluateFlagsProbe.run,
        ALICE,
        id=f"probe-{uuid.uuid4().hex[:8]}",
        task_queue=flags.task_queue,
        execution_timeout=timedelta(seconds=30),
    )
    assert result.value(STRICTNESS_FLAG) == "strict"
    assert result.decided_by[STRICTNESS] == "user UALICE"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (SetFlagInput(flag="auto-review", value="on", actor="UOPS"), "Unknown flag 'auto-review'"),
        (SetFlagInput(flag=STRICTNESS, value="lenient", actor="UOPS"), "takes standard/strict"),
        (SetFlagInput(flag=AUTO, value="yes", actor="UOPS"), "takes on/off/true/false"),
        (SetFlagInput(flag=AUTO, scope="team", value="on", actor="UOPS"), "Unknown scope"),
        (SetFlagInput(flag=AUTO, scope="user", key="bob", value="on", actor="UOPS"), "user id"),
        (
            SetFlagInput(flag=AUTO, scope="rollout", value="on", percent=150, actor="UOPS"),
            "from 0 to 100, not 150",
        ),
        (SetFlagInput(flag=AUTO, scope="user", key="UBOB", actor="UOPS"), "no value for user"),
        (SetFlagInput(flag=AUTO, value="on", actor=""), "actor is empty"),
    ],
)
async def test_refused_changes_give_the_reason_and_change_nothing(
    flags: Flags, change: SetFlagInput, reason: str
) -> None:
    await flags.set(AUTO, "on", "department", "IT")
    before = await flags.admin.snapshot()
    with pytest.raises(Refused, match=reason) as refused:
        await flags.admin.set(change)
    assert reason in refused.value.reason
    assert await flags.admin.snapshot() == before


async def test_every_change_is_audited_with_actor_and_old_and_new(flags: Flags) -> None:
    started = datetime.now(UTC)
    first = await flags.set(AUTO, "on", actor="UCARLOS")
    second = await flags.set(AUTO, "off", actor="UHELEN")
    third = await flags.set(STRICTNESS, "strict", "rollout", percent=30, actor="UHELEN")
    fourth = await flags.set(AUTO, None, actor="UCARLOS")
    snapshot = await flags.admin.snapshot()
    assert snapshot.changes == [first, second, third, fourth]
    assert [(c.actor, c.action, c.detail) for c in snapshot.changes] == [
        ("UCARLOS", f"set {AUTO}", "global: (unset) -> on"),
        ("UHELEN", f"set {AUTO}", "global: on -> off"),
        ("UHELEN", f"set {STRICTNESS}", "rollout: (unset) -> 30% strict"),
        ("UCARLOS", f"clear {AUTO}", "global: off -> (unset)"),
    ]
    times = [c.at for c in snapshot.changes]
    assert times == sorted(times)
    assert started - timedelta(seconds=5) <= times[0] <= datetime.now(UTC) + timedelta(seconds=5)
    assert snapshot.flags.settings(AUTO_FLAG).global_value is None


async def test_ensure_creates_once_and_never_overwrites(flags: Flags) -> None:
    initial = apply_change(
        FlagsState(), SetFlagInput(flag=AUTO, value="on", actor="flags.yaml")
    ).state
    assert await flags.admin.ensure(initial) is True
    assert (await flags.evaluate(BOB)).value(AUTO_FLAG) is True
    await flags.set(STRICTNESS, "strict", actor="UOPS")

    assert await flags.admin.ensure(FlagsState()) is False
    snapshot = await flags.admin.snapshot()
    assert snapshot.flags.settings(AUTO_FLAG).global_value is True
    assert [c.detail for c in snapshot.changes] == ["global: (unset) -> strict"]
    bob = await flags.evaluate(BOB)
    assert (bob.value(AUTO_FLAG), bob.value(STRICTNESS_FLAG)) == (True, "strict")


async def test_set_on_a_missing_entity_starts_it_from_the_initial_flags(
    flags: Flags,
) -> None:
    initial = apply_change(
        FlagsState(), SetFlagInput(flag=AUTO, value="on", actor="flags.yaml")
    ).state
    admin = FlagsAdmin(flags.client, flags.task_queue, flags.workflow_id, initial=initial)
    await admin.set(SetFlagInput(flag=STRICTNESS, value="strict", actor="UOPS"))
    bob = await flags.evaluate(BOB)
    assert bob.decided_by == {AUTO: "global", STRICTNESS: "global"}
    assert (bob.value(AUTO_FLAG), bob.value(STRICTNESS_FLAG)) == (True, "strict")


async def test_the_entity_keeps_only_the_last_changes(flags: Flags) -> None:
    old = [
        AuditEntry(at=datetime(2026, 1, 1, tzinfo=UTC), actor="UOPS", action="set", detail=str(n))
        for n in range(KEEP_CHANGES + 20)
    ]
    await flags.client.start_workflow(
        FeatureFlagsWorkflow.run,
        FlagsEntityState(changes=old),
        id=flags.workflow_id,
        task_queue=flags.task_queue,
    )
    latest = await flags.set(AUTO, "on")
    changes = (await flags.admin.snapshot()).changes
    assert len(changes) == KEEP_CHANGES
    assert changes[0].detail == "21" and changes[-1] == latest


async def test_the_activity_caches_briefly_and_survives_an_unreachable_entity(
    dev_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    task_queue = f"flags-{uuid.uuid4().hex[:8]}"
    workflow_id = f"feature-flags-{uuid.uuid4().hex[:8]}"
    admin = FlagsAdmin(dev_env.client, task_queue, workflow_id)
    cached = FeatureFlagActivities(dev_env.client, workflow_id, cache_seconds=60)
    fallback = FeatureFlagActivities(
        dev_env.client, workflow_id, cache_seconds=0, query_timeout=timedelta(seconds=1)
    )
    async with worker(dev_env.client, task_queue, workflow_id):
        await admin.set(SetFlagInput(flag=AUTO, value="on", actor="UOPS"))
        assert (await cached.evaluate_flags(BOB)).value(AUTO_FLAG) is True
        assert (await fallback.evaluate_flags(BOB)).value(AUTO_FLAG) is True
        await admin.set(SetFlagInput(flag=AUTO, value="off", actor="UOPS"))
        # Within the cache window the old answer stands; a fresh reader sees the change.
        assert (await cached.evaluate_flags(BOB)).value(AUTO_FLAG) is True
        assert (await fallback.evaluate_flags(BOB)).value(AUTO_FLAG) is False
    # No worker polls the entity's queue now, so the query cannot be answered: the last flags
    # read keep deciding instead of every review failing.
    assert (await fallback.evaluate_flags(BOB)).value(AUTO_FLAG) is False
    assert "feature flags unreadable" in caplog.text
    # A reader that never got an answer has nothing to fall back on: it fails, so the activity
    # is retried rather than reviewing with made-up flags.
    never_read = FeatureFlagActivities(
        dev_env.client, workflow_id, query_timeout=timedelta(seconds=1)
    )
    with pytest.raises(ApplicationError, match="feature flags unreadable"):
        await never_read.evaluate_flags(BOB)
