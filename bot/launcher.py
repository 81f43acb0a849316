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
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError

from activities.notifier import Notifier, RecordingNotifier
from activities.worker_deployments import WorkerDeployments
from appconfig.build import default_build_id
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from bot.dev_server import STARTUP_SECONDS, EmbeddedTemporal
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records, read_history_file
from bot.slack.connection import open_slack, start_bot, web_client
from bot.slack.notifier import SlackNotifier
from bot.temporal_client import connect
from bot.worker import (
    build_activities,
    build_control_activities,
    build_control_worker,
    build_worker,
)
from domain.directory import Directory
from domain.feature_flags import load_flags_file
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)


def temporal_address_configured() -> bool:
    return bool(os.environ.get("TEMPORAL_ADDRESS") or os.environ.get("TEMPORAL_PROFILE"))


def build_id(settings: Settings) -> str:
    return settings.build_id or default_build_id()


def notifier_for(settings: Settings, slack: AsyncWebClient | None) -> Notifier:
    if slack is None:
        return RecordingNotifier(settings.notifications_db)
    directory = ReloadingFile(settings.directory, Directory)
    return SlackNotifier(
        slack,
        build_id=build_id(settings),
        approvals_channel=settings.approvals_channel,
        ops_channel=settings.ops_channel,
        ops_users=lambda: directory.get().value.ops_users,
    )


async def run_worker(
    client: Client,
    settings: Settings,
    notifier: Notifier,
    *,
    once_polling: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the purchase worker (a Worker Deployment version when a deployment name is set)
    and the control worker until cancelled (Ctrl-C). `once_polling` runs once they poll: steps
    that need a worker, such as an import through an Update."""
    build = build_id(settings)
    version = (
        WorkerDeploymentVersion(deployment_name=settings.deployment_name, build_id=build)
        if settings.deployment_name
        else None
    )
    purchase_worker = build_worker(
        client,
        build_activities(client, settings, notifier),
        task_queue=settings.task_queue,
        deployment=version,
    )
    control_worker = build_control_worker(
        client,
        settings.control_task_queue,
        build_control_activities(client, settings.deployment_name, notifier),
    )
    async with purchase_worker, control_worker:
        if version is not None:
            await ensure_a_current_version(
                WorkerDeployments(client, settings.deployment_name), build
            )
        if once_polling is not None:
            await once_polling()
        where = (
            f"deployment {settings.deployment_name}, build {build}" if version else "unversioned"
        )
        print(f"Worker polling {settings.task_queue} ({where}). Ctrl-C stops it.", flush=True)
        await asyncio.Event().wait()


async def ensure_a_current_version(deployments: WorkerDeployments, build: str) -> None:
    """The first build of a deployment becomes current; later builds wait for /rollout."""
    deadline = time.monotonic() + 30
    view = await deployments.describe()
    while not view.knows(build):  # the server learns of a version from its first poll
        if time.monotonic() > deadline:
            raise RuntimeError(f"deployment {deployments.name} never saw build {build} poll")
        await asyncio.sleep(0.2)
        view = await deployments.describe()
    if view.current_build is None:
        await deployments.set_current(build)
        print(f"Build {build} is the first of deployment {deployments.name}: now current.")


async def ensure_search_attributes(client: Client) -> None:
    """Register our search attributes on a server we did not start. Temporal Cloud refuses
    this API: there, create them once with `tcld` or the Cloud UI (see the README)."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                    for key in CUSTOM_SEARCH_ATTRIBUTES
                },
            )
        )
    except RPCError as err:
        if "already" not in err.message.lower():
            log.warning("could not register search attributes (%s); see the README", err.message)


async def up(settings: Settings, *, import_history: Path | None) -> None:
    records = read_history_file(import_history) if import_history else []
    async with AsyncExitStack() as stack:
        if temporal_address_configured():
            client = await connect()
            await ensure_search_attributes(client)
        else:
            server = EmbeddedTemporal(
                settings.temporal_db, port=settings.temporal_port, ui_port=settings.temporal_ui_port
            )
            await server.start()
            stack.push_async_callback(server.stop)
            print(f"Temporal dev server on {server.address}; Web UI at {server.ui_url}", flush=True)
            client = await connect(server.address, wait_seconds=STARTUP_SECONDS)
        slack = await open_slack(settings, stack, local=True)
        if slack.local_workspace_url:
            print(
                f"Local Slack workspace: {slack.local_workspace_url} (open it in a browser)",
                flush=True,
            )
        await start_bot(settings, client, slack, stack)

        async def first_steps() -> None:
            flags = FlagsAdmin(client, settings.control_task_queue)
            if await flags.ensure(load_flags_file(settings.flags)):
                print(f"Feature flags initialised from {settings.flags}.")
            if records:
                result = await import_history_records(client, settings, records, imported_by="up")
                print(f"Purchase history from {import_history}: {result.added} new records.")

        await run_worker(
            client, settings, notifier_for(settings, slack.client), once_polling=first_steps
        )


async def worker(settings: Settings) -> None:
    await run_worker(await connect(), settings, notifier_for(settings, web_client(settings)))


async def bot(settings: Settings) -> None:
    async with AsyncExitStack() as stack:
        slack = await open_slack(settings, stack, local=False)
        await start_bot(settings, await connect(), slack, stack)
        await asyncio.Event().wait()
