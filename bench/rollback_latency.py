"""How fast a rollback takes effect, on one embedded dev server (the setup of `make run`).

1. `/rollback` to the first NEW request running on the previous build: the time from calling
   the controller's `rollback` Update (what /rollback does) until a request started after it
   is seen running on the old build (target: <= 2 s); new requests are started back to back
   while the rollback runs. Repeated ROUNDS times, each a few seconds after the promotion.
2. First failing health check to the automatic rollback: a broken build is ramped to 50 % with
   the monitor checking every CHECK_INTERVAL s and rolling back after FAILURE_LIMIT failed
   checks; the times come from the controller's own audit events.

`.venv/bin/python -m bench.rollback_latency` (also run by `make bench`).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion

from activities.notifier import RecordingNotifier
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from bench.support import dev_server
from bot.purchase_service import PurchaseService
from bot.rollout_admin import RolloutAdmin
from bot.temporal_client import connect
from bot.worker import (
    build_activities,
    build_control_activities,
    build_control_worker,
    build_worker,
)
from domain.directory import Directory
from domain.rollout_models import Thresholds
from tests.fixtures.failing_workflow import FailingPurchaseApprovalWorkflow
from workflows.purchase_approval import PurchaseApprovalWorkflow

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 5
CHECK_INTERVAL = 1.0
FAILURE_LIMIT = 3
ROLLBACK_TARGET_SECONDS = 2.0
SETTLE_SECONDS = 3.0
INVALID_PRODUCT = "https://www.amazon.es/dp/B000000000"  # completes fast (rejected)


class Bench:
    def __init__(self, client: Client, data: Path, stack: AsyncExitStack) -> None:
        self.client = client
        self.stack = stack
        self.deployment = f"bench-{uuid.uuid4().hex[:6]}"
        self.settings = Settings(
            rules=REPO / "rules.yaml",
            catalog=REPO / "catalog.yaml",
            directory=REPO / "directory.yaml",
            data_dir=data,
            task_queue=f"bench-{self.deployment}",
            control_task_queue=f"bench-control-{self.deployment}",
        )
        notifier = RecordingNotifier(self.settings.notifications_db)
        self.activities = build_activities(client, self.settings, notifier)
        self.control_activities = build_control_activities(client, self.deployment, notifier)
        self.admin = RolloutAdmin(
            client,
            control_task_queue=self.settings.control_task_queue,
            deployment_name=self.deployment,
            thresholds=Thresholds(
                check_interval_seconds=CHECK_INTERVAL, min_sample=3, failure_limit=FAILURE_LIMIT
            ),
        )
        directory = ReloadingFile(self.settings.directory, Directory)
        self.service = PurchaseService(client, directory, task_queue=self.settings.task_queue)

    async def start(self) -> None:
        await self.stack.enter_async_context(
            build_control_worker(
                self.client, self.settings.control_task_queue, self.control_activities
            )
        )

    async def build(self, build_id: str, workflow: type) -> None:
        worker = build_worker(
            self.client,
            self.activities,
            task_queue=self.settings.task_queue,
            workflows=[workflow],
            deployment=WorkerDeploymentVersion(self.deployment, build_id),
        )
        await self.stack.enter_async_context(worker)
        while not (await self.admin.deployments.describe()).knows(build_id):  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the server learns of a build from its first poll

    async def build_of_new_request(self) -> str:
        submitted = await self.service.submit(requester="UNICO", url=INVALID_PRODUCT, amount="10")
        handle = self.client.get_workflow_handle(submitted.workflow_id)
        while True:  # the build is known once the first workflow task ran
            info = (await handle.describe()).raw_description.workflow_execution_info
            build = info.versioning_info.deployment_version.build_id
            if build:
                return build
            await asyncio.sleep(0.01)


async def rollback_to_first_request(bench: Bench) -> list[float]:
    await bench.build("A", PurchaseApprovalWorkflow)
    await bench.build("B", PurchaseApprovalWorkflow)
    await bench.admin.promote("A", "bench")
    samples = []
    for _ in range(ROUNDS):
        await bench.admin.promote("B", "bench")
        assert await bench.build_of_new_request() == "B"
        # Rollbacks come long after the last routing change; right after one, the server is
        # still propagating it (describe then takes ~1 s), which is not what we measure.
        await asyncio.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        rollback = asyncio.create_task(bench.admin.rollback("bench", "benchmark"))
        while await bench.build_of_new_request() != "A":
            pass
        samples.append(time.perf_counter() - started)
        await rollback
    return samples


async def failing_check_to_rollback(bench: Bench) -> float:
    await bench.build("broken", FailingPurchaseApprovalWorkflow)
    await bench.admin.ramp("broken", 50, "bench")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await bench.service.submit(requester="UNICO", url=INVALID_PRODUCT, amount="10")
        events = (await bench.admin.status()).controller.events
        failed = [e.at for e in events if e.action == "health_check_failed"]
        rolled = [e.at for e in events if e.action == "rolled_back" and e.actor == "monitor"]
        if failed and rolled:
            return (rolled[-1] - failed[-FAILURE_LIMIT]).total_seconds()
        await asyncio.sleep(0.1)
    raise RuntimeError("the monitor did not roll back within 120 s")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with dev_server(Path(tmp)) as server, AsyncExitStack() as stack:
            bench = Bench(await connect(server.address, wait_seconds=30), Path(tmp) / "data", stack)
            await bench.start()
            rollbacks = await rollback_to_first_request(bench)
            automatic = await failing_check_to_rollback(bench)
    median = statistics.median(rollbacks)
    print(
        f"rollback benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores,"
        " one embedded dev server (SQLite file), workers in this process"
    )
    print(
        f"/rollback -> first new request on the previous build: median {median * 1000:.0f} ms, "
        f"max {max(rollbacks) * 1000:.0f} ms over {len(rollbacks)} rounds "
        f"(target <= {ROLLBACK_TARGET_SECONDS:.0f} s: "
        f"{'PASS' if max(rollbacks) <= ROLLBACK_TARGET_SECONDS else 'MISS'})"
    )
    print(
        f"first failing health check -> automatic rollback: {automatic:.2f} s "
        f"(checks every {CHECK_INTERVAL:g} s, rollback after {FAILURE_LIMIT} failed in a row)"
    )


if __name__ == "__main__":
    asyncio.run(main())
