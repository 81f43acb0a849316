"""The deploy-time replay gate and the patch report, on the real dev server: histories are
recorded by real workers (current, original and future code), then fetched and replayed."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bot.purchase_service import Submitted
from bot.replay_tools import PatchStatus, ReplayToolError, patch_report, replay_matching
from domain.history_shards import shard_of
from domain.models import PurchaseStatus, Stage
from tests.fixtures.future_workflow import FUTURE_PATCH, FuturePurchaseApprovalWorkflow
from tests.fixtures.original_workflow import OriginalPurchaseApprovalWorkflow
from tests.integration.processes import process_env, run_cli
from tests.integration.world import World, poll_until, running_world
from workflows.purchase_approval import AUTOMATED_REVIEW_PATCH as REVIEW_PATCH
from workflows.purchase_approval import PATCHES
from workflows.purchase_approval import REVIEW_FLAGS_PATCH as FLAGS_PATCH
from workflows.rollout_controller import CONTROLLER_PATCHES

AUTOMATED_REVIEW_PATCH = REVIEW_PATCH.id
REVIEW_FLAGS_PATCH = FLAGS_PATCH.id


def book(world: World) -> tuple[str, str]:
    product = world.product(lambda p: p.category == "books" and p.price < Decimal(100))
    return world.url(product), str(product.price)


async def waiting_request(world: World) -> Submitted:
    """A request by UNICO (no purchase history), waiting for the manager with nothing in flight.

    The stage changes before the manager is asked: waiting for the ask to be recorded too means
    no activity or workflow task is left over when this world's worker stops, for the next
    worker on the queue (maybe with other code) to pick up.
    """
    url, amount = book(world)
    submitted = await world.service.submit(requester="UNICO", url=url, amount=amount)
    request_id = submitted.request.request_id

    async def asked() -> bool:
        status = await world.service.status(request_id)
        return status.stage is Stage.AWAITING_APPROVAL and any(
            entry.action == "approval_requested" for entry in status.audit
        )

    await poll_until(asked, 10, f"request {request_id} to ask its approver")
    return submitted


async def wait_visible(client: Client, query: str, count: int) -> None:
    """Visibility lags the workflows a little: wait until the query sees them all."""

    async def seen() -> bool:
        return (await client.count_workflows(query)).count == count

    await poll_until(seen, 10, f"{count} workflows matching {query}")


def queue(world: World) -> str:
    return f"TaskQueue='{world.settings.task_queue}'"


async def test_histories_of_the_current_code_replay_on_it(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    async with running_world(client, tmp_path) as w:
        await waiting_request(w)
        await w.import_sample_history()
        url, amount = book(w)
        submitted = await w.service.submit(requester="UALICE", url=url, amount=amount)
        result = await w.service.outcome(submitted.request.request_id, wait_seconds=15)
        assert result is not None and result.status is PurchaseStatus.COMPLETED
        assert result.review is not None and result.review.auto_approved
        # A history shard matches too: another type, to be skipped and counted. Its current run
        # only: a shard continues as new after every imported batch.
        shard = w.history.workflow_id(shard_of(f"{w.employee_prefix}E1001"))
        query = f"{queue(w)} OR (WorkflowId='{shard}' AND ExecutionStatus='Running')"
        await wait_visible(client, query, 3)

        summary = await replay_matching(client, query)

        assert (summary.total, summary.replayed_ok, summary.failures) == (2, 2, [])
        assert summary.skipped == {"HistoryShardWorkflow": 1}
        assert summary.ok
        limited = await replay_matching(client, queue(w), limit=1)
        assert (limited.total, limited.replayed_ok) == (1, 1)


async def test_gate_fails_when_code_cannot_replay_the_histories(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Rolling back to the pre-patch code would break requests the patched code started."""
    client = dev_env.client
    async with running_world(client, tmp_path) as w:
        waiting = await waiting_request(w)
        approved = await waiting_request(w)
        await w.service.decide(approved.request.request_id, user="UCARLOS", approve=True)
        await wait_visible(client, f"{queue(w)} AND ExecutionStatus='Completed'", 1)
        await wait_visible(client, queue(w), 2)

        summary = await replay_matching(
            client, queue(w), workflows=(OriginalPurchaseApprovalWorkflow,)
        )

    assert (summary.total, summary.replayed_ok) == (2, 0)
    assert not summary.ok
    assert {f.workflow_id for f in summary.failures} == {
        waiting.workflow_id,
        approved.workflow_id,
    }
    for failure in summary.failures:
        handle = client.get_workflow_handle(failure.workflow_id)
        assert failure.run_id == (await handle.describe()).run_id
        assert "Nondeterminism" in failure.error and AUTOMATED_REVIEW_PATCH in failure.error
        assert "\n" not in failure.error


async def test_invalid_queries_are_refused_clearly(dev_env: WorkflowEnvironment) -> None:
    with pytest.raises(ReplayToolError, match=r"Invalid visibility query .*Bogus"):
        await replay_matching(dev_env.client, "Bogus='x'")
    with pytest.raises(ReplayToolError, match="Invalid visibility query"):
        await patch_report(dev_env.client, extra_filter="WorkflowType =")
    with pytest.raises(ReplayToolError, match="Invalid patch id"):
        await patch_report(dev_env.client, ["x' OR 'a'='a"])


async def test_replay_command_passes_compatible_and_fails_incompatible_histories(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    # Unversioned: workers of two codes take turns on one task queue.
    async with running_world(client, tmp_path / "current", versioned=False) as current:
        compatible = (await waiting_request(current)).workflow_id
        task_queue = current.settings.task_queue
        env = process_env(current.settings, client.service_client.config.target_host)
    query = f"TaskQueue='{task_queue}'"
    await wait_visible(client, query, 1)

    passed = run_cli(env, "replay", "--query", query)

    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.splitlines() == ["Replayed 1 workflow: 1 ok"]

    # A build from the future ran on this queue; the current code must not take over from it.
    async with running_world(
        client,
        tmp_path / "future",
        workflows=(FuturePurchaseApprovalWorkflow,),
        task_queue=task_queue,
        versioned=False,
    ) as future:
        incompatible = (await waiting_request(future)).workflow_id
    await wait_visible(client, query, 2)

    failed = run_cli(env, "replay", "--query", query)

    assert failed.returncode == 1, failed.stderr
    first, *failures = failed.stdout.splitlines()
    assert first == "Replayed 2 workflows: 1 ok, 1 FAILED"
    [line] = failures
    assert incompatible in line and FUTURE_PATCH in line and compatible not in line
    assert "Traceback" not in failed.stdout + failed.stderr

    refused = run_cli(env, "replay", "--query", "Bogus='x'")
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "Invalid visibility query \"Bogus='x'\": invalid query: invalid search attribute: Bogus"
    ]


async def test_patch_report_counts_open_workflows_with_and_without_the_patch(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    # Unversioned: workers of three codes take turns on one task queue.
    async with running_world(
        client, tmp_path / "old", workflows=(OriginalPurchaseApprovalWorkflow,), versioned=False
    ) as old:
        before_patch = await waiting_request(old)  # TemporalChangeVersion never set
        task_queue = old.settings.task_queue
    async with running_world(
        client,
        tmp_path / "future",
        workflows=(FuturePurchaseApprovalWorkflow,),
        task_queue=task_queue,
        versioned=False,
    ) as future:
        await waiting_request(future)  # TemporalChangeVersion holds both patch ids
    only_here = f"TaskQueue='{task_queue}'"
    both = (AUTOMATED_REVIEW_PATCH, FUTURE_PATCH)

    async def report_is(*expected: PatchStatus) -> None:
        async def matches() -> bool:
            return await patch_report(client, both, extra_filter=only_here) == list(expected)

        await poll_until(matches, 10, f"patch report {expected}")

    async with running_world(
        client, tmp_path / "new", task_queue=task_queue, versioned=False
    ) as new:
        await waiting_request(new)  # TemporalChangeVersion == [AUTOMATED_REVIEW_PATCH]
        # Closed workflows do not count, whichever code started them.
        finished = await new.service.submit(
            requester="UNICO", url="https://www.amazon.es/dp/B000000000", amount="10"
        )
        assert await new.service.outcome(finished.request.request_id, wait_seconds=15)

        await report_is(
            PatchStatus(AUTOMATED_REVIEW_PATCH, open_without=1, open_with=2),
            PatchStatus(FUTURE_PATCH, open_without=2, open_with=1),
        )
        # Every patch of the one list is reported, in its order; the old code's request is open.
        report = await patch_report(client, extra_filter=only_here)
        assert [status.patch_id for status in report] == [patch.id for patch in PATCHES]
        assert not any(status.deprecate_safe for status in report)

        # The last request of the old code ends (here cancelled, on the current code).
        await new.service.cancel(before_patch.request.request_id, user="UNICO")
        await report_is(
            PatchStatus(AUTOMATED_REVIEW_PATCH, open_without=0, open_with=2),
            PatchStatus(FUTURE_PATCH, open_without=1, open_with=1),
        )
        report = await patch_report(client, extra_filter=only_here)
        assert all(status.deprecate_safe for status in report)

        env = process_env(new.settings, client.service_client.config.target_host)
        shown = run_cli(env, "patches", "--filter", only_here)

    assert shown.returncode == 0, shown.stderr
    # Every patched workflow's patches, grouped by workflow; no controller runs on this queue.
    assert shown.stdout.splitlines() == [
        f"Open PurchaseApprovalWorkflows matching {only_here}:",
        *[
            line
            for patch in PATCHES
            for line in (
                f"{patch.id}: 0 open without it, 2 open with it; deprecate_patch is safe",
                f"    ({patch.description})",
            )
        ],
        f"Open RolloutControllerWorkflows matching {only_here}:",
        *[
            line
            for patch in CONTROLLER_PATCHES
            for line in (
                f"{patch.id}: 0 open without it, 0 open with it; deprecate_patch is safe",
                f"    ({patch.description})",
            )
        ],
    ]
