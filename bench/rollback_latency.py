"""How fast a rollback takes effect, as ops trigger it: a signed `/rollback` through the bot.

One embedded dev server (the setup of `make run`); the local Slack workspace (it sends the
commands) runs here; the bot (`purchasebot bot`) and three builds of one Worker Deployment
(`purchasebot worker`) run as their own processes, as deployed.

1. `/rollback` to the first NEW request on the previous build: from the local workspace sending
   Olivia's signed `/rollback` in #purchasing-ops to the bot over HTTP, until a request started
   after that is seen running on the previous build (target: <= 2 s); new requests are started
   back to back meanwhile. ROUNDS rounds, each a few seconds after the promotion it undoes.
2. `POST /api/rollback` to the first NEW request on the previous build: the same, as a deploy
   pipeline triggers it: an HTTP call to the bot with an `ops` bearer token (checked, audited in
   the ops audit trail, announced by the controller); target: median <= 1 s.
3. `POST /api/rollback` of a department rollout to the first NEW request of that department on
   the current build: `POST /api/rollout {"build_id": "B", "department": "IT"}` first, then the
   rollback; requests are filed here, in another process than the bot, as the CLI files them:
   this process sees the target end within `FRESH_FOR_SECONDS` (1 s) of its re-read.
4. First failing health check to the automatic rollback: a build started with the product's own
   fault injection (`PURCHASEBOT_FAIL_ORDERS`: its store refuses every order, as
   `make second-build FAIL=1`) is ramped to 50 % while auto-approved requests flow; the monitor
   checks every CHECK_INTERVAL s and rolls back after FAILURE_LIMIT failed checks in a row; the
   times come from the controller's own audit events.

`.venv/bin/python -m bench.rollback_latency` (also run by `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from temporalio.client import Client

from appconfig.files import ReloadingFile
from bench import support
from bench.support import REPO
from bot.department_routing import DepartmentRouting
from bot.purchase_service import PurchaseService
from bot.rollout_admin import RolloutAdmin
from bot.temporal_client import connect
from domain.directory import Directory
from domain.rollout_models import Thresholds
from slack_workspace import LocalSlackWorkspace

ROUNDS = 5
CHECK_INTERVAL = 1.0
MIN_SAMPLE = 3
FAILURE_LIMIT = 3
ROLLBACK_TARGET_SECONDS = 2.0
API_ROLLBACK_TARGET_SECONDS = 1.0
API_TOKEN = f"bench-{uuid.uuid4().hex}"  # a fresh ops token for this run's bot only
SETTLE_SECONDS = 3.0
OPS_PERSON, OPS_CHANNEL = "UOLIVIA", "purchasing-ops"
INVALID_PRODUCT = "https://www.amazon.es/dp/B000000000"  # completes fast (rejected)
BOOK, BOOK_PRICE = "https://www.amazon.es/dp/1449373321", "39.90"  # auto-approved for Alice


class Bench:
    def __init__(self, client: Client, address: str, data: Path, stack: AsyncExitStack) -> None:
        self.client = client
        self.address = address
        self.data = data
        self.stack = stack
        self.suffix = uuid.uuid4().hex[:6]
        self.deployment = f"bench-{self.suffix}"
        self.port = support.free_ports(1)[0]
        self.ws = LocalSlackWorkspace(
            REPO / "directory.yaml", commands=("/rollback",), manifest=REPO / "manifest.yaml"
        )
        self.env: dict[str, str] = {}
        self.admin = RolloutAdmin(
            client,
            control_task_queue=f"bench-control-{self.suffix}",  # as `product_env` names it
            deployment_name=self.deployment,
            # The same monitor settings as the bot's (whoever is first creates the controller).
            thresholds=Thresholds(
                check_interval_seconds=CHECK_INTERVAL,
                min_sample=MIN_SAMPLE,
                failure_limit=FAILURE_LIMIT,
            ),
        )
        directory = ReloadingFile(REPO / "directory.yaml", Directory)
        self.service = PurchaseService(client, directory, task_queue=f"bench-{self.suffix}")
        # As another process files requests during a department rollout (the CLI, a second bot).
        self.routed = PurchaseService(
            client,
            directory,
            task_queue=f"bench-{self.suffix}",
            routing=DepartmentRouting(client, self.deployment),
        )

    async def start_bot(self) -> None:
        await self.ws.start()
        self.stack.push_async_callback(self.ws.stop)
        self.ws.invite_bot(OPS_CHANNEL)  # as ops do once, so the monitor's alerts reach them
        self.ws.set_request_url(f"http://127.0.0.1:{self.port}/slack/events")
        self.env = support.product_env(
            self.address,
            self.data,
            self.suffix,
            self.ws,
            deployment_name=self.deployment,
            monitor_interval_seconds=f"{CHECK_INTERVAL:g}",
            monitor_min_sample=str(MIN_SAMPLE),
            monitor_failure_limit=str(FAILURE_LIMIT),
        )
        bot_env = {**self.env, "PORT": str(self.port), "PURCHASEBOT_API_TOKENS": f"{API_TOKEN}:ops"}
        support.start_process("bot", bot_env, self.stack)
        await support.wait_healthy(f"http://127.0.0.1:{self.port}/health")

    async def build(self, build_id: str, *, fail_orders: bool = False) -> None:
        """A `purchasebot worker` of this build; the first one becomes current by itself."""
        env = {**self.env, "PURCHASEBOT_BUILD_ID": build_id}
        if fail_orders:  # fault injection: refused unless the process runs in demo mode
            env |= {"PURCHASEBOT_FAIL_ORDERS": "true", "PURCHASEBOT_MODE": "demo"}
        support.start_process("worker", env, self.stack)
        deadline = time.monotonic() + 60
        while not (await self.admin.deployments.describe()).knows(build_id):
            if time.monotonic() > deadline:
                raise RuntimeError(f"build {build_id} never polled")
            # The server learns of a build from its first poll. Gently: the server limits the
            # requests per deployment, and the new worker is asking about it too.
            await asyncio.sleep(0.5)

    async def build_of_new_request(self, service: PurchaseService | None = None) -> str:
        """Nico's new request (IT): the build it runs on."""
        service = service or self.service
        submitted = await service.submit(requester="UNICO", url=INVALID_PRODUCT, amount="10")
        handle = self.client.get_workflow_handle(submitted.workflow_id)
        while True:  # the build is known once the first workflow task ran
            info = (await handle.describe()).raw_description.workflow_execution_info
            build = info.versioning_info.deployment_version.build_id
            if build:
                return build
            await asyncio.sleep(0.01)

    async def slash_rollback(self) -> None:
        """Olivia types `/rollback` in the ops channel; returns once she sees the bot's answer."""
        earlier = {m.ts for m in self.ws.ephemeral_messages(OPS_PERSON)}
        acked = await self.ws.send_command(OPS_PERSON, "/rollback", "benchmark", OPS_CHANNEL)
        if not acked.ok:
            raise RuntimeError(f"/rollback was not acknowledged: {acked}")
        answer = await self.ws.wait_for_message(
            lambda m: m.ephemeral_to == OPS_PERSON and m.ts not in earlier, 30
        )
        shown = json.dumps(answer.blocks)
        if "Rolled back" not in shown:
            raise RuntimeError(f"/rollback did not roll back: {shown}")

    async def api(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{self.port}/api/{path}",
                json=body,
                headers={"Authorization": f"Bearer {API_TOKEN}"},
            ) as response,
        ):
            return response.status, await response.json()

    async def api_rollback(self) -> None:
        """A pipeline calls `POST /api/rollback`; returns once it has the answer."""
        status, answer = await self.api("rollback", {"build_id": "B", "reason": "benchmark"})
        if status != 200 or answer.get("previous_build_id") != "A":
            raise RuntimeError(f"/api/rollback did not roll back: {status} {answer}")


async def department_rollback_to_first_request(bench: Bench) -> list[float]:
    """B rolled out to IT through the API, then rolled back through the API: until Nico's (IT)
    next new request, filed in this process, runs on A again."""
    samples = []
    for _ in range(ROUNDS):
        it_only = {"build_id": "B", "department": "IT", "override": True}
        status, answer = await bench.api("rollout", it_only)
        if status != 200:
            raise RuntimeError(f"the department rollout was refused: {status} {answer}")
        deadline = time.monotonic() + 10
        while await bench.build_of_new_request(bench.routed) != "B":
            if time.monotonic() > deadline:
                raise RuntimeError("IT's new requests never reached B")
        await asyncio.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        rollback = asyncio.create_task(bench.api_rollback())
        while await bench.build_of_new_request(bench.routed) != "A":
            pass
        samples.append(time.perf_counter() - started)
        await rollback
    return samples


async def rollback_to_first_request(
    bench: Bench, rollback_by: Callable[[], Coroutine[Any, Any, None]]
) -> list[float]:
    """`rollback_by`: how ops trigger it (Slack's /rollback, or the HTTP API)."""
    samples = []
    for _ in range(ROUNDS):
        await bench.admin.promote("B", "bench", override=True)  # rolled back each round
        if await bench.build_of_new_request() != "B":
            raise RuntimeError("the promotion of B did not take effect")
        # Rollbacks come long after the last routing change; right after one, the server is
        # still propagating it (describe then takes ~1 s), which is not what we measure.
        await asyncio.sleep(SETTLE_SECONDS)
        started = time.perf_counter()
        rollback = asyncio.create_task(rollback_by())
        while await bench.build_of_new_request() != "A":
            pass
        samples.append(time.perf_counter() - started)
        await rollback
    return samples


async def failing_check_to_rollback(bench: Bench) -> float:
    await support.enable_auto_approvals(bench.client, bench.env["PURCHASEBOT_CONTROL_TASK_QUEUE"])
    await bench.build("broken", fail_orders=True)
    await bench.admin.ramp("broken", 50, "bench")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await bench.service.submit(requester="UALICE", url=BOOK, amount=BOOK_PRICE)
        events = (await bench.admin.status()).controller.events
        failed = [e.at for e in events if e.action == "health_check_failed"]
        rolled = [e.at for e in events if e.action == "rolled_back" and e.actor == "monitor"]
        if len(failed) >= FAILURE_LIMIT and rolled:
            return (rolled[-1] - failed[-FAILURE_LIMIT]).total_seconds()
        await asyncio.sleep(0.1)
    raise RuntimeError("the monitor did not roll back within 120 s")


async def main() -> None:
    load = os.getloadavg()[0]  # other work on the machine shows up in every figure
    with tempfile.TemporaryDirectory() as tmp:
        async with support.dev_server(Path(tmp)) as server, AsyncExitStack() as stack:
            client = await connect(server.address, wait_seconds=30)
            bench = Bench(client, server.address, Path(tmp) / "data", stack)
            await bench.start_bot()
            await bench.build("A")
            await bench.build("B")
            rollbacks = await rollback_to_first_request(bench, bench.slash_rollback)
            api_rollbacks = await rollback_to_first_request(bench, bench.api_rollback)
            department_rollbacks = await department_rollback_to_first_request(bench)
            automatic = await failing_check_to_rollback(bench)
    median = statistics.median(rollbacks)
    print(
        f"rollback benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores,"
        f" load average {load:.1f} at the start; one embedded dev server (SQLite file); the bot"
        " and three worker builds in their own processes"
    )
    print(
        f"signed /rollback -> first new request on the previous build: "
        f"median {median * 1000:.0f} ms, max {max(rollbacks) * 1000:.0f} ms over "
        f"{len(rollbacks)} rounds (target <= {ROLLBACK_TARGET_SECONDS:.0f} s: "
        f"{'PASS' if max(rollbacks) <= ROLLBACK_TARGET_SECONDS else 'MISS'})"
    )
    api_median = statistics.median(api_rollbacks)
    print(
        f"POST /api/rollback (ops token, audited) -> first new request on the previous build: "
        f"median {api_median * 1000:.0f} ms, max {max(api_rollbacks) * 1000:.0f} ms over "
        f"{len(api_rollbacks)} rounds (target median <= {API_ROLLBACK_TARGET_SECONDS:.0f} s: "
        f"{'PASS' if api_median <= API_ROLLBACK_TARGET_SECONDS else 'MISS'})"
    )
    dept_median = statistics.median(department_rollbacks)
    print(
        f"POST /api/rollback of a department rollout -> first new request of the department on "
        f"the current build, filed in another process than the bot: median "
        f"{dept_median * 1000:.0f} ms, max {max(department_rollbacks) * 1000:.0f} ms over "
        f"{len(department_rollbacks)} rounds"
    )
    print(
        f"first failing health check -> automatic rollback: {automatic:.2f} s "
        f"(checks every {CHECK_INTERVAL:g} s, rollback after {FAILURE_LIMIT} failed in a row)"
    )


if __name__ == "__main__":
    asyncio.run(main())
