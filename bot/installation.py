"""What every process mode makes sure exists before it serves: `up`, `bot` and `worker` alike.

A company runs `purchasebot bot` and several `purchasebot worker` processes against a cluster;
none of them may depend on `up` having run once. Each step is idempotent (a no-op when done),
so any number of processes can start at once, in any order.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Mapping

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError

from appconfig.files import ReloadingFile
from appconfig.settings import MONITOR_ENV, Settings
from bot.flags_admin import FlagsAdmin
from bot.rollout_admin import RolloutAdmin
from bot.rules_admin import RulesAdmin, load_initial_rules
from domain.directory import Directory
from domain.feature_flags import load_flags_file
from domain.refusal import Refused
from domain.rollout_models import Thresholds, settings_change
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)


class InvalidMonitorSettings(Exception):
    """PURCHASEBOT_MONITOR_* values the monitor cannot use; the message names them."""


class MissingSearchAttributes(Exception):
    """The namespace lacks search attributes the workflows set: every request would stop at
    the first one it sets (the server fails the workflow task, again and again)."""


def monitor_thresholds(settings: Settings) -> Thresholds:
    """This process's monitor thresholds: its PURCHASEBOT_MONITOR_* values, the defaults where
    unset, checked by the rules the controller's Update checks them by."""
    try:
        return Thresholds().with_settings(settings.monitor_overrides)
    except ValueError as err:
        text = str(err)
        for field, env in MONITOR_ENV.items():  # name each value as ops set it
            text = text.replace(f"{field} = ", f"{env} = ")
        raise InvalidMonitorSettings(text) from None


def rollout_admin_for(client: Client, settings: Settings) -> RolloutAdmin:
    return RolloutAdmin(
        client,
        control_task_queue=settings.control_task_queue,
        deployment_name=settings.deployment_name,
        thresholds=monitor_thresholds(settings),
        directory=ReloadingFile(settings.directory, Directory),
    )


async def ensure_installation(client: Client, settings: Settings) -> None:
    """Search attributes (where the server allows it), the feature flags entity from
    `settings.flags` and the review rules entity from `settings.rules` (never overwriting what
    people changed since) and the rollout controller. Raises ConfigFileError when the flags or
    rules file is invalid, InvalidMonitorSettings for a monitor setting out of bounds: a process
    must not start on it. A running controller gets this process's monitor settings from
    `apply_monitor_settings`, once a control worker serves it."""
    initial_flags = load_flags_file(settings.flags)
    initial_rules = load_initial_rules(settings.rules)
    monitor_thresholds(settings)
    await ensure_search_attributes(client)
    if await FlagsAdmin(client, settings.control_task_queue).ensure(initial_flags):
        print(f"Feature flags initialised from {settings.flags}.", flush=True)
    if await RulesAdmin(client, settings.control_task_queue, initial=initial_rules).ensure():
        print(f"Review rules initialised from {settings.rules} (v1).", flush=True)
    if settings.deployment_name:
        await rollout_admin_for(client, settings).ensure_controller()


async def apply_monitor_settings(client: Client, settings: Settings, process: str) -> None:
    """The running controller takes this process's monitor settings (PURCHASEBOT_MONITOR_*,
    defaults where unset) when they differ from its own: the last process to start applies its
    settings. Audited as a controller event and announced in the ops channel by the controller.
    Waits for a control worker: `up` and `worker` call it once theirs polls, `bot` in the
    background. A refusal is logged: the controller keeps its settings."""
    if not settings.deployment_name:
        return
    actor = f"{process}@{socket.gethostname()}"
    try:
        result = await rollout_admin_for(client, settings).apply_monitor_settings(actor)
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None  # the process stops (the SDK renames it)
        log.error("monitor settings of %s: no answer from the rollout controller", actor)
        return
    except (Refused, RPCError) as err:
        # The process serves on; the controller keeps its settings, and the log says so.
        log.error("monitor settings of %s not applied by the rollout controller: %s", actor, err)
        print(f"Monitor settings NOT applied by the rollout controller: {err}", flush=True)
        return
    if result.changed:
        line = (
            f"Monitor settings changed by {actor}: {settings_change(result.before, result.after)}"
            " (the last process to start applies its settings)."
        )
        log.info(line)
        print(line, flush=True)


async def ensure_search_attributes(client: Client) -> None:
    """Register our search attributes. Temporal Cloud refuses this API: there, create them once
    with `tcld` or the Cloud UI (see the README); a refusal is logged. Then raises
    MissingSearchAttributes when the namespace still lacks one (an upgrade that brings a new one
    to Cloud): the process must not start workflows that would stop at it."""
    wanted = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in CUSTOM_SEARCH_ATTRIBUTES
    }
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=wanted)
        )
    except RPCError as err:
        if "already" not in err.message.lower():
            log.warning("could not register search attributes (%s); see the README", err.message)
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
    except RPCError as err:  # not allowed to look: the registration's log line has to do
        log.warning("could not list search attributes (%s)", err.message)
        return
    problems = search_attribute_problems(wanted, dict(listed.custom_attributes))
    if problems:
        raise MissingSearchAttributes(
            f"Namespace {client.namespace} {'; '.join(problems)}: the workflows set these "
            "search attributes. Create the missing ones (Temporal Cloud: the Cloud UI or `tcld "
            "namespace search-attributes add`; see the README), then start again."
        )


def search_attribute_problems(
    wanted: Mapping[str, IndexedValueType.ValueType],
    has: Mapping[str, IndexedValueType.ValueType],
) -> list[str]:
    """What the namespace lacks, and what it has with another type, of `wanted`."""
    missing = [f"{name} ({_type(kind)})" for name, kind in wanted.items() if name not in has]
    other = [
        f"{name} as {_type(has[name])} where {_type(kind)} is needed"
        for name, kind in wanted.items()
        if name in has and has[name] != kind
    ]
    return ([f"lacks {', '.join(missing)}"] if missing else []) + (
        [f"has {', '.join(other)}"] if other else []
    )


def _type(kind: IndexedValueType.ValueType) -> str:
    return IndexedValueType.Name(kind).removeprefix("INDEXED_VALUE_TYPE_")
