"""A complete, isolated product for one test: its own task queue, data directory, employee ids
and imported-history entity, on the shared real Temporal server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType, VersioningBehavior
from temporalio.client import Client

from activities.notifier import Notifier, RecordingNotifier
from activities.orders_ledger import OrdersLedger
from appconfig.files import ReloadingFile, load_yaml_model
from appconfig.settings import Settings
from bot.delegations_admin import DelegationsAdmin
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records
from bot.launcher import started_workers
from bot.purchase_service import PurchaseService
from bot.rules_admin import RulesAdmin, load_initial_rules
from bot.worker import (
    PURCHASE_WORKFLOWS,
    build_activities,
    build_control_activities,
    history_store,
)
from domain.catalog import Catalog, CatalogProduct
from domain.directory import Directory
from domain.feature_flags import load_flags_file
from domain.history import parse_history_csv
from domain.models import Stage
from entities.history_store import HistoryStore

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass
class World:
    client: Client
    settings: Settings
    service: PurchaseService
    ledger: OrdersLedger
    notifier: RecordingNotifier
    catalog: Catalog
    history: HistoryStore
    employee_prefix: str
    flags: FlagsAdmin
    rules: RulesAdmin
    delegations: DelegationsAdmin

    def product(self, predicate: Callable[[CatalogProduct], bool]) -> CatalogProduct:
        return next(p for p in self.catalog.products if predicate(p))

    def url(self, product: CatalogProduct) -> str:
        return f"https://www.{product.marketplaces[0]}/dp/{product.asin}"

    async def import_sample_history(self) -> None:
        text = (REPO / "sample-history.csv").read_text()
        records = parse_history_csv(text.replace("\nE", f"\n{self.employee_prefix}E"))
        await import_history_records(self.history, records, imported_by="test")

    async def ran_pinned_on_this_build(self, workflow_id: str) -> bool:
        """Whether the workflow's tasks ran PINNED on this world's Worker Deployment version,
        as production runs requests (read from its history)."""
        history = await self.client.get_workflow_handle(workflow_id).fetch_history()
        completed = [
            e.workflow_task_completed_event_attributes
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        return bool(completed) and all(
            c.versioning_behavior == VersioningBehavior.VERSIONING_BEHAVIOR_PINNED
            and c.deployment_version.deployment_name == self.settings.deployment_name
            for c in completed
        )

    async def wait_for_stage(self, request_id: str, stage: Stage, within: float = 10) -> None:
        async def reached() -> bool:
            return (await self.service.status(request_id)).stage == stage

        await poll_until(reached, within, f"request {request_id} to reach {stage}")


async def poll_until(
    check: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> None:
    """Poll with a deadline: the only way tests here wait for something."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)


def make_settings(
    tmp_path: Path, employee_prefix: str, task_queue: str | None, *, versioned: bool = False
) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    directory = (REPO / "directory.yaml").read_text()
    directory = directory.replace("employee_id: E", f"employee_id: {employee_prefix}E")
    (tmp_path / "directory.yaml").write_text(directory)
    return Settings(
        rules=REPO / "rules.yaml",
        catalog=REPO / "catalog.yaml",
        directory=tmp_path / "directory.yaml",
        data_dir=tmp_path / "data",
        task_queue=task_queue or f"test-{uuid.uuid4().hex[:8]}",
        control_task_queue=f"test-control-{uuid.uuid4().hex[:8]}",
        # Versioned as production runs: its own deployment per world (the first build becomes
        # current). Unversioned only where a test needs it (see running_world).
        deployment_name=f"deploy-{employee_prefix}" if versioned else "",
    )


@asynccontextmanager
async def running_world(
    client: Client,
    tmp_path: Path,
    *,
    replace_activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = PURCHASE_WORKFLOWS,
    task_queue: str | None = None,
    notifier: Notifier | None = None,
    versioned: bool = True,
    history_id_prefix: str | None = None,
) -> AsyncIterator[World]:
    """The product's workers as production builds them (bot.launcher.started_workers): a PINNED
    Worker Deployment version on the dev server. `versioned=False` on the time-skipping server
    (it ignores deployments) and where workers of different code must share one task queue
    unversioned (a request started by old code finishing on new code)."""
    prefix = f"T{uuid.uuid4().hex[:6]}"
    settings = make_settings(tmp_path, prefix, task_queue, versioned=versioned)
    recorder = RecordingNotifier(settings.notifications_db)
    ledger = OrdersLedger(settings.orders_db)
    history_prefix = history_id_prefix or f"history-{uuid.uuid4().hex[:8]}-"
    flags_id = f"flags-{uuid.uuid4().hex[:8]}"
    rules_id = f"rules-{uuid.uuid4().hex[:8]}"
    delegations_id = f"delegations-{uuid.uuid4().hex[:8]}"
    activities = build_activities(
        client,
        settings,
        notifier or recorder,
        ledger=ledger,
        history_id_prefix=history_prefix,
        flags_workflow_id=flags_id,
        rules_workflow_id=rules_id,
        delegations_workflow_id=delegations_id,
    )
    if replace_activities:
        names = {_activity_name(a) for a in replace_activities}
        activities = [a for a in activities if _activity_name(a) not in names]
        activities += list(replace_activities)
    control_activities = build_control_activities(client, f"deploy-{prefix}", notifier or recorder)
    directory = ReloadingFile(settings.directory, Directory)
    flags = FlagsAdmin(client, settings.control_task_queue, flags_id)
    rules = RulesAdmin(
        client, settings.control_task_queue, rules_id, initial=load_initial_rules(settings.rules)
    )
    service = PurchaseService(
        client,
        directory,
        task_queue=settings.task_queue,
        catalog=ReloadingFile(settings.catalog, Catalog),
    )
    async with started_workers(
        client, settings, activities, control_activities, workflows=workflows
    ):
        await flags.ensure(load_flags_file(REPO / "flags.yaml"))
        await rules.ensure()
        yield World(
            client=client,
            settings=settings,
            service=service,
            ledger=ledger,
            notifier=recorder,
            catalog=load_yaml_model(settings.catalog, Catalog).value,
            history=history_store(client, settings, history_prefix),
            employee_prefix=prefix,
            flags=flags,
            rules=rules,
            delegations=DelegationsAdmin(
                client, settings.control_task_queue, service, directory, delegations_id
            ),
        )


def _activity_name(fn: Callable[..., Any]) -> str:
    defn = getattr(fn, "__temporal_activity_definition")
    return str(defn.name)
