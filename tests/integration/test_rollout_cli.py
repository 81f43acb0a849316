"""`purchasebot rollout ...` as a deploy pipeline runs it: a real process against the dev server,
three builds of one Worker Deployment, exit codes a pipeline branches on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bot import cli
from bot.replay_tools import replay_matching
from bot.rollout_cli import EXIT_WAIT_TIMED_OUT
from domain.workflow_ids import rollout_controller_id
from tests.fixtures.original_workflow import OriginalPurchaseApprovalWorkflow
from tests.integration.deployment_world import DeploymentWorld, deployment_world
from tests.integration.processes import PURCHASEBOT, process_env
from tests.integration.test_rollout_targets import filed_builds
from tests.integration.test_rollouts import results
from tests.integration.world import make_settings, poll_until
from workflows.purchase_approval import PurchaseApprovalWorkflow


@dataclass(frozen=True)
class Done:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """`purchasebot rollout ...` with the environment a pipeline gives it. `run` is the real
    command in this process (a thread: the controller's worker runs in this test's loop), as
    a process starts in seconds on a loaded machine; `process` runs it as its own process."""

    env: dict[str, str]
    capsys: pytest.CaptureFixture[str]

    async def run(self, *args: str) -> Done:
        self.capsys.readouterr()
        code = await asyncio.to_thread(cli.run, ["rollout", "--actor", "cli:pipeline", *args])
        captured = self.capsys.readouterr()
        return Done(code, captured.out, captured.err)

    async def process(self, *args: str) -> Done:
        process = await asyncio.create_subprocess_exec(
            PURCHASEBOT,
            "rollout",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode is not None
        return Done(process.returncode, out.decode(), err.decode())


@pytest.fixture
def pipeline_env(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[DeploymentWorld, Path], Cli]:
    def configure(world: DeploymentWorld, tmp_path: Path) -> Cli:
        settings = make_settings(tmp_path, "cli", None).model_copy(
            update={
                "control_task_queue": world.control_task_queue,
                "deployment_name": world.deployment,
                "task_queue": world.task_queue,
            }
        )
        env = process_env(settings, world.client.service_client.config.target_host)
        for name, value in env.items():
            if name.startswith(("PURCHASEBOT_", "TEMPORAL_")):
                monkeypatch.setenv(name, value)
        return Cli(env, capsys)

    return configure


async def test_a_pipeline_rolls_out_with_the_cli_across_three_builds(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    pipeline_env: Callable[[DeploymentWorld, Path], Cli],
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world:
        cli_ = pipeline_env(world, tmp_path)
        await world.start_build("A", OriginalPurchaseApprovalWorkflow)
        assert (await cli_.run("promote", "A")).code == 0
        await world.start_build("B", PurchaseApprovalWorkflow)

        # As its own process: one clear line, exit 2, no traceback.
        refused = await cli_.process("--actor", "cli:pipeline", "ramp", "nope", "10")
        assert refused.code == 2 and "No worker of build 'nope'" in refused.err
        assert "Traceback" not in refused.err
        out_of_range = await cli_.run("ramp", "B", "130")
        assert out_of_range.code == 2 and "not a percentage" in out_of_range.err
        timed_out = await cli_.run("ramp", "never", "10", "--wait", "1")
        assert timed_out.code == EXIT_WAIT_TIMED_OUT and "nothing changed" in timed_out.err
        no_plan = await cli_.run("pause")
        assert no_plan.code == 2

        ramped = await cli_.run("ramp", "B", "40")
        assert ramped.code == 0 and "`B` now gets 40%" in ramped.out
        shown = json.loads((await cli_.run("status", "--json")).out)
        assert shown["deployment"]["ramping_build"] == "B"
        assert shown["controller"]["events"][-1]["actor"] == "cli:pipeline"
        assert shown["healthy_builds"] == ["A"]
        assert (await cli_.run("promote", "B")).code == 0

        # The next build is being deployed: --wait blocks until its workers poll.
        waiting = asyncio.create_task(cli_.run("ramp", "C", "10", "--wait", "40"))
        # Proof that --wait blocks: it says so while build C does not exist yet.
        await poll_until(said_waiting(cli_, "C"), 20, "the CLI to wait for build C")
        await world.start_build("C", PurchaseApprovalWorkflow)
        ramped_c = await waiting
        assert ramped_c.code == 0, ramped_c.err
        routing = await world.admin.deployments.describe()
        assert (routing.current_build, routing.ramping_build) == ("B", "C")

        back = await cli_.run("rollback", "--reason", "canary failed")
        assert back.code == 0 and "instead of `C`" in back.out
        after = await world.start_request()
        await results([after])
        assert await world.build_of(after.id) == "B"
        assert any("canary failed" in a for a in world.notifier.ops_alerts())

        text = (await cli_.run("status")).out
        assert "current B" in text and "Ramping" not in text
        events = (await world.admin.status()).controller.events
        assert [e.action for e in events if e.actor == "cli:pipeline"] == [
            "promoted",
            "ramped",
            "promoted",
            "ramped",
            "rolled_back",
        ]

        # The deploy gate replays the controller too, on the controller's class (by its type).
        controller = f"WorkflowId='{rollout_controller_id(world.deployment)}'"
        gate = await replay_matching(world.client, controller)
        assert (gate.total, gate.replayed_ok, gate.skipped) == (1, 1, {})


async def test_a_pipeline_rolls_out_to_one_department_then_back_to_a_named_build(
    dev_env: WorkflowEnvironment,
    tmp_path: Path,
    pipeline_env: Callable[[DeploymentWorld, Path], Cli],
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world:
        cli_ = pipeline_env(world, tmp_path)
        # The first deploy: the pipeline promotes build A while its workers are still starting.
        waiting = asyncio.create_task(cli_.run("promote", "A", "--wait", "40"))
        await poll_until(said_waiting(cli_, "A"), 20, "the CLI to wait for build A")
        await world.start_build("A", PurchaseApprovalWorkflow)
        promoted = await waiting
        assert promoted.code == 0 and "`A` is now current" in promoted.out, promoted.err
        timed_out = await cli_.run("promote", "never", "--wait", "0.5")
        assert timed_out.code == EXIT_WAIT_TIMED_OUT and "nothing changed" in timed_out.err
        await world.start_build("B", PurchaseApprovalWorkflow)
        unknown = await cli_.run("department", "B", "Sales")
        assert unknown.code == 2 and "No one is in department `Sales`" in unknown.err

        # A plan, driven and ended from the pipeline (exit 2 for what is refused).
        bad_steps = await cli_.run("plan", "B", "10,lots")
        assert bad_steps.code == 2 and "not a list of percentages" in bad_steps.err
        planned = await cli_.run("plan", "B", "50,100", "--interval", "600")
        assert planned.code == 0 and "Plan started for `B`: 50%, 100%" in planned.out
        for action, state in (("pause", "paused"), ("resume", "running")):
            done = await cli_.run(action, "--reason", "ci")
            assert (done.code, done.out.strip()) == (0, f"Plan for `B` is {state}."), done
        beside_plan = await cli_.run("department", "B", "marketing")
        assert beside_plan.code == 2 and "abort it first" in beside_plan.err
        assert (await cli_.run("abort")).code == 0
        assert (await cli_.run("abort")).code == 2
        assert (await world.admin.deployments.describe()).ramping_build is None

        first = await cli_.run("department", "B", "marketing")
        assert first.code == 0 and "every new request of department Marketing" in first.out
        # The CLI is another process: this one sees the target within FRESH_FOR_SECONDS.
        world.admin.routing.forget()
        assert await filed_builds(world, ("UBOB", "UALICE"), 2) == ["B", "A"] * 2
        assert "Department rollout: B for Marketing" in (await cli_.run("status")).out

        assert (await cli_.run("promote", "B")).code == 0
        back = await cli_.run("rollback", "--to", "A", "--reason", "finance reports wrong")
        assert back.code == 0 and "on `A` instead of `B`" in back.out
        world.admin.routing.forget()
        assert await filed_builds(world, ("UBOB", "UALICE"), 1) == ["A", "A"]
        alerts = world.notifier.ops_alerts()
        assert any("`cli:pipeline` (CLI) rolled back from build `B` to `A`" in a for a in alerts)
        assert not any("<@cli:" in a for a in alerts)


def said_waiting(cli_: Cli, build: str) -> Callable[[], Awaitable[bool]]:
    """Whether the running `--wait` command said it waits for `build`'s workers."""
    said: list[str] = []

    async def waits() -> bool:
        said.append(cli_.capsys.readouterr().err)
        return f"for a worker of build '{build}' to poll" in "".join(said)

    return waits
