"""`purchasebot up` as `make run` starts it: the embedded server, the local Slack workspace,
the bot and the worker in one process; a request from the terminal is auto-approved; SIGTERM
stops everything it started."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

from tests.integration.processes import PURCHASEBOT, free_ports, run_cli
from tests.integration.world import REPO

BOOK = "https://www.amazon.es/dp/1449373321"


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


async def read_until(up: asyncio.subprocess.Process, text: str, within: float) -> str:
    """What `up` printed, up to the line containing `text` (a deadline, no sleeping)."""
    assert up.stdout is not None
    printed = ""
    async with asyncio.timeout(within):
        while text not in printed:
            line = await up.stdout.readline()
            assert line, f"up exited early:\n{printed}"
            printed += line.decode()
    return printed


async def test_up_runs_the_product_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    temporal, ui, bot, slack = free_ports(4)
    # The shipped configuration, as `make run` uses it; only the data and the ports are this
    # test's own. No TEMPORAL_ADDRESS: `up` starts its own server.
    outside = ("PURCHASEBOT_", "TEMPORAL_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update(
        PURCHASEBOT_DATA_DIR=str(tmp_path / "data"),
        PURCHASEBOT_TEMPORAL_PORT=str(temporal),
        PURCHASEBOT_TEMPORAL_UI_PORT=str(ui),
        PURCHASEBOT_LOCAL_SLACK_PORT=str(slack),
        PORT=str(bot),
    )
    up = await asyncio.create_subprocess_exec(
        PURCHASEBOT,
        "up",
        "--import-history",
        "sample-history.csv",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        printed = await read_until(up, "Worker polling", 60)
        assert f"Local Slack workspace: http://127.0.0.1:{slack}" in printed
        assert f"Web UI at http://127.0.0.1:{ui}" in printed

        client_env = {**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}"}
        done = await asyncio.to_thread(
            run_cli, client_env, "request", "--user", "UALICE", "--url", BOOK, "--amount", "39.90"
        )
        assert done.returncode == 0, done.stderr
        assert "Auto-approved and ordered: order ORD-" in done.stdout

        up.send_signal(signal.SIGTERM)
        await read_until(up, "Stopped.", 30)
        assert await asyncio.wait_for(up.wait(), 30) == 0
        for port in (temporal, bot, slack):
            assert not listening(port), f"port {port} still open after up stopped"
    finally:
        if up.returncode is None:  # the test failed midway: still stop what `up` started
            up.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(up.wait(), 30)
            except TimeoutError:
                up.kill()
                await up.wait()
