"""`purchasebot audit export` and `audit ops` as a person runs them (a real process against the
dev server, with the product's workers answering the trails' queries); the export round-trips."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from bot.insight.audit_export import decision_trails, read_csv, read_jsonl
from bot.ops_audit import OpsAuditLog
from domain.actors import AUTOMATED_SYSTEM
from domain.models import CodePath, PurchaseStatus, Stage
from entities.ops_audit import OPS_AUDIT_WORKFLOW_ID
from tests.integration.processes import process_env, run_cli
from tests.integration.test_purchase_paths import cheap, price_of
from tests.integration.world import poll_until, running_world


async def test_the_export_round_trips_every_decision_trail(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(dev_env.client, tmp_path) as world:
        # The period starts once this world runs: requests another test (the previous module
        # on this process) started just before, whose workers are gone, cannot be queried for
        # their trail and must not fall in the period (1 s earlier, one did under load).
        since = datetime.now(UTC)
        await world.import_sample_history()
        url = cheap(world, "books")
        auto = await world.service.submit(requester="UALICE", url=url, amount=price_of(world, url))
        manual = await world.service.submit(requester="UNICO", url=url, amount=price_of(world, url))
        manual_id = manual.request.request_id
        await world.wait_for_stage(manual_id, Stage.AWAITING_APPROVAL)
        await world.service.decide(manual_id, user="UCARLOS", approve=False, reason="not now")
        for submitted in (auto, manual):
            result = await world.service.outcome(submitted.request.request_id, wait_seconds=15)
            assert result is not None
        until = datetime.now(UTC) + timedelta(seconds=1)
        ids = {auto.request.request_id, manual_id}

        async def both_visible() -> bool:
            trails = await decision_trails(dev_env.client, since, until)
            return {t.request_id for t in trails} >= ids

        await poll_until(both_visible, 10, "both requests visible to the export")
        expected = await decision_trails(dev_env.client, since, until)
        env = process_env(world.settings, dev_env.client.service_client.config.target_host)
        window = ["--since", since.isoformat(), "--until", until.isoformat()]
        exported = {}
        for fmt in ("csv", "jsonl"):
            out = tmp_path / f"trails.{fmt}"
            done = await asyncio.to_thread(
                run_cli, env, "audit", "export", *window, "--format", fmt, "--out", str(out)
            )
            assert done.returncode == 0, done.stderr
            exported[fmt] = out.read_text()
        marker = f"audit-test-{uuid.uuid4().hex[:8]}"
        await own_the_ops_audit_log(dev_env.client)
        await OpsAuditLog(dev_env.client, world.settings.control_task_queue).record(
            "UOLIVIA", "flag_changed", marker
        )
        ops = await asyncio.to_thread(run_cli, env, "audit", "ops")
        refused = await asyncio.to_thread(run_cli, env, "audit", "export", "--since", "yesterday")
        backwards = await asyncio.to_thread(
            run_cli, env, "audit", "export", "--since", "2026-12-02", "--until", "2026-12-01"
        )

    assert read_jsonl(exported["jsonl"]) == expected
    assert read_csv(exported["csv"]) == expected
    trails = {t.request_id: t for t in expected if t.request_id in ids}
    auto_trail, manual_trail = trails[auto.request.request_id], trails[manual_id]
    assert auto_trail.build_id and auto_trail.build_id == manual_trail.build_id
    assert auto_trail.stage == PurchaseStatus.COMPLETED.value
    approved = [e for e in auto_trail.entries if e.action == "auto_approved"]
    assert [e.actor for e in approved] == [AUTOMATED_SYSTEM]
    assert approved[0].code_path is CodePath.PATCHED and approved[0].rules_version
    rejected = [e for e in manual_trail.entries if e.actor == "UCARLOS"]
    assert rejected and "not now" in " ".join(e.detail for e in rejected)
    assert manual_trail.stage == PurchaseStatus.REJECTED.value
    assert "UOLIVIA flag_changed: " + marker in ops.stdout, ops.stderr
    assert refused.returncode == 2 and "--since `yesterday` is not an ISO date" in refused.stderr
    assert backwards.returncode == 2 and "must be after --since" in backwards.stderr


async def own_the_ops_audit_log(client: Client) -> None:
    """The ops audit log has one id per namespace (`audit ops` reads it): a module that ran
    before on this session's server (the rollout CLI's) may have started it on a control task
    queue whose worker is gone, and `audit ops` then waited 30 s for an answer and failed. End
    that one, so this test's record starts a log on this world's queue."""
    try:
        await client.get_workflow_handle(OPS_AUDIT_WORKFLOW_ID).terminate("another test's log")
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise
