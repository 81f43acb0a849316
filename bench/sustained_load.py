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
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from appconfig.settings import Settings
from bench.support import REPO, start_installation
from bot.history_import import import_history_records, read_history_file
from bot.worker import history_store
from domain.percentiles import nearest_rank
from slack_workspace import LocalSlackWorkspace

BOOK = "https://www.amazon.es/dp/1449373321 39.90"
ACK_TARGET_MS = 50.0
WORKERS = ("worker-1", "worker-2")
PURCHASES = "WorkflowType='PurchaseApprovalWorkflow'"


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def run(rate: float, seconds: float, data: Path, stack: AsyncExitStack) -> None:
    installation = await start_installation(data, stack, WORKERS)
    client, ws = installation.client, installation.ws
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
