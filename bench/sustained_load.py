"""Sustained Slack load on the production shape: 20 signed `/purchase` commands per second for
30 s, open loop (each is sent on schedule whether or not the earlier ones are done).

- ack latency (p50, p99, max) of every command: from the local workspace sending the signed
  request to the bot's HTTP 200 (Slack's 3-second clock). Target: p99 <= 50 ms.
- every command started exactly one request and none was lost: each command's "filed" answer
  names a distinct request id, the server holds exactly that many purchase workflows, and every
  one of them completes (auto-approved and ordered).

One embedded dev server on a SQLite file (the setup of `make run`); `purchasebot bot` and two
`purchasebot worker` processes in production mode, each with its own data directory, exactly as
deployed; the local workspace (the load, and the Slack Web API the bot answers through) here.
`.venv/bin/python -m bench.sustained_load [--rate 20] [--seconds 30]` (also run by `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from temporalio.client import Client

from appconfig.settings import Settings
from bench.support import dev_server, free_ports
from bot.history_import import import_history_records, read_history_file
from bot.slack.app import slash_commands
from bot.temporal_client import connect
from bot.worker import history_store
from domain.percentiles import nearest_rank
from slack_workspace import LocalSlackWorkspace

REPO = Path(__file__).resolve().parents[1]
PURCHASEBOT = Path(sys.executable).parent / "purchasebot"
BOOK = "https://www.amazon.es/dp/1449373321 39.90"
ACK_TARGET_MS = 50.0
WORKERS = ("worker-1", "worker-2")
PURCHASES = "WorkflowType='PurchaseApprovalWorkflow'"


def production_env(address: str, ws: LocalSlackWorkspace, port: int) -> dict[str, str]:
    outside = ("PURCHASEBOT_", "TEMPORAL_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update(
        TEMPORAL_ADDRESS=address,
        SLACK_BOT_TOKEN=ws.bot_token,
        SLACK_SIGNING_SECRET=ws.signing_secret,
        SLACK_API_URL=ws.api_url,
        PORT=str(port),
        HOST="127.0.0.1",
    )
    return env


def start(role: str, env: dict[str, str], data: Path) -> subprocess.Popen[bytes]:
    data.mkdir(parents=True, exist_ok=True)
    with (data / "output.txt").open("ab") as out:
        return subprocess.Popen(
            [str(PURCHASEBOT), role],
            env={**env, "PURCHASEBOT_DATA_DIR": str(data)},
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


def printed(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


async def wait_for_output(process: subprocess.Popen[bytes], path: Path, text: str) -> None:
    deadline = time.monotonic() + 90
    while text not in printed(path):  # a file, polled with a deadline
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path.parent.name} never said {text!r}:\n{printed(path)}")
        await asyncio.sleep(0.2)


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def run(rate: float, seconds: float, data: Path, stack: AsyncExitStack) -> None:
    server = await stack.enter_async_context(dev_server(data))
    client = await connect(server.address, wait_seconds=30)
    ws = LocalSlackWorkspace(
        REPO / "directory.yaml", commands=slash_commands(), manifest=REPO / "manifest.yaml"
    )
    await ws.start()
    stack.push_async_callback(ws.stop)
    (port,) = free_ports(1)
    ws.set_request_url(f"http://127.0.0.1:{port}/slack/events")
    env = production_env(server.address, ws, port)
    bot = start("bot", env, data / "bot")
    stack.callback(stop, bot)
    workers = {name: start("worker", env, data / name) for name in WORKERS}
    for process in workers.values():
        stack.callback(stop, process)
    await wait_ready(f"http://127.0.0.1:{port}/readyz")
    for name, process in workers.items():
        await wait_for_output(process, data / name / "output.txt", "Worker polling")
    settings = Settings(data_dir=data / "bench")
    records = read_history_file(REPO / "sample-history.csv")
    await import_history_records(history_store(client, settings), records, imported_by="bench")
    # One command end to end first: everything is warm and Alice's history is visible.
    await ws.send_command("UALICE", "/purchase", BOOK)
    dm = ws.dm_channel("UALICE", ws.bot_user_id)
    await ws.wait_for(lambda: any("auto-approved" in m.text for m in ws.messages(dm)), 60)
    before = await count(client, PURCHASES)

    total = int(rate * seconds)
    acks: list[float] = [0.0] * total
    failures: list[str] = []

    async def command(i: int) -> None:
        sent = time.perf_counter()
        result = await ws.send_command("UALICE", "/purchase", BOOK)
        acks[i] = time.perf_counter() - sent
        if not result.ok or result.status != 200:
            failures.append(f"command {i}: {result.status} {result.error}")

    started = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(command(i)))
    await asyncio.gather(*tasks)
    sending = time.perf_counter() - started

    # Polled once a second, not on every workspace change: with thousands of messages a check
    # per change would make the load generator itself the bottleneck.
    deadline = time.monotonic() + 600
    completed = f"{PURCHASES} AND ExecutionStatus='Completed'"
    while True:
        filed = _filed_ids(ws)
        done = await count(client, completed)
        if (len(filed) > total and done >= before + total) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    drained = time.perf_counter() - started
    workflows = await count(client, PURCHASES)

    p50, p99 = nearest_rank(acks, 0.5) * 1000, nearest_rank(acks, 0.99) * 1000
    print(
        f"sustained load — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, one "
        "embedded dev server; bot and two workers as their own processes (production mode)"
    )
    print(
        f"{total} signed /purchase commands at {rate:g}/s over {sending:.1f} s: ack p50 "
        f"{p50:.1f} ms, p99 {p99:.1f} ms, max {max(acks) * 1000:.1f} ms "
        f"(target p99 <= {ACK_TARGET_MS:.0f} ms: {'PASS' if p99 <= ACK_TARGET_MS else 'MISS'})"
    )
    started_once = len(set(filed)) == len(filed) == total + 1 and workflows == before + total
    errors = [m.text for m in ws.ephemeral_messages("UALICE") if "filed" not in m.text]
    print(
        f"requests filed {len(set(filed)) - 1} (distinct ids), answered with an error "
        f"{len(errors)}, purchase workflows started "
        f"{workflows - before}, completed {done - before} of {total} within "
        f"{drained:.0f} s of the first command; failed acks {len(failures)}: "
        f"{'PASS' if started_once and done == before + total and not failures else 'MISS'}"
    )
    for failure in failures[:10]:
        print("  " + failure)
    for error in sorted(set(errors))[:5]:
        print(f"  error answer ({errors.count(error)}x): {error[:150]}")


def _filed_ids(ws: LocalSlackWorkspace) -> list[str]:
    return [
        m.text.split("`")[1]
        for m in ws.ephemeral_messages("UALICE")
        if "filed" in m.text and "`" in m.text
    ]


async def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rate", type=float, default=20.0, help="commands per second")
    args.add_argument("--seconds", type=float, default=30.0)
    args.add_argument("--keep", type=Path, help="keep the processes' data and logs in this folder")
    options = args.parse_args()
    with tempfile.TemporaryDirectory(prefix="purchasebot-load-") as tmp:
        async with AsyncExitStack() as stack:
            await run(options.rate, options.seconds, options.keep or Path(tmp), stack)


if __name__ == "__main__":
    asyncio.run(main())
