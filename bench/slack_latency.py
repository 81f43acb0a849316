"""The Slack path, measured: 50 concurrent `/purchase` commands through the signed HTTP path.

- ack latency (p50, p99): from the local workspace sending the signed command to the bot's
  HTTP 200 (Slack's 3-second clock). Target: p99 <= 50 ms.
- end to end (one command at a time, like the floor): from sending the command to the
  auto-approval DM appearing in the requester's DM in the local workspace, against the
  workflow floor measured in the same run (a bare
  workflow with as many trivial regular activities as the auto-approved path has steps, start
  to result). Target: median <= 1.3x the floor median.

One embedded dev server (the setup of `make run`); the worker and the bot run as separate
`purchasebot worker` / `purchasebot bot` processes, the local workspace (the load) here.
`.venv/bin/python -m bench.slack_latency` (also run by `make bench`).
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
from temporalio.worker import Worker

from bench.floor_workflow import FloorInput, FloorWorkflow, floor_step
from bench.support import (
    REPO,
    dev_server,
    enable_auto_approvals,
    free_ports,
    product_env,
    start_process,
    wait_healthy,
)
from bot.temporal_client import connect
from domain.percentiles import nearest_rank
from slack_workspace import LocalSlackWorkspace

CONCURRENT = 50
SEQUENTIAL = 20
WARM_UP = 3
FLOOR_RUNS = 30
# validate, evaluate flags, review, place order, notify
AUTO_APPROVED_STEPS = 5
BOOK = "https://www.amazon.es/dp/1449373321 39.90"
ACK_TARGET_MS = 50.0
END_TO_END_TARGET_RATIO = 1.3


async def floor(client: Client, stack: AsyncExitStack) -> list[float]:
    queue = f"floor-{uuid.uuid4().hex[:6]}"
    await stack.enter_async_context(
        Worker(client, task_queue=queue, workflows=[FloorWorkflow], activities=[floor_step])
    )
    samples = []
    for i in range(FLOOR_RUNS + 5):
        started = time.perf_counter()
        await client.execute_workflow(
            FloorWorkflow.run,
            FloorInput(value="x", regular=AUTO_APPROVED_STEPS),
            id=f"floor-{queue}-{i}",
            task_queue=queue,
        )
        if i >= 5:  # warm-up
            samples.append(time.perf_counter() - started)
    return samples


async def slack_path(
    client: Client, address: str, data: Path, stack: AsyncExitStack
) -> tuple[list[float], list[float], list[float]]:
    """The local workspace (the load) runs here; the bot and the worker run as their own
    processes, as in production, so the load generator does not steal their event loop."""
    port = free_ports(1)[0]
    ws = LocalSlackWorkspace(REPO / "directory.yaml", manifest=REPO / "manifest.yaml")
    await ws.start()
    stack.push_async_callback(ws.stop)
    ws.set_request_url(f"http://127.0.0.1:{port}/slack/events")
    suffix = uuid.uuid4().hex[:6]
    env = product_env(address, data, suffix, ws, deployment_name="")
    env["PORT"] = str(port)
    for role in ("worker", "bot"):
        start_process(role, env, stack)
    await wait_healthy(f"http://127.0.0.1:{port}/health")
    await enable_auto_approvals(client, env["PURCHASEBOT_CONTROL_TASK_QUEUE"])
    dm = ws.dm_channel("UALICE", ws.bot_user_id)

    async def command() -> float:
        started = time.perf_counter()
        result = await ws.send_command("UALICE", "/purchase", BOOK)
        if not result.ok:
            raise RuntimeError(f"the command failed: {result}")
        return time.perf_counter() - started

    async def command_to_dm() -> tuple[float, float]:
        # Only a message that was not there before the command is this command's DM.
        earlier = {m.ts for m in ws.messages(dm)}
        started = time.perf_counter()
        acked = await command()
        await ws.wait_for_message(
            lambda m: m.channel == dm and "auto-approved" in m.text and m.ts not in earlier, 60
        )
        return acked, time.perf_counter() - started

    for _ in range(WARM_UP):
        await command_to_dm()
    concurrent_acks = await asyncio.gather(*(command() for _ in range(CONCURRENT)))
    # Let the burst's workflows finish before timing the path alone.
    await ws.wait_for(
        lambda: sum("auto-approved" in m.text for m in ws.messages(dm)) >= WARM_UP + CONCURRENT, 120
    )
    sequential = [await command_to_dm() for _ in range(SEQUENTIAL)]
    return list(concurrent_acks), [a for a, _ in sequential], [e for _, e in sequential]


async def main() -> None:
    load = os.getloadavg()[0]  # other work on the machine shows up in every figure
    with tempfile.TemporaryDirectory() as tmp:
        async with dev_server(Path(tmp)) as server, AsyncExitStack() as stack:
            client = await connect(server.address, wait_seconds=30)
            floor_samples = await floor(client, stack)
            acks, single_acks, end_to_end = await slack_path(
                client, server.address, Path(tmp) / "data", stack
            )
    floor_median = statistics.median(floor_samples)
    e2e_median = statistics.median(end_to_end)
    ratio = e2e_median / floor_median
    print(
        f"slack benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start, "
        "one embedded dev server; bot and worker in their own processes"
    )
    ack_p99_ms = nearest_rank(acks, 0.99) * 1000
    print(
        f"ack latency of {CONCURRENT} concurrent signed /purchase commands: "
        f"p50 {nearest_rank(acks, 0.5) * 1000:.1f} ms, p99 {ack_p99_ms:.1f} ms "
        f"(target p99 <= {ACK_TARGET_MS:.0f} ms: "
        f"{'PASS' if ack_p99_ms <= ACK_TARGET_MS else 'MISS'})"
    )
    print(
        f"ack latency, one command at a time: median {statistics.median(single_acks) * 1000:.1f} ms"
    )
    print(
        f"command -> auto-approval DM, {SEQUENTIAL} one at a time: "
        f"median {e2e_median * 1000:.0f} ms, p99 {nearest_rank(end_to_end, 0.99) * 1000:.0f} ms"
    )
    print(
        f"workflow floor ({AUTO_APPROVED_STEPS} trivial regular activities, sequential): "
        f"median {floor_median * 1000:.0f} ms"
    )
    print(
        f"end-to-end median / floor median = {ratio:.2f} "
        f"(target <= {END_TO_END_TARGET_RATIO}: "
        f"{'PASS' if ratio <= END_TO_END_TARGET_RATIO else 'MISS'})"
    )


if __name__ == "__main__":
    asyncio.run(main())
