"""The `purchasebot` command as a person uses it: a real process against the real server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from appconfig.settings import Settings
from tests.integration.processes import process_env, run_cli
from tests.integration.world import make_settings, running_world

GOOD_URL = "https://www.amazon.es/dp/1449373321"


@pytest.fixture
def cli_env(dev_env: WorkflowEnvironment, tmp_path: Path) -> tuple[dict[str, str], Settings]:
    settings = make_settings(tmp_path, f"T{uuid.uuid4().hex[:6]}", None)
    return process_env(settings, dev_env.client.service_client.config.target_host), settings


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", GOOD_URL, "--amount", "0"], "amount"),
        (["--url", GOOD_URL, "--amount", "-5"], "negative"),
        (["--url", GOOD_URL, "--amount", "NaN"], "not a number"),
        (["--url", GOOD_URL, "--amount", "inf"], "amount"),
        (["--url", GOOD_URL, "--amount", "99999999999"], "above the limit"),
        (["--url", GOOD_URL, "--amount", "39.90", "--quantity", "0"], "quantity"),
        (["--url", "https://www.ebay.com/itm/1", "--amount", "10"], "not an Amazon store"),
        (["--url", "amazon dot com", "--amount", "10"], "link"),
        (["--url", GOOD_URL, "--amount", "39.90", "--justification", "   "], "justification"),
        (["--url", GOOD_URL, "--amount", "39.90", "--justification", "x" * 5000], "justification"),
    ],
)
async def test_bad_input_gets_a_clear_message_and_starts_nothing(
    cli_env: tuple[dict[str, str], Settings],
    dev_env: WorkflowEnvironment,
    args: list[str],
    message: str,
) -> None:
    env, settings = cli_env
    done = run_cli(env, "request", "--user", "UNICO", *args)

    assert done.returncode == 2
    assert message.lower() in done.stderr.lower()
    assert "Traceback" not in done.stderr + done.stdout
    assert len(done.stderr.strip().splitlines()) == 1
    started = await dev_env.client.count_workflows(f"TaskQueue = '{settings.task_queue}'")
    assert started.count == 0


async def test_unknown_user_is_told_to_ask_ops(cli_env: tuple[dict[str, str], Settings]) -> None:
    env, _ = cli_env
    done = run_cli(env, "request", "--user", "UNOBODY", "--url", GOOD_URL, "--amount", "39.90")
    assert done.returncode == 2
    assert "not in the company directory" in done.stderr


async def test_unreachable_server_is_explained(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "T0", None)
    env = process_env(settings, "127.0.0.1:1")
    done = run_cli(env, "status", "PR-12345678")
    assert done.returncode == 1
    assert "The Temporal server at 127.0.0.1:1 cannot be reached" in done.stderr
    assert "set TEMPORAL_ADDRESS" not in done.stderr, "it is set: say so, not to set it"
    assert "Traceback" not in done.stderr
    # A pipeline's rollout step tells "cannot reach Temporal" (1) from "refused" (2).
    rollout = run_cli(env, "rollout", "ramp", "B", "10")
    assert rollout.returncode == 1, rollout.stderr
    assert "The Temporal server at 127.0.0.1:1 cannot be reached" in rollout.stderr


async def test_a_setting_that_cannot_be_used_is_named_without_a_traceback(
    tmp_path: Path,
) -> None:
    env = process_env(make_settings(tmp_path, "T0", None), "127.0.0.1:1")
    env |= {"PURCHASEBOT_MONITOR_WINDOW_SECONDS": "five minutes", "PORT": "x"}
    done = run_cli(env, "status", "PR-12345678")
    assert done.returncode == 2
    assert "PURCHASEBOT_MONITOR_WINDOW_SECONDS: Input should be a valid number" in done.stderr
    assert "PORT: Input should be a valid integer" in done.stderr
    assert "Traceback" not in done.stderr and "five minutes" not in done.stderr


async def test_an_invalid_product_is_reported_and_exits_non_zero(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_world(dev_env.client, tmp_path) as world:
        env = process_env(world.settings, dev_env.client.service_client.config.target_host)
        done = await asyncio.to_thread(
            run_cli,
            env,
            "request",
            "--user",
            "UNICO",
            "--url",
            "https://www.amazon.es/dp/B000000000",
            "--amount",
            "10",
        )
    assert done.returncode == 2
    assert "Invalid: " in done.stdout and "B000000000" in done.stdout
    assert "Traceback" not in done.stderr + done.stdout
