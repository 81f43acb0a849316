"""`GET /api/dashboard` over 100,000 requests in the period: p95 <= 1 s.

One run, its own Temporal dev server (in memory, or on `--db FILE`: SQLite's WAL without
waiting for the disk, kept, so a later run reuses its requests and produces only the rest), the
local Slack workspace, and `purchasebot bot` plus `purchasebot worker` as processes in
production mode, as deployed. The period asked is the dashboard's default, the last 30 days.

0. with `--db` holding requests already: the bot's start to its first answer (its projection
   read from Temporal);
1. produces the `--requests` closed purchase requests not there yet
   (bench/dashboard_requests.py: real executions of the purchase workflow's type, input and
   result, completed by a stand-in workflow in this process, eagerly started), asking the
   bot's dashboard every `--chunk` requests meanwhile, as a bot in service would be asked (its
   projection catches up as it goes);
2. `--calls` rounds, sequential, each in turn: the dashboard over the whole period (every
   request), the dashboard for one department (a quarter of them), and the floor: one
   visibility count of the period's requests (`count_workflows`), the least any answer about
   them must ask Temporal. Every dashboard answer must count exactly the requests produced;
3. unless `--skip-cold`: a second `purchasebot bot` process started afresh, timed from its
   start to its first dashboard answer (its projection built from Temporal: every request
   read), and its resident memory then;
4. the first bot stopped and started again on its own data directory, timed from its start to
   its first answer (its projection from its snapshot, then caught up), and its memory then.

`.venv/bin/python -m bench.dashboard [--requests 100000] [--calls 30] [--db FILE] [--skip-cold]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.dashboard_requests import DEPARTMENTS, SyntheticPurchase, start_requests
from bench.support import (
    REPO,
    free_ports,
    production_env,
    start_logged,
    stop,
    wait_for_output,
    wait_healthy,
)
from bot.dev_server import CLI_TYPES, temporal_binary
from bot.insight.projection import RequestsProjection
from bot.insight.source import period_query
from bot.slack.app import slash_commands
from domain.percentiles import nearest_rank
from domain.workflow_ids import purchases_query
from slack_workspace import LocalSlackWorkspace
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

TARGET_P95_S = 1.0
TOKEN = "bench-dashboard-token-0123456789"
QUEUE = "bench-dashboard-synthetic"
COLD_TIMEOUT = aiohttp.ClientTimeout(total=3600)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


class Dashboard:
    """The bot's `GET /api/dashboard`, as a finance user's script calls it."""

    def __init__(self, http: aiohttp.ClientSession, port: int, since: datetime) -> None:
        self._http, self._port, self.since = http, port, since

    async def get(self, department: str | None = None) -> tuple[float, dict[str, Any]]:
        until = datetime.now(UTC) + timedelta(hours=1)
        params = {"since": self.since.isoformat(), "until": until.isoformat()}
        if department is not None:
            params["department"] = department
        began = time.perf_counter()
        async with self._http.get(
            f"http://127.0.0.1:{self._port}/api/dashboard",
            params=params,
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response:
            answer: dict[str, Any] = await response.json()
            if response.status == 503:
                raise StillBuilding(answer["message"])
            if response.status != 200:
                raise RuntimeError(f"dashboard answered {response.status}: {answer}")
        return time.perf_counter() - began, answer

    async def first_answer(self) -> tuple[float, dict[str, Any]]:
        """A fresh bot's first full answer: until its projection is built it answers 503 (how
        far it is, printed every 30 s) after `PATIENCE`; asked again each second."""
        last_said = time.monotonic()
        while True:
            try:
                return await self.get()
            except StillBuilding as building:
                if time.monotonic() - last_said > 30:
                    print(f"   {building}", flush=True)
                    last_said = time.monotonic()
                await asyncio.sleep(1)


class StillBuilding(Exception):
    """The bot's 503 while its first read of every request runs."""


async def start_bot(
    env: dict[str, str], data: Path, stack: AsyncExitStack
) -> tuple[int, subprocess.Popen[bytes]]:
    """A `purchasebot bot` on a port of its own, once it is ready."""
    (port,) = free_ports(1)
    bot = start_logged("bot", {**env, "PORT": str(port)}, data)
    stack.callback(stop, bot)
    await wait_healthy(f"http://127.0.0.1:{port}/readyz")
    return port, bot


async def produce(
    client: Client, existing: int, count: int, chunk: int, dashboard: Dashboard
) -> float:
    """Starts requests numbered `existing`..`count`-1; after each `chunk`, asks the dashboard in
    the background (one call at a time, production does not wait for it) and prints the
    progress. Returns once `count` requests are closed."""
    began = time.monotonic()
    asking: asyncio.Task[None] | None = None

    async def ask(done: int) -> None:
        seconds, answer = await dashboard.get()
        rate = (done - existing) / (time.monotonic() - began)
        print(
            f"  {done:>7} started, {rate:5.0f}/s; dashboard "
            f"{seconds * 1000:6.0f} ms, filed {answer['counts']['filed']} ({load()})",
            flush=True,
        )

    for first in range(existing, count, chunk):
        size = min(chunk, count - first)
        await start_requests(client, size, QUEUE, first=first, eager=True)
        if asking is None or asking.done():
            asking = asyncio.create_task(ask(first + size))
    closed = purchases_query("ExecutionStatus != 'Running'")
    deadline = time.monotonic() + 600
    while (await client.count_workflows(closed)).count < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {count} requests did not all close within 10 minutes")
        await asyncio.sleep(1)
    if asking is not None:
        await asking
    return time.monotonic() - began


def summary(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<34} n={len(ms):>3}  p50 {nearest_rank(ms, 0.5):7.0f} ms  "
        f"p95 {nearest_rank(ms, 0.95):7.0f} ms  max {max(ms):7.0f} ms"
    )


async def measure(
    client: Client, dashboard: Dashboard, calls: int
) -> tuple[list[float], list[float], int]:
    """Every dashboard answer must count what visibility counts, for the period and for the
    department asked; returns (dashboard seconds, floor seconds, requests in the period)."""
    until = datetime.now(UTC) + timedelta(hours=1)
    expected: dict[str | None, int] = {
        department: (
            await client.count_workflows(period_query(dashboard.since, until, department))
        ).count
        for department in (None, *DEPARTMENTS)
    }
    answers: list[float] = []
    floor: list[float] = []
    for n in range(calls):
        department = DEPARTMENTS[n % len(DEPARTMENTS)]
        kinds = ["all", "department", "floor"]
        for kind in kinds[n % 3 :] + kinds[: n % 3]:  # each round starts with another kind
            if kind == "floor":
                query = period_query(dashboard.since, until, None)
                began = time.perf_counter()
                counted = (await client.count_workflows(query)).count
                floor.append(time.perf_counter() - began)
                assert counted == expected[None], f"visibility now counts {counted}"
                continue
            asked = None if kind == "all" else department
            seconds, answer = await dashboard.get(asked)
            answers.append(seconds)
            filed = answer["counts"]["filed"]
            assert filed == expected[asked], f"the dashboard counts {filed}, not {expected[asked]}"
    return answers, floor, expected[None]


def report(answers: list[float], floor: list[float], requests: int, bot_pid: int | None) -> None:
    print(summary(f"dashboard, {requests} requests", answers))
    print(summary("floor: visibility count of period", floor))
    p95 = nearest_rank(answers, 0.95)
    verdict = "PASS" if p95 <= TARGET_P95_S else "MISS"
    memory = f"bot RSS {rss_mb(bot_pid):.0f} MB; " if bot_pid is not None else ""
    print(
        f"   dashboard p95 {p95:.3f} s, target <= {TARGET_P95_S:.1f} s: {verdict}; "
        f"p95 / floor p95 = {p95 / nearest_rank(floor, 0.95):.1f}; {memory}{load()}",
        flush=True,
    )


async def attach(args: argparse.Namespace) -> None:
    """Measures (2.) against a running bot and server, e.g. a run's whose production was paused
    (`kill -STOP`) before it reached `--requests`; then times a projection build in this
    process, as a fresh bot would do it."""
    client = await Client.connect(args.attach_server, data_converter=pydantic_data_converter)
    since = datetime.now(UTC) - timedelta(days=1)
    async with aiohttp.ClientSession(timeout=COLD_TIMEOUT) as http:
        dashboard = Dashboard(http, args.attach_bot_port, since)
        # The bot last caught up at the run's last chunk: that call reads what arrived since.
        seconds, answer = await dashboard.get()
        print(f"   catch-up call: {seconds:.1f} s, filed {answer['counts']['filed']}; {load()}")
        print(f"2. {args.calls} rounds against the bot on port {args.attach_bot_port}; {load()}")
        answers, floor, requests = await measure(client, dashboard, args.calls)
        report(answers, floor, requests, args.attach_bot_pid)
    if args.skip_cold:
        return
    print(f"3. a projection built from Temporal in this process; {load()}", flush=True)
    began = time.monotonic()
    built = await RequestsProjection(client).rebuild()
    print(f"   {built} requests read in {time.monotonic() - began:.0f} s; {load()}")


async def run(args: argparse.Namespace, data: Path, stack: AsyncExitStack) -> None:
    print(f"bench.dashboard: {args.requests} requests; at start: {load()}", flush=True)
    server = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        data_converter=pydantic_data_converter,
        ui=False,
        # A reusable file of the bench's own (not the product's data): SQLite's WAL without
        # waiting for the disk, which writes about as fast as the in-memory default.
        dev_server_database_filename=str(args.db) if args.db else None,
        dev_server_extra_args=[
            arg
            for key in CUSTOM_SEARCH_ATTRIBUTES
            for arg in ("--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type]}")
        ]
        + (
            ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off"]
            if args.db
            else []
        ),
        dev_server_startup_timeout=timedelta(minutes=2),
    )
    stack.push_async_callback(server.shutdown)
    client = server.client
    ws = LocalSlackWorkspace(
        REPO / "directory.yaml", commands=slash_commands(), manifest=REPO / "manifest.yaml"
    )
    await ws.start()
    stack.push_async_callback(ws.stop)
    env = production_env(client.service_client.config.target_host, ws, 0)
    env["PURCHASEBOT_API_TOKENS"] = f"{TOKEN}:finance"
    worker = start_logged("worker", env, data / "worker")
    stack.callback(stop, worker)
    await wait_for_output(worker, data / "worker" / "output.txt", "Worker polling")
    # The dashboard's default period: requests a reused --db file holds from earlier runs too.
    since = datetime.now(UTC) - timedelta(days=30)
    existing = (await client.count_workflows(purchases_query())).count
    http = await stack.enter_async_context(aiohttp.ClientSession(timeout=COLD_TIMEOUT))
    began = time.monotonic()
    port, bot = await start_bot(env, data / "bot", stack)
    dashboard = Dashboard(http, port, since)
    await stack.enter_async_context(
        Worker(
            client,
            task_queue=QUEUE,
            workflows=[SyntheticPurchase],
            max_concurrent_workflow_tasks=100,
        )
    )

    if existing:
        # Its projection is read from Temporal when the bot starts: until then a call is told
        # how far it is.
        seconds, answer = await dashboard.first_answer()
        print(
            f"0. {existing} requests already on the server (--db {args.db}); the bot's start to "
            f"its first answer {time.monotonic() - began:.0f} s (that call {seconds:.1f} s), "
            f"filed {answer['counts']['filed']}; bot RSS {rss_mb(bot.pid):.0f} MB; {load()}",
            flush=True,
        )
    todo = max(0, args.requests - existing)
    print(f"1. producing {todo} requests", flush=True)
    took = await produce(client, existing, existing + todo, args.chunk, dashboard)
    print(f"   {todo} closed in {took:.0f} s ({todo / max(took, 1e-9):.0f}/s); {load()}")

    print(f"2. {args.calls} rounds; {load()}", flush=True)
    answers, floor, requests = await measure(client, dashboard, args.calls)
    report(answers, floor, requests, bot.pid)

    if not args.skip_cold:
        await cold_start(http, env, data, stack, since, requests)

    print("4. the first bot restarted (its projection from its snapshot)", flush=True)
    stop(bot)
    began = time.monotonic()
    port, again = await start_bot(env, data / "bot", stack)
    first, answer = await Dashboard(http, port, since).first_answer()
    restarted = time.monotonic() - began
    assert answer["counts"]["filed"] == requests, answer["counts"]
    print(
        f"   start to first answer {restarted:.1f} s (that call {first:.2f} s); bot RSS "
        f"{rss_mb(again.pid):.0f} MB; {load()}"
    )


async def cold_start(
    http: aiohttp.ClientSession,
    env: dict[str, str],
    data: Path,
    stack: AsyncExitStack,
    since: datetime,
    requests: int,
) -> None:
    print("3. a second bot, started afresh (its projection read from Temporal)", flush=True)
    began = time.monotonic()
    port2, fresh = await start_bot(env, data / "bot-2", stack)
    first, answer = await Dashboard(http, port2, since).first_answer()
    cold = time.monotonic() - began
    assert answer["counts"]["filed"] == requests, answer["counts"]
    warm, _ = await Dashboard(http, port2, since).get()
    print(
        f"   start to first answer {cold:.0f} s (that call {first:.1f} s); next call "
        f"{warm * 1000:.0f} ms; bot RSS {rss_mb(fresh.pid):.0f} MB; {load()}"
    )
    stop(fresh)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument(
        "--db",
        type=Path,
        help="the dev server's SQLite file, kept: a later run reuses its requests and only "
        "produces the rest (in memory without it)",
    )
    parser.add_argument("--attach-server", help="measure a running run's server (host:port)")
    parser.add_argument("--attach-bot-port", type=int, help="... and its bot's port")
    parser.add_argument("--attach-bot-pid", type=int, help="... and its bot's pid (for RSS)")
    args = parser.parse_args()
    if args.attach_server:
        asyncio.run(attach(args))
        return

    async def go() -> None:
        with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
            async with AsyncExitStack() as stack:
                await run(args, Path(tmp), stack)

    asyncio.run(go())


if __name__ == "__main__":
    main()
