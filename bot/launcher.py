"""`purchasebot up`, `worker` and `bot`: start what the product needs and run until Ctrl-C.

On one machine `up` starts an embedded Temporal dev server, the local Slack workspace (when no
Slack tokens are set), the Slack bot and the worker, in one process. With TEMPORAL_ADDRESS (or a
Temporal config profile) set it uses that cluster or Temporal Cloud instead, and any number of
`purchasebot worker` processes can run beside it: workers keep no state of their own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.notifier import Notifier, RecordingNotifier
from activities.worker_deployments import WorkerDeployments
from appconfig.build import default_build_id
from appconfig.files import ReloadingFile
from appconfig.settings import RunMode, Settings
from bot.dev_server import STARTUP_SECONDS, EmbeddedTemporal
from bot.health import serve_probes
from bot.history_import import import_history_records, read_history_file
from bot.installation import apply_monitor_settings, ensure_installation
from bot.metrics import PrometheusExport
from bot.slack.connection import open_slack, start_bot, web_client
from bot.slack.notifier import SlackNotifier
from bot.temporal_client import connect
from bot.worker import (
    PURCHASE_WORKFLOWS,
    build_activities,
    build_control_activities,
    build_control_worker,
    build_worker,
    history_store,
)
from domain.directory import Directory
from entities.history_migration import MigrationIncomplete, migrate_legacy_history

log = logging.getLogger(__name__)

# How long `bot` and `worker` keep trying to reach Temporal at start (a cluster and its
# workers are often started together; the server may come up last).
CONNECT_SECONDS = 60.0


# Another process changing the same deployment's routing at the same moment.
RETRYABLE_ROUTING_ERRORS = (
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.ABORTED,
)


class RefusedToStart(Exception):
    """A production process was configured like a demo; the message says what to change."""


def temporal_address_configured() -> bool:
    return bool(os.environ.get("TEMPORAL_ADDRESS") or os.environ.get("TEMPORAL_PROFILE"))


def build_id(settings: Settings) -> str:
    return settings.build_id or default_build_id()


def refuse_faults_in_production(settings: Settings) -> None:
    faults = settings.fault_injection()
    if faults and settings.mode is not RunMode.DEMO:
        raise RefusedToStart(
            f"{', '.join(faults)} inject faults (orders refused or delayed) and are for demos "
            "and tests only: unset them, or set PURCHASEBOT_MODE=demo on a demo installation."
        )


def notifier_for(settings: Settings, slack: AsyncWebClient | None) -> Notifier:
    if slack is not None:
        directory = ReloadingFile(settings.directory, Directory)
        return SlackNotifier(
            slack,
            build_id=build_id(settings),
            approvals_channel=settings.approvals_channel,
            ops_channel=settings.ops_channel,
            ops_users=lambda: directory.get().value.ops_users,
        )
    if settings.mode is not RunMode.DEMO:
        raise RefusedToStart(
            "No Slack credentials: set SLACK_BOT_TOKEN (and SLACK_API_URL for a Slack other "
            "than slack.com), or PURCHASEBOT_MODE=demo to record notifications in "
            f"{settings.notifications_db} instead of sending them (then nobody is asked)."
        )
    print(
        f"Demo mode without Slack: notifications are recorded in {settings.notifications_db}.",
        flush=True,
    )
    return RecordingNotifier(settings.notifications_db)


async def run_worker(
    client: Client,
    settings: Settings,
    notifier: Notifier,
    *,
    once_polling: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the purchase worker (a Worker Deployment version when a deployment name is set)
    and the control worker until cancelled (Ctrl-C, SIGTERM: in-flight activities finish
    first). `once_polling` runs once they poll: steps that need a worker, such as an import
    through an Update."""
    refuse_faults_in_production(settings)
    async with AsyncExitStack() as stack:
        workers = await stack.enter_async_context(
            started_workers(
                client,
                settings,
                build_activities(client, settings, notifier),
                build_control_activities(client, settings.deployment_name, notifier),
            )
        )
        await migrate_history(client, settings)
        if settings.health_port:

            async def serving() -> bool:
                return workers.purchase.is_running and workers.control.is_running

            probes = await serve_probes(
                client, settings.host, settings.health_port, serving=serving
            )
            stack.push_async_callback(probes.cleanup)
        if once_polling is not None:
            await once_polling()
        version = workers.version
        where = (
            f"deployment {version.deployment_name}, build {version.build_id}"
            if version
            else "unversioned"
        )
        print(f"Worker polling {settings.task_queue} ({where}). Ctrl-C stops it.", flush=True)
        await asyncio.Event().wait()


@dataclass(frozen=True)
class RunningWorkers:
    purchase: Worker
    control: Worker
    version: WorkerDeploymentVersion | None
    """The purchase worker's Worker Deployment version; None: unversioned."""


@asynccontextmanager
async def started_workers(
    client: Client,
    settings: Settings,
    activities: Sequence[Callable[..., Any]],
    control_activities: Sequence[Callable[..., Any]],
    *,
    workflows: Sequence[type] = PURCHASE_WORKFLOWS,
) -> AsyncIterator[RunningWorkers]:
    """The purchase worker and the control worker, polling, as production runs them: the
    purchase worker is the Worker Deployment version of `settings` (PINNED workflows) unless
    the deployment name is empty, and the first build of a deployment is made current. The
    tests build their workers here too."""
    build = build_id(settings)
    version = (
        WorkerDeploymentVersion(deployment_name=settings.deployment_name, build_id=build)
        if settings.deployment_name
        else None
    )
    purchase_worker = build_worker(
        client, activities, task_queue=settings.task_queue, workflows=workflows, deployment=version
    )
    control_worker = build_control_worker(client, settings.control_task_queue, control_activities)
    # The purchase worker stops first: its in-flight work (a review reading the live rules, a
    # flags lookup) still reaches the control worker's entities. The other way round, each of
    # its workflow tasks waited out its local activity's timeout on shutdown (~20 s).
    async with control_worker, purchase_worker:
        if version is not None:
            await ensure_a_current_version(
                WorkerDeployments(client, settings.deployment_name), build
            )
        yield RunningWorkers(purchase_worker, control_worker, version)


async def migrate_history(client: Client, settings: Settings) -> None:
    """An installation upgraded from the single history entity moves its records into the
    shards on the first start (one cheap lookup once done). A failure does not stop the
    worker: the old entity keeps the records and the next start, or `purchasebot history
    migrate`, tries again."""
    try:
        migrated = await migrate_legacy_history(client, history_store(client, settings))
    except (MigrationIncomplete, RPCError) as err:
        log.warning("imported history not migrated yet: %s", err)
        print(f"Imported history not migrated yet: {err}", flush=True)
        return
    if migrated is not None:
        print(f"Imported history moved into the shards: {migrated.added} records.", flush=True)


async def ensure_a_current_version(deployments: WorkerDeployments, build: str) -> None:
    """The first build of a deployment becomes current; later builds wait for /rollout.
    Several workers of the first build start at once, and the server refuses concurrent
    requests to one deployment ("too many requests"): a refused call looks again."""
    deadline = time.monotonic() + 30
    while True:
        try:
            view = await deployments.describe()
            if view.current_build is not None:
                return
            if view.knows(build):  # the server learns of a version from its first poll
                await deployments.set_current(build, known=True)
                print(f"Build {build} is the first of deployment {deployments.name}: now current.")
                return
        except RPCError as err:
            if err.status not in RETRYABLE_ROUTING_ERRORS:
                raise
            log.info("deployment %s busy, trying again: %s", deployments.name, err.message)
        if time.monotonic() > deadline:
            raise RuntimeError(f"deployment {deployments.name} never got a current build")
        await asyncio.sleep(0.2)


async def up(settings: Settings, *, import_history: Path | None) -> None:
    records = read_history_file(import_history) if import_history else []
    # On one machine the bot is for this machine only.
    settings = settings.model_copy(update={"host": "127.0.0.1"})
    # One process: the bot's /metrics carries the worker's metrics too.
    metrics = PrometheusExport.start()
    async with AsyncExitStack() as stack:
        if temporal_address_configured():
            client = await connect(runtime=metrics.runtime)
        else:
            # The embedded server: a demo installation by construction.
            settings = settings.model_copy(update={"mode": RunMode.DEMO})
            server = EmbeddedTemporal(
                settings.temporal_db, port=settings.temporal_port, ui_port=settings.temporal_ui_port
            )
            await server.start()
            stack.push_async_callback(server.stop)
            print(f"Temporal dev server on {server.address}; Web UI at {server.ui_url}", flush=True)
            client = await connect(
                server.address, wait_seconds=STARTUP_SECONDS, runtime=metrics.runtime
            )
        refuse_faults_in_production(settings)
        await ensure_installation(client, settings)
        slack = await open_slack(settings, stack, local=True)
        if slack.local_workspace_url:
            print(
                f"Local Slack workspace: {slack.local_workspace_url} (open it in a browser)",
                flush=True,
            )
        await start_bot(settings, client, slack, stack, metrics)

        async def first_steps() -> None:
            await apply_monitor_settings(client, settings, "up")
            if records:
                result = await import_history_records(
                    history_store(client, settings), records, imported_by="up"
                )
                print(f"Purchase history from {import_history}: {result.added} new records.")

        await run_worker(
            client, settings, notifier_for(settings, slack.client), once_polling=first_steps
        )


async def worker(settings: Settings) -> None:
    refuse_faults_in_production(settings)
    notifier = notifier_for(settings, web_client(settings))
    # The worker's metrics are served by the SDK's exporter itself, on its own port.
    runtime = (
        PrometheusExport.start(settings.host, settings.metrics_port).runtime
        if settings.metrics_port
        else None
    )
    client = await connect(wait_seconds=CONNECT_SECONDS, runtime=runtime)
    await ensure_installation(client, settings)

    async def first_steps() -> None:
        await apply_monitor_settings(client, settings, "worker")

    await run_worker(client, settings, notifier, once_polling=first_steps)


async def bot(settings: Settings) -> None:
    async with AsyncExitStack() as stack:
        slack = await open_slack(settings, stack, local=False)
        metrics = PrometheusExport.start()
        client = await connect(wait_seconds=CONNECT_SECONDS, runtime=metrics.runtime)
        await ensure_installation(client, settings)
        # Needs a control worker, which a bot does not run: in the background, not before serving.
        settings_sync = asyncio.create_task(apply_monitor_settings(client, settings, "bot"))
        stack.callback(settings_sync.cancel)
        await start_bot(settings, client, slack, stack, metrics)
        await asyncio.Event().wait()
