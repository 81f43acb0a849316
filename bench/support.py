"""What the benchmarks need: free loopback ports, their own embedded dev server, and the
product's own processes pointed at both."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from temporalio.client import Client

from appconfig.settings import Settings
from bot.dev_server import EmbeddedTemporal
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records, read_history_file
from bot.slack.app import slash_commands
from bot.temporal_client import connect
from bot.worker import history_store
from domain.feature_flags import load_flags_file
from slack_workspace import LocalSlackWorkspace

REPO = Path(__file__).resolve().parents[1]
PURCHASEBOT = Path(sys.executable).parent / "purchasebot"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@asynccontextmanager
async def dev_server(data_dir: Path) -> AsyncIterator[EmbeddedTemporal]:
    port, ui_port = free_ports(2)
    server = EmbeddedTemporal(data_dir / "temporal.db", port=port, ui_port=ui_port)
    try:
        try:
            await server.start()
        except BaseException:
            log = data_dir / "temporal-server.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print("dev server log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
            raise
        yield server
    finally:
        await server.stop()


# --- the product as deployed: `purchasebot bot` and `purchasebot worker` processes -----------


def product_env(
    temporal_address: str,
    data: Path,
    queues_suffix: str,
    workspace: LocalSlackWorkspace,
    **settings: str,
) -> dict[str, str]:
    """The environment of one `purchasebot` process of a benchmark: this server, this data
    directory, queues of its own, and the local workspace as its Slack. None of the caller's
    own PURCHASEBOT_/SLACK_/TEMPORAL_ settings leak in; `settings` adds PURCHASEBOT_ ones."""
    inherited = ("PURCHASEBOT_", "SLACK_", "TEMPORAL_")
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(inherited)},
        "TEMPORAL_ADDRESS": temporal_address,
        "PURCHASEBOT_DATA_DIR": str(data),
        "PURCHASEBOT_TASK_QUEUE": f"bench-{queues_suffix}",
        "PURCHASEBOT_CONTROL_TASK_QUEUE": f"bench-control-{queues_suffix}",
        "SLACK_BOT_TOKEN": workspace.bot_token,
        "SLACK_SIGNING_SECRET": workspace.signing_secret,
        "SLACK_API_URL": workspace.api_url,
        **{f"PURCHASEBOT_{name.upper()}": value for name, value in settings.items()},
    }


def demo_env(temporal_address: str, data: Path, queue: str, control: str) -> dict[str, str]:
    """A `purchasebot worker` in demo mode (notifications recorded, no Slack), unversioned, on
    these queues; none of the caller's own PURCHASEBOT_ settings leak in."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("PURCHASEBOT_")},
        "TEMPORAL_ADDRESS": temporal_address,
        "PURCHASEBOT_DATA_DIR": str(data),
        "PURCHASEBOT_TASK_QUEUE": queue,
        "PURCHASEBOT_CONTROL_TASK_QUEUE": control,
        "PURCHASEBOT_DEPLOYMENT_NAME": "",
        "PURCHASEBOT_MODE": "demo",
    }


def start_process(role: str, env: dict[str, str], stack: AsyncExitStack) -> None:
    """`purchasebot <role>`, stopped (SIGTERM, then SIGKILL) when `stack` closes."""
    process = subprocess.Popen(
        [str(PURCHASEBOT), role], env=env, cwd=REPO, stdout=subprocess.DEVNULL
    )
    stack.callback(stop, process)


def start_logged(role: str, env: dict[str, str], data: Path) -> subprocess.Popen[bytes]:
    """`purchasebot <role>` with its own data directory, its output in `data/output.txt`."""
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


async def wait_healthy(url: str, within: float = 90) -> None:
    """Until `url` answers 200 (a health or readiness endpoint)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {within:.0f} s")


def printed(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


async def wait_for_output(process: subprocess.Popen[bytes], path: Path, text: str) -> None:
    deadline = time.monotonic() + 90
    while text not in printed(path):  # a file, polled with a deadline
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{path.parent.name} never said {text!r}:\n{printed(path)}")
        await asyncio.sleep(0.2)


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


@dataclass
class Installation:
    """The production shape on one embedded dev server: `purchasebot bot` and workers in
    production mode, each with its own data directory, talking to the local workspace."""

    client: Client
    ws: LocalSlackWorkspace
    env: dict[str, str]
    bot: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]]


async def start_installation(
    data: Path, stack: AsyncExitStack, worker_names: Sequence[str]
) -> Installation:
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
    bot = start_logged("bot", env, data / "bot")
    stack.callback(stop, bot)
    workers = {name: start_logged("worker", env, data / name) for name in worker_names}
    for process in workers.values():
        stack.callback(stop, process)
    await wait_healthy(f"http://127.0.0.1:{port}/readyz")
    for name, process in workers.items():
        await wait_for_output(process, data / name / "output.txt", "Worker polling")
    return Installation(client=client, ws=ws, env=env, bot=bot, workers=workers)


async def enable_auto_approvals(client: Client, control_task_queue: str) -> None:
    """What `make run` sets up so Alice's book is auto-approved: the feature flags of
    `flags.yaml` and her purchase history from `sample-history.csv`."""
    await FlagsAdmin(client, control_task_queue).ensure(load_flags_file(REPO / "flags.yaml"))
    settings = Settings(control_task_queue=control_task_queue)
    records = read_history_file(REPO / "sample-history.csv")
    await import_history_records(history_store(client, settings), records, imported_by="bench")
