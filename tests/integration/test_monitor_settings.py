"""The monitor's settings (PURCHASEBOT_MONITOR_*) reach a running rollout controller: a process
started with another window changes it (audited, announced), the last process to start wins, and
an invalid value is refused with a message naming it and changes nothing. On the real dev server;
no worker build is needed (no rollout runs), only the control worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.notifier import RecordingNotifier
from appconfig.settings import Settings
from bot.installation import (
    InvalidMonitorSettings,
    apply_monitor_settings,
    ensure_installation,
    rollout_admin_for,
)
from bot.rollout_admin import QUERY_TIMEOUT, RolloutAdmin
from bot.rollout_cli import status_text
from bot.slack.rollout_blocks import rollout_status_blocks
from bot.worker import build_control_activities, build_control_worker
from domain.refusal import Refused
from domain.rollout_models import Thresholds
from tests.integration.world import make_settings, poll_until


def process_settings(tmp_path: Path, **monitor: float) -> Settings:
    """A process's settings with its own deployment and control queue; `monitor`: the
    PURCHASEBOT_MONITOR_* values it was started with (field names of Settings, unprefixed)."""
    settings = make_settings(tmp_path, f"M{uuid.uuid4().hex[:6]}", None)
    values = {f"monitor_{name}": value for name, value in monitor.items()}
    return settings.model_copy(
        update={"deployment_name": f"deploy-{uuid.uuid4().hex[:8]}", **values}
    )


@asynccontextmanager
async def control_worker(client: Client, settings: Settings) -> AsyncIterator[RecordingNotifier]:
    """The control worker of the installation; yields where its ops alerts are recorded."""
    notifier = RecordingNotifier(settings.notifications_db)
    activities = build_control_activities(client, settings.deployment_name, notifier)
    async with build_control_worker(client, settings.control_task_queue, activities):
        yield notifier


async def test_a_process_started_with_another_window_changes_the_running_controller(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    first = process_settings(tmp_path, window_seconds=300)
    async with control_worker(client, first) as notifier:
        # The controller is created by the first process, with its window.
        assert await rollout_admin_for(client, first).ensure_controller()
        await apply_monitor_settings(client, first, "worker")  # the same settings: no change
        status = await rollout_admin_for(client, first).status()
        assert status.controller.thresholds.window_seconds == 300
        assert status.controller.events == []

        # Later a process starts with a 60 s window and a 5 s interval (an upgrade, a restart).
        later = first.model_copy(
            update={"monitor_window_seconds": 60.0, "monitor_interval_seconds": 5.0}
        )
        assert not await rollout_admin_for(client, later).ensure_controller()  # it runs
        await apply_monitor_settings(client, later, "worker")

        # Read back as ops read it (any process: the controller, not the caller, answers).
        status = await rollout_admin_for(client, first).status()
        thresholds = status.controller.thresholds
        assert (thresholds.window_seconds, thresholds.check_interval_seconds) == (60, 5)
        # The other limits are the controller's, untouched.
        assert thresholds.max_error_rate == Thresholds().max_error_rate
        assert "over the last 60 s" in status_text(status)  # `purchasebot rollout status`
        assert "checks every 5 s" in status_text(status)
        slack = str(rollout_status_blocks(status))  # `/rollout status`
        assert "over the last 60 s" in slack and "checks every 5 s" in slack
        [event] = status.controller.events
        assert event.action == "monitor_settings_changed"
        assert event.actor.startswith("worker@")
        assert event.detail == "check_interval_seconds 30 -> 5, window_seconds 300 -> 60"

        def announced() -> list[str]:
            return [a for a in notifier.ops_alerts() if "Monitor settings changed by" in a]

        async def is_announced() -> bool:
            return bool(announced())

        await poll_until(is_announced, 10, "the ops channel told of the change")
        assert "window_seconds 300 -&gt; 60" in announced()[0]
        assert "the last process to start applies its settings" in announced()[0]

        # The last process to start wins: one with the defaults puts them back.
        await apply_monitor_settings(client, process_defaults(first), "bot")
        status = await rollout_admin_for(client, first).status()
        assert status.controller.thresholds.settings() == Thresholds().settings()
        assert [e.actor.split("@")[0] for e in status.controller.events] == ["worker", "bot"]


def process_defaults(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"monitor_window_seconds": None, "monitor_interval_seconds": None}
    )


async def test_an_invalid_monitor_setting_is_refused_and_changes_nothing(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    good = process_settings(tmp_path, window_seconds=120)
    bad = good.model_copy(update={"monitor_window_seconds": 0.0, "monitor_failure_limit": 0})
    async with control_worker(client, good):
        assert await rollout_admin_for(client, good).ensure_controller()
        # A process configured so refuses to start, naming what to fix, before touching anything.
        with pytest.raises(InvalidMonitorSettings) as refused:
            await ensure_installation(client, bad)
        assert "PURCHASEBOT_MONITOR_WINDOW_SECONDS = 0.0: Input should be greater than 0" in str(
            refused.value
        )
        assert (
            "PURCHASEBOT_MONITOR_FAILURE_LIMIT = 0: Input should be greater than or equal to 1"
            in str(refused.value)
        )
        # The controller refuses such a value too (its validator: the Update never enters its
        # history), e.g. from a process of an older version that did not check.
        unchecked = Thresholds.model_construct(**{**Thresholds().model_dump(), "window_seconds": 0})
        admin = RolloutAdmin(
            client,
            control_task_queue=good.control_task_queue,
            deployment_name=good.deployment_name,
            thresholds=unchecked,
        )
        with pytest.raises(Refused, match=r"window_seconds = 0\.0: Input should be greater than 0"):
            await admin.apply_monitor_settings("worker@old")
        status = await rollout_admin_for(client, good).status()
        assert status.controller.thresholds.window_seconds == 120
        assert status.controller.events == []


async def test_a_process_started_before_any_control_worker_applies_its_settings_once_one_polls(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """As `bot` does (it runs no worker): the settings wait for a control worker, in the
    background, and are applied when one polls."""
    client = dev_env.client
    first = process_settings(tmp_path, window_seconds=300)
    assert await rollout_admin_for(client, first).ensure_controller()  # no worker yet
    later = first.model_copy(update={"monitor_window_seconds": 90.0})
    applying = asyncio.create_task(apply_monitor_settings(client, later, "bot"))
    # With no control worker nothing can answer: the call waits (it neither fails nor gives up).
    done, _ = await asyncio.wait({applying}, timeout=0.5)
    assert not done
    async with control_worker(client, first):
        await asyncio.wait_for(applying, 30)
        status = await rollout_admin_for(client, first).status()
    assert status.controller.thresholds.window_seconds == 90
    assert [e.action for e in status.controller.events] == ["monitor_settings_changed"]


async def test_a_process_stopping_before_any_control_worker_polls_just_stops(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """`bot` stopping while its settings still wait for a worker: cancelled, not an error."""
    client = dev_env.client
    first = process_settings(tmp_path, window_seconds=300)
    assert await rollout_admin_for(client, first).ensure_controller()  # no worker ever
    later = first.model_copy(update={"monitor_window_seconds": 90.0})
    applying = asyncio.create_task(apply_monitor_settings(client, later, "bot"))
    # Past the read (no worker answers it): the Update is waiting when the process stops.
    done, _ = await asyncio.wait({applying}, timeout=QUERY_TIMEOUT.total_seconds() + 0.5)
    assert not done
    applying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await applying
