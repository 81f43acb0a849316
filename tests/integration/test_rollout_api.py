"""The rollout control API over real HTTP, driving the real controller on the dev server with
two and three builds of one Worker Deployment: what a deploy pipeline does without Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from temporalio.testing import WorkflowEnvironment

from bot.announcements import OpsAnnouncer
from bot.api.app import build_api, mount_api
from bot.api.rollouts import rollout_endpoints
from bot.api.tokens import ApiTokens, Role
from bot.ops_audit import OpsAuditLog
from tests.integration.deployment_world import DeploymentWorld, deployment_world
from tests.integration.slack_world import API_TOKENS, _free_port
from tests.integration.test_rollout_targets import filed_builds
from tests.integration.test_rollouts import results, two_builds
from tests.integration.world import poll_until
from workflows.purchase_approval import PurchaseApprovalWorkflow


class _NotifierAlerts:
    """The ops channel of the deployment world: its recording notifier."""

    def __init__(self, world: DeploymentWorld) -> None:
        self._world = world

    async def send(self, text: str, *, last_try: bool) -> None:
        await self._world.notifier.alert_ops(text, last_try=last_try)


class Pipeline:
    def __init__(self, url: str, audit: OpsAuditLog) -> None:
        self.url = url
        self.audit = audit

    async def call(
        self, method: str, path: str, body: Any = None, token: str | None = API_TOKENS[Role.OPS]
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.url + path, json=body, headers=headers) as response,
        ):
            return response.status, await response.json()


@asynccontextmanager
async def rollout_api(world: DeploymentWorld) -> AsyncIterator[Pipeline]:
    audit = OpsAuditLog(world.client, world.control_task_queue, f"ops-audit-{world.deployment}")
    tokens = ApiTokens.parse(",".join(f"{t}:{role.value}" for role, t in API_TOKENS.items()))
    endpoints = rollout_endpoints(world.admin, OpsAnnouncer(_NotifierAlerts(world)))
    http = web.Application()
    mount_api(http, build_api(tokens, audit, endpoints))
    runner = web.AppRunner(http)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Pipeline(f"http://127.0.0.1:{port}/api", audit)
    finally:
        await runner.cleanup()


async def test_a_pipeline_ramps_promotes_and_rolls_back_over_http(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world, rollout_api(world) as api:
        await two_builds(world)
        ramp_b = {"build_id": "B", "percentage": 30}

        # Refused: no token, an unknown token, a role that may only read.
        assert (await api.call("POST", "/rollout", ramp_b, token=None))[0] == 401
        assert (await api.call("POST", "/rollout", ramp_b, token="x" * 20))[0] == 401
        status, answer = await api.call("POST", "/rollout", ramp_b, API_TOKENS[Role.AUDITOR])
        assert (status, answer["error"]) == (403, "forbidden")
        assert (await api.call("POST", "/rollback", {}, API_TOKENS[Role.INTEGRATION]))[0] == 403
        # Bad input: a percentage out of range, a build with no polling worker.
        status, answer = await api.call("POST", "/rollout", {"build_id": "B", "percentage": 130})
        assert (status, answer["field"]) == (400, "percentage")
        status, answer = await api.call("POST", "/rollout", {"build_id": "nope", "percentage": 5})
        assert status == 400 and "No worker of build 'nope'" in answer["message"]
        assert (await world.admin.deployments.describe()).ramping_build is None

        assert await api.call("POST", "/rollout", ramp_b) == (
            200,
            {"status": "success", "message": "Build `B` now gets 30% of new requests."},
        )
        status, shown = await api.call("GET", "/rollout", token=API_TOKENS[Role.AUDITOR])
        assert status == 200
        assert shown["deployment"]["current_build"] == "A"
        assert (shown["deployment"]["ramping_build"], shown["deployment"]["ramp_percent"]) == (
            "B",
            30,
        )
        assert shown["controller"]["watched_build"] == "B"
        assert shown["controller"]["events"][-1]["actor"] == "api:ops-1"

        status, answer = await api.call("POST", "/rollout/promote", {"build_id": "B"})
        assert status == 200 and "`B` is now current" in answer["message"]
        promoted = await world.start_request()
        await results([promoted])
        assert await world.build_of(promoted.id) == "B"

        # A rollback of a build that is neither current nor ramping is refused, nothing moves.
        status, answer = await api.call("POST", "/rollback", {"build_id": "A", "reason": "x"})
        assert (status, answer["field"]) == (409, "build_id")
        status, answer = await api.call(
            "POST", "/rollback", {"build_id": "B", "reason": "pipeline: smoke test failed"}
        )
        assert status == 200, answer
        assert (answer["status"], answer["build_id"], answer["previous_build_id"]) == (
            "rolled_back",
            "B",
            "A",
        )
        after = await world.start_request()
        await results([after])
        assert await world.build_of(after.id) == "A"

        # A second rollback has nothing to roll back: it must not make B current again.
        status, answer = await api.call("POST", "/rollback", {"reason": "again"})
        assert status == 409 and "Nothing to roll back" in answer["message"], answer
        # The rolled-back build gets traffic again only when that is said explicitly.
        status, answer = await api.call("POST", "/rollout", ramp_b)
        assert status == 400 and "`B` was rolled back" in answer["message"]
        status, answer = await api.call("POST", "/rollout/promote", {"build_id": "B"})
        assert status == 400 and "`B` was rolled back" in answer["message"]
        assert (await api.call("POST", "/rollout", {**ramp_b, "override": True}))[0] == 200
        status, answer = await api.call("POST", "/rollback", {"reason": "still bad"})
        assert (status, answer["build_id"], answer["previous_build_id"]) == (200, "B", "A")
        routing = await world.admin.deployments.describe()
        assert (routing.current_build, routing.ramping_build) == ("A", None)

        alerts = world.notifier.ops_alerts()
        assert any("`api:ops-1` (API): Build `B` now gets 30%" in a for a in alerts)
        assert any("rolled back from build `B` to `A`" in a for a in alerts)
        assert any("pipeline: smoke test failed" in a for a in alerts)
        audited = [(e.actor, e.action, e.detail) for e in await api.audit.entries()]
        rollback = 'POST /api/rollback build_id="B" reason="pipeline: smoke test failed"'
        assert ("api:ops-1", "api_change", rollback) in audited
        assert ("api:auditor-3", "api_change_refused") in [(a, b) for a, b, _ in audited]
        assert ("api:unauthenticated", "api_change_refused") in [(a, b) for a, b, _ in audited]


async def test_a_pipeline_runs_and_controls_a_plan_over_http(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world, rollout_api(world) as api:
        await two_builds(world)
        bad = {"build_id": "B", "steps": [10, 50], "interval": 60}
        status, answer = await api.call("POST", "/rollout/plan", bad)
        assert status == 400 and "end at 100" in answer["message"]
        status, answer = await api.call("POST", "/rollout/pause", {})
        assert status == 409 and "cannot be paused" in answer["message"]

        plan = {"build_id": "B", "steps": [10, 50, 100], "interval": 600}
        status, answer = await api.call("POST", "/rollout/plan", plan)
        assert status == 200 and "Plan started for `B`: 10%, 50%, 100%" in answer["message"]
        for action, state in (("pause", "paused"), ("resume", "running")):
            status, answer = await api.call("POST", f"/rollout/{action}", {"reason": "ci"})
            assert (status, answer["message"]) == (200, f"Plan for `B` is {state}.")
        assert (await api.call("POST", "/rollout/abort", {}))[0] == 200
        assert (await api.call("POST", "/rollout/abort", {}))[0] == 409
        routing = await world.admin.deployments.describe()
        assert (routing.current_build, routing.ramping_build) == ("A", None)
        _, shown = await api.call("GET", "/rollout")
        assert shown["controller"]["plan"]["status"] == "aborted"


async def test_a_pipeline_rolls_out_to_a_department_and_back_over_http(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path) as world, rollout_api(world) as api:
        await two_builds(world)
        for bad in ({"build_id": "B"}, {"build_id": "B", "percentage": 10, "department": "IT"}):
            status, answer = await api.call("POST", "/rollout", bad)
            assert status == 400 and "either `percentage` or `department`" in answer["message"]
        status, answer = await api.call("POST", "/rollout", {"build_id": "B", "department": "It"})
        assert status == 200 and "every new request of department IT" in answer["message"]
        assert await filed_builds(world, ("UNICO", "UBOB"), 2) == ["B", "A"] * 2
        _, shown = await api.call("GET", "/rollout")
        assert shown["controller"]["department"]["build_id"] == "B"

        status, answer = await api.call("POST", "/rollback", {"to_build_id": "nope"})
        assert status == 409 and "No worker of build 'nope'" in answer["message"]
        status, answer = await api.call(
            "POST", "/rollback", {"build_id": "B", "reason": "IT smoke test failed"}
        )
        assert (status, answer["build_id"], answer["previous_build_id"]) == (200, "B", "A")
        assert await filed_builds(world, ("UNICO",), 2) == ["A"] * 2

        async def announced() -> bool:
            return any(
                "`api:ops-1` (API) rolled back from build `B` for department IT to `A`" in a
                for a in world.notifier.ops_alerts()
            )

        await poll_until(announced, 10, "the rollback's ops alert, naming the API caller")
        assert not any("<@api:" in a for a in world.notifier.ops_alerts())

        # A third build: C is promoted, then rolled back to a build named by the pipeline (B,
        # itself rolled back: only with `override`), not to A, where the default would go.
        await world.start_build("C", PurchaseApprovalWorkflow)
        assert (await api.call("POST", "/rollout/promote", {"build_id": "C"}))[0] == 200
        back_to_b = {"to_build_id": "B", "reason": "C breaks Finance"}
        status, answer = await api.call("POST", "/rollback", back_to_b)
        assert status == 409 and "`B` was rolled back" in answer["message"], answer
        assert (await world.admin.deployments.describe()).current_build == "C"
        status, answer = await api.call("POST", "/rollback", {**back_to_b, "override": True})
        assert (status, answer["status"], answer["build_id"], answer["previous_build_id"]) == (
            200,
            "rolled_back",
            "C",
            "B",
        ), answer
        await world.until_new_requests_run_on("B")
        _, shown = await api.call("GET", "/rollout")
        assert shown["deployment"]["current_build"] == "B"
        assert "C" in shown["controller"]["rolled_back_builds"]
        assert "B" not in shown["controller"]["rolled_back_builds"]
        # Where the next rollback would go, as /rollout status shows it: not C (rolled back).
        assert shown["healthy_builds"] == ["B", "A"]
