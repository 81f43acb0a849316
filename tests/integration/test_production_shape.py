"""The product as a company runs it (see `production.py`): an external server, `purchasebot
bot` and `purchasebot worker` processes in production mode, Slack in front."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tests.integration.processes import run_cli
from tests.integration.production import production_shape, wait_for_output
from tests.integration.world import REPO

BOOK = "https://www.amazon.es/dp/1449373321 39.90"


async def test_a_fresh_cluster_with_only_bot_and_worker_processes_auto_approves(
    tmp_path: Path,
) -> None:
    """Nothing initialised by hand: the flags entity, the search attributes and the rollout
    controller come from the processes themselves, so Alice's cheap book is auto-approved
    exactly as under `make run`."""
    async with production_shape(tmp_path) as shape:
        shape.processes.start("w1", "worker")
        await wait_for_output(shape.processes, "w1", "Worker polling", 60)
        cli_env = {**shape.processes.base_env, "PURCHASEBOT_DATA_DIR": str(tmp_path / "cli")}
        imported = await asyncio.to_thread(
            run_cli, cli_env, "history", "import", str(REPO / "sample-history.csv")
        )
        assert imported.returncode == 0, imported.stderr

        acked = await shape.ws.send_command("UALICE", "/purchase", BOOK)
        assert acked.status == 200
        dm = shape.dm("UALICE")
        await shape.ws.wait_for_message(lambda m: m.channel == dm and "auto-approved" in m.text, 30)


@pytest.mark.parametrize(
    ("setting", "refusal"),
    [
        ({}, "No Slack credentials: set SLACK_BOT_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "PURCHASEBOT_FAIL_ORDERS": "true"},
            "PURCHASEBOT_FAIL_ORDERS",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "PURCHASEBOT_ORDER_CONFIRMATION_DELAY": "2"},
            "PURCHASEBOT_ORDER_CONFIRMATION_DELAY",
        ),
    ],
)
def test_a_production_worker_refuses_stand_ins_and_fault_injection(
    tmp_path: Path, setting: dict[str, str], refusal: str
) -> None:
    """No silent stand-ins: without Slack a worker would ask no manager; with fault injection
    it would refuse or delay real orders. Both need PURCHASEBOT_MODE=demo, said plainly."""
    outside = ("PURCHASEBOT_", "TEMPORAL_", "SLACK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update(
        TEMPORAL_ADDRESS="127.0.0.1:1", PURCHASEBOT_DATA_DIR=str(tmp_path / "data"), **setting
    )
    done = run_cli(env, "worker")
    assert done.returncode == 2, done.stdout + done.stderr
    assert refusal in done.stderr and "PURCHASEBOT_MODE=demo" in done.stderr
    assert "Traceback" not in done.stderr
