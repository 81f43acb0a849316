"""The product as a company runs it: an external Temporal server (`temporal server start-dev`
on a database file, standing in for a cluster), `purchasebot bot` and `purchasebot worker`
processes started from the shipped configuration, and the local Slack workspace in front,
reached only through signed HTTP. Nothing is initialised by hand: what the processes do not set
up themselves is missing, as it would be in production."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.dev_server import temporal_binary
from bot.slack.app import slash_commands
from slack_workspace import LocalSlackWorkspace
from tests.integration.processes import PURCHASEBOT, free_ports, stop
from tests.integration.world import REPO, poll_until


class ExternalServer:
    """`temporal server start-dev` on a SQLite file, with NO search attributes registered:
    the product's processes must do that themselves. Can be SIGKILLed and restarted on the
    same file and port."""

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.port, self.ui_port = free_ports(2)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        log = (self.db_file.parent / "temporal-server.log").open("ab")
        args = [
            "server", "start-dev", "--headless",
            "--ip", "127.0.0.1", "--port", str(self.port), "--ui-port", str(self.ui_port),
            "--db-filename", str(self.db_file), "--log-level", "error",
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: ASYNC220  # returns at once
            [temporal_binary(), *args], stdout=log, stderr=log
        )

        async def answering() -> bool:
            assert self._process is not None
            assert self._process.poll() is None, "the dev server exited at start"
            return await _port_open(self.port)

        await poll_until(answering, 30, f"the dev server on {self.address}")

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-whatever, as a crashed node does."""
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        self._process.wait()

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process)


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


@dataclass
class Processes:
    """Each process writes its output to `<data dir>/<name>.out`, shown when a test fails."""

    base_env: dict[str, str]
    root: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, role: str, **extra: str) -> subprocess.Popen[bytes]:
        data = self.root / name
        data.mkdir(parents=True, exist_ok=True)
        env = {**self.base_env, "PURCHASEBOT_DATA_DIR": str(data), **extra}
        with (data / f"{name}.out").open("ab") as out:
            process = subprocess.Popen(
                [PURCHASEBOT, role], env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )
        self.running[name] = process
        return process

    def output(self, name: str) -> str:
        return (self.root / name / f"{name}.out").read_text(errors="replace")

    def outputs(self) -> str:
        return "\n".join(f"--- {name}:\n{self.output(name)[-3000:]}" for name in self.running)

    def stop_all(self) -> None:
        for process in self.running.values():  # all at once: each may take its grace time
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            stop(process)


@dataclass
class ProductionShape:
    server: ExternalServer
    ws: LocalSlackWorkspace
    processes: Processes
    bot_port: int

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.bot_port}"

    def dm(self, user: str) -> str:
        return self.ws.dm_channel(user, self.ws.bot_user_id)


def production_env(server_address: str, ws: LocalSlackWorkspace, bot_port: int) -> dict[str, str]:
    """The shipped configuration files and defaults (entity ids, task queues, deployment
    name); only addresses and credentials are this test's. Production mode: no stand-ins."""
    outside = ("PURCHASEBOT_", "TEMPORAL_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update(
        TEMPORAL_ADDRESS=server_address,
        SLACK_BOT_TOKEN=ws.bot_token,
        SLACK_SIGNING_SECRET=ws.signing_secret,
        SLACK_API_URL=ws.api_url,
        PORT=str(bot_port),
        HOST="127.0.0.1",
    )
    return env


async def wait_ready(url: str, within: float = 60) -> None:
    async with aiohttp.ClientSession() as http:

        async def ready() -> bool:
            try:
                async with http.get(url) as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await poll_until(ready, within, f"{url} to answer 200", every=0.2)


@asynccontextmanager
async def production_shape(root: Path) -> AsyncIterator[ProductionShape]:
    """A fresh external server, the local workspace and a bot process; workers are started by
    the test (`shape.processes.start("w1", "worker")`)."""
    async with AsyncExitStack() as stack:
        root.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  # once, before the test
        server = ExternalServer(root / "temporal.db")
        await server.start()
        stack.callback(server.stop)
        # Slack's rules as a real workspace applies them: the manifest's scopes only, and the
        # bot a member of no channel until it joins one.
        ws = LocalSlackWorkspace(
            REPO / "directory.yaml", commands=slash_commands(), manifest=REPO / "manifest.yaml"
        )
        await ws.start()
        stack.push_async_callback(ws.stop)
        (bot_port,) = free_ports(1)
        ws.set_request_url(f"http://127.0.0.1:{bot_port}/slack/events")
        processes = Processes(production_env(server.address, ws, bot_port), root)
        stack.callback(processes.stop_all)
        shape = ProductionShape(server, ws, processes, bot_port)
        processes.start("bot", "bot")
        try:
            await wait_ready(f"{shape.bot_url}/readyz")
            yield shape
        except BaseException:
            print(processes.outputs())
            raise


async def wait_for_output(processes: Processes, name: str, text: str, within: float) -> None:
    async def printed() -> bool:
        if text in processes.output(name):
            return True
        assert processes.running[name].poll() is None, f"{name} exited: {processes.output(name)}"
        return False

    await poll_until(printed, within, f"{name} to print {text!r}", every=0.1)
