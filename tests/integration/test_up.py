"""`purchasebot up` as `make run` starts it: the embedded server, the local Slack workspace,
the bot and the worker in one process; a request from the terminal is auto-approved; SIGTERM
stops everything it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.integration.processes import PURCHASEBOT, run_cli
from tests.integration.world import REPO

BOOK = "https://www.amazon.es/dp/1449373321"


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert process.poll() is None, f"up exited early:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {text!r} within {timeout}s:\n{log.read_text()}"
        time.sleep(0.1)  # polling a log file written by another process, with a deadline


def test_up_runs_the_product_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    temporal, ui, bot, slack = free_ports(4)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PURCHASEBOT_", "TEMPORAL_", "SLACK_"))
    }
    env.update(
        PURCHASEBOT_DATA_DIR=str(tmp_path / "data"),
        PURCHASEBOT_TEMPORAL_PORT=str(temporal),
        PURCHASEBOT_TEMPORAL_UI_PORT=str(ui),
        PURCHASEBOT_LOCAL_SLACK_PORT=str(slack),
        PORT=str(bot),
    )
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [PURCHASEBOT, "up", "--import-history", "sample-history.csv"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_line(log, "Worker polling", up, 60)
        printed = log.read_text()
        assert f"Local Slack workspace: http://127.0.0.1:{slack}" in printed
        assert f"Web UI at http://127.0.0.1:{ui}" in printed

        client_env = {**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}"}
        done = run_cli(
            client_env, "request", "--user", "UALICE", "--url", BOOK, "--amount", "39.90"
        )
        assert done.returncode == 0, done.stderr
        assert "Auto-approved: All automated approval criteria met" in done.stdout

        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
        assert "Stopped." in log.read_text()
        for port in (temporal, bot, slack):
            assert not listening(port), f"port {port} still open after up stopped"
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
