"""What every process mode makes sure exists before it serves: `up`, `bot` and `worker` alike.

A company runs `purchasebot bot` and several `purchasebot worker` processes against a cluster;
none of them may depend on `up` having run once. Each step is idempotent (a no-op when done),
so any number of processes can start at once, in any order.
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError

from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from bot.flags_admin import FlagsAdmin
from bot.rollout_admin import RolloutAdmin
from bot.rules_admin import RulesAdmin, load_initial_rules
from domain.directory import Directory
from domain.feature_flags import load_flags_file
from domain.rollout_models import Thresholds
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

log = logging.getLogger(__name__)


def rollout_admin_for(client: Client, settings: Settings) -> RolloutAdmin:
    return RolloutAdmin(
        client,
        control_task_queue=settings.control_task_queue,
        deployment_name=settings.deployment_name,
        thresholds=Thresholds.model_validate(settings.monitor_overrides),
        directory=ReloadingFile(settings.directory, Directory),
    )


async def ensure_installation(client: Client, settings: Settings) -> None:
    """Search attributes (where the server allows it), the feature flags entity from
    `settings.flags` and the review rules entity from `settings.rules` (never overwriting what
    people changed since) and the rollout controller. Raises ConfigFileError when the flags or
    rules file is invalid: a process must not start on it."""
    initial_flags = load_flags_file(settings.flags)
    initial_rules = load_initial_rules(settings.rules)
    await ensure_search_attributes(client)
    if await FlagsAdmin(client, settings.control_task_queue).ensure(initial_flags):
        print(f"Feature flags initialised from {settings.flags}.", flush=True)
    if await RulesAdmin(client, settings.control_task_queue, initial=initial_rules).ensure():
        print(f"Review rules initialised from {settings.rules} (v1).", flush=True)
    if settings.deployment_name:
        await rollout_admin_for(client, settings).ensure_controller()


async def ensure_search_attributes(client: Client) -> None:
    """Register our search attributes. Temporal Cloud refuses this API: there, create them once
    with `tcld` or the Cloud UI (see the README); a refusal is logged, not fatal."""
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
