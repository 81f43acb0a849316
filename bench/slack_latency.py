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
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from temporalio.client import Client
from temporalio.worker import Worker

from appconfig.settings import Settings
from bench.floor_workflow import FloorInput, FloorWorkflow, floor_step
from bench.support import dev_server, free_ports
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records, read_history_file
from bot.temporal_client import connect
from domain.feature_flags import load_flags_file
from slack_workspace import LocalSlackWorkspace

REPO = Path(__file__).resolve().parents[1]
PURCHASEBOT = Path(sys.executable).parent / "purchasebot"
CONCURRENT = 50
SEQUENTIAL = 20
WARM_UP = 3
FLOOR_RUNS = 30
# validate, evaluate flags, review, place order, notify
AUTO_APPROVED_STEPS = 5
BOOK = "https://www.amazon.es/dp/1449373321 39.90"
ACK_TARGET_MS = 50.0
END_TO_END_TARGET_RATIO = 1.3


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PURCHASEBOT_", "SLACK_"))},
        "TEMPORAL_ADDRESS": address,
        "PURCHASEBOT_DATA_DIR": str(data),
        "PURCHASEBOT_TASK_QUEUE": f"bench-{suffix}",
        "PURCHASEBOT_CONTROL_TASK_QUEUE": f"bench-control-{suffix}",
        "PURCHASEBOT_DEPLOYMENT_NAME": "",
        "SLACK_BOT_TOKEN": ws.bot_token,
        "SLACK_SIGNING_SECRET": ws.signing_secret,
        "SLACK_API_URL": ws.api_url,
        "PORT": str(port),
    }
    for role in ("worker", "bot"):
        process = subprocess.Popen(  # noqa: ASYNC220  # started once, before measuring
            [str(PURCHASEBOT), role], env=env, cwd=REPO, stdout=subprocess.DEVNULL
        )
        stack.callback(_stop, process)
    await _wait_healthy(f"http://127.0.0.1:{port}/health")
    settings = Settings(data_dir=data, control_task_queue=f"bench-control-{suffix}")
    await FlagsAdmin(client, settings.control_task_queue).ensure(
        load_flags_file(REPO / "flags.yaml")
    )
    await import_history_records(
        client, settings, read_history_file(REPO / "sample-history.csv"), imported_by="bench"
    )
    dm = ws.dm_channel("UALICE", ws.bot_user_id)

    async def command() -> float:
        started = time.perf_counter()
        result = await ws.send_command("UALICE", "/purchase", BOOK)
        if not result.ok:
            raise RuntimeError(f"the command failed: {result}")
        return time.perf_counter() - started

    async def command_to_dm() -> tuple[float, float]:
        before = len(ws.messages(dm))
        started = time.perf_counter()
        acked = await command()
        await ws.wait_for_message(
            lambda m: (
                m.channel == dm and "auto-approved" in m.text and len(ws.messages(dm)) > before
            ),
            60,
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


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


async def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the bot did not become healthy at {url}")


async def main() -> None:
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
        "one embedded dev server; bot and worker in their own processes"
    )
    print(
        f"ack latency of {CONCURRENT} concurrent signed /purchase commands: "
        f"p50 {pct(acks, 0.5) * 1000:.1f} ms, p99 {pct(acks, 0.99) * 1000:.1f} ms "
        f"(target p99 <= {ACK_TARGET_MS:.0f} ms: "
        f"{'PASS' if pct(acks, 0.99) * 1000 <= ACK_TARGET_MS else 'MISS'})"
    )
    print(
        f"ack latency, one command at a time: median {statistics.median(single_acks) * 1000:.1f} ms"
    )
    print(
        f"command -> auto-approval DM, {SEQUENTIAL} one at a time: "
        f"median {e2e_median * 1000:.0f} ms, p99 {pct(end_to_end, 0.99) * 1000:.0f} ms"
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
