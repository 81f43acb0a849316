"""What the benchmarks need: free loopback ports, their own embedded dev server, and the
product's own processes pointed at both."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
from temporalio.client import Client

from appconfig.settings import Settings
from bot.dev_server import EmbeddedTemporal
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records, read_history_file
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


def start_process(role: str, env: dict[str, str], stack: AsyncExitStack) -> None:
    """`purchasebot <role>`, stopped (SIGTERM, then SIGKILL) when `stack` closes."""
    process = subprocess.Popen(
        [str(PURCHASEBOT), role], env=env, cwd=REPO, stdout=subprocess.DEVNULL
    )
    stack.callback(_stop, process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


async def wait_healthy(url: str) -> None:
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


async def enable_auto_approvals(client: Client, control_task_queue: str) -> None:
    """What `make run` sets up so Alice's book is auto-approved: the feature flags of
    `flags.yaml` and her purchase history from `sample-history.csv`."""
    await FlagsAdmin(client, control_task_queue).ensure(load_flags_file(REPO / "flags.yaml"))
    settings = Settings(control_task_queue=control_task_queue)
    records = read_history_file(REPO / "sample-history.csv")
    await import_history_records(history_store(client, settings), records, imported_by="bench")
