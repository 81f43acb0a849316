"""The product as a company runs it (see `production.py`): an external server, `purchasebot
bot` and two `purchasebot worker` processes with their own data directories, in production mode,
the local workspace in front with Slack's rules (the manifest's scopes, channel membership),
everything through signed HTTP. Nothing is initialised by hand.

The tests share one such installation (processes are slow to start on 2 cores) and run in file
order: the end-to-end path, then SIGTERM of each process mode, then the server restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType

from activities.orders_ledger import OrdersLedger
from appconfig.files import ReloadingFile
from bot.purchase_service import PurchaseService
from bot.temporal_client import connect
from domain.directory import Directory
from domain.models import Stage
from slack_workspace.state import Message
from tests.integration.processes import free_ports, run_cli
from tests.integration.production import (
    ProductionShape,
    production_shape,
    wait_for_output,
    wait_ready,
)
from tests.integration.test_metrics import parse, value
from tests.integration.world import REPO, poll_until

BOOK = "https://www.amazon.es/dp/1449373321"
LAPTOP = "https://www.amazon.es/dp/B0CX23V2ZK"
WORKERS = ("w1", "w2")
# "About a second" on an idle 2-core machine; the bound leaves room for a loaded CI machine.
STOP_WITHIN_SECONDS = 3.0


@pytest_asyncio.fixture(scope="module")
async def shape(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProductionShape]:
    async with production_shape(tmp_path_factory.mktemp("production")) as shape:
        for name in WORKERS:
            shape.processes.start(name, "worker")
        for name in WORKERS:
            await wait_for_output(shape.processes, name, "Worker polling", 60)
        # Alice's purchase history, as an operator imports it: with the CLI.
        imported = await asyncio.to_thread(
            run_cli, cli_env(shape), "history", "import", str(REPO / "sample-history.csv")
        )
        assert imported.returncode == 0, imported.stderr
        try:
            yield shape
        finally:
            print(shape.processes.outputs())  # shown by pytest when a test failed


def cli_env(shape: ProductionShape) -> dict[str, str]:
    return {**shape.processes.base_env, "PURCHASEBOT_DATA_DIR": str(shape.processes.root / "cli")}


def buttons(message: Message) -> list[str]:
    blocks = message.blocks or []
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def bot_message(
    shape: ProductionShape, user: str, *contains: str, within: float = 30
) -> Message:
    dm = shape.dm(user)

    def matches(m: Message) -> bool:
        shown = m.text + str(m.blocks)
        return (
            m.channel == dm
            and m.user == shape.ws.bot_user_id
            and not m.ephemeral_to
            and all(c in shown for c in contains)
        )

    return await shape.ws.wait_for_message(matches, within)


async def ephemeral(shape: ProductionShape, user: str, contains: str) -> Message:
    return await shape.ws.wait_for_message(
        lambda m: m.ephemeral_to == user and contains in m.text + str(m.blocks), 30
    )


async def _filed(shape: ProductionShape, user: str) -> str:
    seen = {m.ts for m in shape.ws.ephemeral_messages(user)}
    message = await shape.ws.wait_for_message(
        lambda m: m.ephemeral_to == user and "filed" in m.text and m.ts not in seen, 30
    )
    return message.text.split("`")[1]


def orders_for(shape: ProductionShape, request_id: str) -> int:
    """Orders across every worker's own stand-in store."""
    return sum(
        len(OrdersLedger(db).orders_for(request_id))
        for db in shape.processes.root.glob("*/orders.db")
    )


async def test_the_production_shape_end_to_end(shape: ProductionShape) -> None:
    ws = shape.ws
    # 1. Auto-approval: the flags entity came from flags.yaml via the processes themselves.
    await ws.send_command("UALICE", "/purchase", f"{BOOK} 39.90")
    await bot_message(shape, "UALICE", "auto-approved")

    # 2. A manual approval with the button.
    await ws.send_command("UALICE", "/purchase", f"{LAPTOP} 1199 1 dev laptop")
    ask = await bot_message(shape, "UCARLOS", "dev laptop")
    assert buttons(ask) == ["approve_request", "reject_request"]
    click = await ws.click_button("UCARLOS", ask.channel, ask.ts, "approve_request")
    assert click.ok
    await bot_message(shape, "UALICE", "approved and ordered")

    # 3. A second build, started later beside the first.
    shape.processes.start("w3", "worker", PURCHASEBOT_BUILD_ID="b2")
    await wait_for_output(shape.processes, "w3", "Worker polling", 60)

    # 4. Ops ramp it from the ops channel, then roll back; the alert reaches the channel,
    # which the bot had to join first (Slack's membership rule).
    ops = ws.channel_id("purchasing-ops")
    await ws.send_command("UOLIVIA", "/rollout", "b2 50", channel=ops)
    await ephemeral(shape, "UOLIVIA", "Build `b2` now gets 50% of new requests")
    await ws.send_command("UOLIVIA", "/rollout", "status", channel=ops)
    await ephemeral(shape, "UOLIVIA", "at 50%")
    await ws.send_command("UOLIVIA", "/rollback", "tests in production", channel=ops)
    await ephemeral(shape, "UOLIVIA", "Rolled back")
    alert = await ws.wait_for_message(
        lambda m: m.channel == ops and m.user == ws.bot_user_id and "rolled back" in m.text, 30
    )
    assert "from build `b2`" in alert.text and "tests in production" in alert.text
    first = alert.text.split("from build `b2` to `")[1].split("`")[0]

    # 5. From Slack as from the API: a second /rollback says there is nothing to roll back; the
    # rolled-back build goes to one department only with `override`; `/rollback to <build>`.
    await ops_command(shape, "/rollback", "again", "Nothing to roll back")
    await ops_command(shape, "/rollout", "b2 department IT", "`b2` was rolled back")
    await ops_command(
        shape, "/rollout", "b2 department IT override", "every new request of department IT"
    )
    await ops_command(shape, "/rollback", "to b2", "the build being rolled back")
    await ops_command(
        shape,
        "/rollback",
        f"to {first} IT saw trouble",
        f"new requests now run on `{first}` instead of `b2`",
    )
    alert = await ws.wait_for_message(
        lambda m: m.channel == ops and "for department IT" in m.text and "IT saw trouble" in m.text,
        30,
    )
    assert f"from build `b2` for department IT to `{first}`" in alert.text


async def test_a_worker_started_with_another_window_changes_the_running_monitor(
    shape: ProductionShape,
) -> None:
    """PURCHASEBOT_MONITOR_WINDOW_SECONDS on an installation whose controller runs: the last
    process to start applies its settings (audited, told in the ops channel, shown by `rollout
    status`); a value out of bounds stops the process, naming it, and changes nothing."""
    bad = shape.processes.start("w-bad", "worker", PURCHASEBOT_MONITOR_WINDOW_SECONDS="0")
    assert await asyncio.to_thread(bad.wait, 60) == 2
    refused = shape.processes.output("w-bad")
    assert "PURCHASEBOT_MONITOR_WINDOW_SECONDS = 0.0: Input should be greater than 0" in refused
    assert "Traceback" not in refused

    worker = shape.processes.start("w-window", "worker", PURCHASEBOT_MONITOR_WINDOW_SECONDS="120")
    await wait_for_output(shape.processes, "w-window", "Worker polling", 60)
    assert "Monitor settings changed by worker@" in shape.processes.output("w-window")
    status = await asyncio.to_thread(run_cli, cli_env(shape), "rollout", "status")
    assert "over the last 120 s" in status.stdout, status.stdout + status.stderr
    ops = shape.ws.channel_id("purchasing-ops")
    alert = await shape.ws.wait_for_message(
        lambda m: m.channel == ops and "Monitor settings changed by" in m.text, 30
    )
    assert "window_seconds 300 -" in alert.text and "120" in alert.text
    await stop_and_time(worker)


async def test_the_bots_failed_slack_calls_are_counted_on_its_metrics(
    shape: ProductionShape,
) -> None:
    """The bot's own Web API calls (here the App Home's `views.publish`, made by a listener on
    the client Bolt gives each request) count their failures in
    `purchasebot_slack_api_errors_total` on the bot's /metrics, as the workers' calls do."""

    async def counted() -> float:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{shape.bot_url}/metrics") as answer,
        ):
            text = await answer.text()
        return value(parse(text), "purchasebot_slack_api_errors_total", error="invalid_blocks")

    assert await counted() == 0
    shape.ws.inject_fault("views.publish", "error", error="invalid_blocks")
    await shape.ws.open_app_home("UALICE")

    async def seen() -> bool:
        return await counted() == 1

    await poll_until(seen, 30, "the bot's failed views.publish on its /metrics")


async def ops_command(shape: ProductionShape, command: str, text: str, answer: str) -> Message:
    """An ops command from the ops channel, and its answer (not an earlier one)."""
    ws = shape.ws
    seen = {m.ts for m in ws.ephemeral_messages("UOLIVIA")}
    await ws.send_command("UOLIVIA", command, text, channel=ws.channel_id("purchasing-ops"))
    return await ws.wait_for_message(
        lambda m: (
            m.ephemeral_to == "UOLIVIA" and m.ts not in seen and answer in m.text + str(m.blocks)
        ),
        30,
    )


async def stop_and_time(process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, f"exit code {code}"
    return time.monotonic() - started


async def test_the_bot_stops_at_once_on_sigterm(shape: ProductionShape) -> None:
    (port,) = free_ports(1)
    bot = shape.processes.start("bot2", "bot", PORT=str(port))
    await wait_ready(f"http://127.0.0.1:{port}/readyz")
    assert await stop_and_time(bot) < STOP_WITHIN_SECONDS
    assert "Stopped." in shape.processes.output("bot2")


async def test_an_idle_worker_stops_at_once_on_sigterm(shape: ProductionShape) -> None:
    worker = shape.processes.start("w-idle", "worker")
    await wait_for_output(shape.processes, "w-idle", "Worker polling", 60)
    assert await stop_and_time(worker) < STOP_WITHIN_SECONDS


async def test_a_worker_finishes_its_running_activity_before_stopping(
    shape: ProductionShape,
) -> None:
    """SIGTERM while an order is being placed: the worker stops polling, lets the order
    finish and report, then exits. Its own task queue, so the order is surely on it; demo
    mode, for the store's confirmation delay (fault injection)."""
    queue = "sigterm-drain"
    worker = shape.processes.start(
        "w-drain",
        "worker",
        PURCHASEBOT_MODE="demo",
        PURCHASEBOT_TASK_QUEUE=queue,
        PURCHASEBOT_DEPLOYMENT_NAME="",
        PURCHASEBOT_ORDER_CONFIRMATION_DELAY="3",
    )
    await wait_for_output(shape.processes, "w-drain", "Worker polling", 60)
    client = await connect(shape.server.address)
    service = PurchaseService(
        client, ReloadingFile(REPO / "directory.yaml", Directory), task_queue=queue
    )
    submitted = await service.submit(requester="UNICO", url=BOOK, amount="39.90")
    request_id = submitted.request.request_id

    async def waiting() -> bool:
        return (await service.status(request_id)).stage is Stage.AWAITING_APPROVAL

    await poll_until(waiting, 30, "the request to wait for Carlos")
    await service.decide(request_id, user="UCARLOS", approve=True)
    ledger = OrdersLedger(shape.processes.root / "w-drain" / "orders.db")

    async def order_taken() -> bool:
        return len(ledger.orders_for(request_id)) == 1

    await poll_until(order_taken, 30, "the store to take the order")
    stopped_after = await stop_and_time(worker)

    assert stopped_after >= 1.0, "it waited for the order, not only for itself"
    history = await client.get_workflow_handle(submitted.workflow_id).fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in kinds[-3:], "the order's result is in"
    started = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert max(started) == 1, "no activity was abandoned and retried"


async def test_bot_and_workers_survive_a_server_restart(shape: ProductionShape) -> None:
    """SIGKILL the server with requests waiting for a manager, restart it on the same
    database file: the same bot and workers carry on, each request ends with one order."""
    ws = shape.ws
    waiting = []
    for n in range(3):
        request_id = await _file_and_wait(shape, f"{BOOK} 39.90 1 restart {n}")
        waiting.append(request_id)
    asks = [await bot_message(shape, "UCARLOS", request_id) for request_id in waiting]

    shape.server.kill()
    away = await asyncio.to_thread(run_cli, cli_env(shape), "status", waiting[0])
    assert away.returncode == 1
    assert f"The Temporal server at {shape.server.address} cannot be reached" in away.stderr
    assert "set TEMPORAL_ADDRESS" not in away.stderr
    await shape.server.start()

    for ask in asks:
        click = await ws.click_button("UCARLOS", ask.channel, ask.ts, "approve_request")
        assert click.ok
    for request_id in waiting:
        await bot_message(shape, "UNICO", request_id, "approved and ordered", within=60)
    assert [orders_for(shape, r) for r in waiting] == [1, 1, 1]
    for name in ("bot", *WORKERS):
        assert shape.processes.running[name].poll() is None, f"{name} died with the server"


async def _file_and_wait(shape: ProductionShape, text: str) -> str:
    acked = await shape.ws.send_command("UNICO", "/purchase", text)
    assert acked.ok, acked
    return await _filed(shape, "UNICO")


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
