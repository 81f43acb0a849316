"""Two (or more) worker builds of one Worker Deployment on the real dev server, the rollout
controller on its control worker, and helpers to send traffic and see where it went."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.activity import _Definition
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    VersioningOverride,
    WorkerDeploymentVersion,
)

from activities.notifier import Notifier, RecordingNotifier
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from bot.flags_admin import FlagsAdmin
from bot.history_import import import_history_records
from bot.purchase_service import PurchaseService, new_request_id
from bot.rollout_admin import RolloutAdmin
from bot.rules_admin import RulesAdmin, load_initial_rules
from bot.worker import (
    build_activities,
    build_control_activities,
    build_control_worker,
    build_worker,
    history_store,
)
from domain.directory import Directory
from domain.feature_flags import load_flags_file
from domain.history import parse_history_csv
from domain.intake import build_purchase_request
from domain.models import PurchaseResult, PurchaseWorkflowInput
from domain.rollout_models import Thresholds
from domain.workflow_ids import purchase_workflow_id
from tests.integration.world import REPO, make_settings, poll_until
from workflows.names import DEPARTMENT, EMPLOYEE_ID
from workflows.purchase_approval import PurchaseApprovalWorkflow

INVALID_PRODUCT = "https://www.amazon.es/dp/B000000000"  # valid link, not in the catalog
BOOK = "https://www.amazon.es/dp/1449373321"


@dataclass
class DeploymentWorld:
    client: Client
    deployment: str
    admin: RolloutAdmin
    service: PurchaseService
    notifier: RecordingNotifier
    task_queue: str
    control_task_queue: str
    directory: ReloadingFile[Directory]
    settings: Settings
    prefix: str
    _activities: list[Any]
    _stack: AsyncExitStack
    _control: Any
    _control_args: tuple[Any, ...]
    _builds: dict[str, Any] = field(default_factory=dict)

    async def restart_control_worker(self) -> None:
        """The controller's worker goes away and a new one starts: the plan must go on."""
        await self._control.__aexit__(None, None, None)
        self._control = build_control_worker(*self._control_args)
        await self._control.__aenter__()

    async def start_build(self, build_id: str, workflow: type) -> None:
        worker = build_worker(
            self.client,
            self._activities,
            task_queue=self.task_queue,
            workflows=[workflow],
            deployment=WorkerDeploymentVersion(self.deployment, build_id),
        )
        self._builds[build_id] = worker
        await self._stack.enter_async_context(worker)

        async def known() -> bool:
            return (await self.admin.deployments.describe()).knows(build_id)

        await poll_until(known, 30, f"build {build_id} to register")

    async def enable_automated_review(self) -> None:
        """The feature flags and review rules as a fresh installation has them, and the sample
        history imported: a small request of someone with a good record is auto-approved
        (UALICE, BOOK at 39.90), as in production."""
        queue = self.settings.control_task_queue
        await FlagsAdmin(self.client, queue, f"flags-{self.prefix}").ensure(
            load_flags_file(REPO / "flags.yaml")
        )
        initial = load_initial_rules(self.settings.rules)
        await RulesAdmin(self.client, queue, f"rules-{self.prefix}", initial=initial).ensure()
        text = (REPO / "sample-history.csv").read_text()
        records = parse_history_csv(text.replace("\nE", f"\n{self.prefix}E"))
        store = history_store(self.client, self.settings, f"history-{self.prefix}-")
        await import_history_records(store, records, imported_by="test")

    async def replace_build(self, build_id: str, workflow: type) -> None:
        """The build's workers now run `workflow`: a build whose trouble starts late."""
        await self._builds.pop(build_id).shutdown()
        await self.start_build(build_id, workflow)

    async def start_request(
        self,
        *,
        requester: str = "UNICO",
        url: str = INVALID_PRODUCT,
        amount: str = "10",
        override: VersioningOverride | None = None,
    ) -> WorkflowHandle[Any, PurchaseResult]:
        request = build_purchase_request(
            request_id=new_request_id(),
            requester_slack_id=requester,
            url=url,
            amount=amount,
            directory=self.directory.get().value,
            now=datetime.now(UTC),
        )
        return await self.client.start_workflow(
            PurchaseApprovalWorkflow.run,
            PurchaseWorkflowInput(request=request),
            id=purchase_workflow_id(request.request_id),
            task_queue=self.task_queue,
            versioning_override=override,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(EMPLOYEE_ID, request.employee_id),
                    SearchAttributePair(DEPARTMENT, request.department),
                ]
            ),
        )

    async def build_of(self, workflow_id: str) -> str:
        description = await self.client.get_workflow_handle(workflow_id).describe()
        info = description.raw_description.workflow_execution_info.versioning_info
        return info.deployment_version.build_id

    async def builds_of(self, handles: list[WorkflowHandle[Any, Any]]) -> list[str]:
        return list(await asyncio.gather(*(self.build_of(h.id) for h in handles)))

    async def until_new_requests_run_on(self, build_id: str) -> None:
        """A routing change can reach new requests a moment after the server accepted it (a
        request started at once may still run on the previous build): wait until one does."""

        async def reached() -> bool:
            probe = await self.start_request()  # an invalid product: it ends at once

            async def placed() -> bool:
                return await self.build_of(probe.id) != ""

            await poll_until(placed, 20, "a probe request to run on a build")
            return await self.build_of(probe.id) == build_id

        await poll_until(reached, 20, f"new requests to run on build {build_id}")


def activity_name(fn: Callable[..., Any]) -> str:
    definition = _Definition.from_callable(fn)
    assert definition is not None and definition.name is not None
    return definition.name


@asynccontextmanager
async def deployment_world(
    client: Client,
    tmp_path: Path,
    thresholds: Thresholds | None = None,
    alerts: Notifier | None = None,
    faulty: Sequence[Callable[..., Any]] = (),
    settings_changes: dict[str, Any] | None = None,
) -> AsyncIterator[DeploymentWorld]:
    """`alerts`: where the controller's ops alerts go (default: the recording notifier).
    `faulty`: control activities that replace the product's of the same name (a fault).
    `settings_changes`: worker settings of every build (e.g. compressed reminder timings)."""
    prefix = f"T{uuid.uuid4().hex[:6]}"
    settings = make_settings(tmp_path, prefix, None).model_copy(update=settings_changes or {})
    deployment = f"test-deploy-{uuid.uuid4().hex[:8]}"
    notifier = RecordingNotifier(settings.notifications_db)
    activities = build_activities(
        client,
        settings,
        notifier,
        history_id_prefix=f"history-{prefix}-",
        flags_workflow_id=f"flags-{prefix}",
        rules_workflow_id=f"rules-{prefix}",
    )
    directory = ReloadingFile(settings.directory, Directory)
    replaced = {activity_name(a) for a in faulty}
    control_activities = [
        a
        for a in build_control_activities(client, deployment, alerts or notifier)
        if activity_name(a) not in replaced
    ]
    control_args = (client, settings.control_task_queue, [*control_activities, *faulty])
    admin = RolloutAdmin(
        client,
        control_task_queue=settings.control_task_queue,
        deployment_name=deployment,
        thresholds=thresholds,
        directory=directory,
    )
    async with AsyncExitStack() as stack:
        world = DeploymentWorld(
            client=client,
            deployment=deployment,
            admin=admin,
            service=PurchaseService(
                client, directory, task_queue=settings.task_queue, routing=admin.routing
            ),
            notifier=notifier,
            task_queue=settings.task_queue,
            control_task_queue=settings.control_task_queue,
            directory=directory,
            settings=settings,
            prefix=prefix,
            _activities=activities,
            _stack=stack,
            _control=build_control_worker(*control_args),
            _control_args=control_args,
        )
        await world._control.__aenter__()
        try:
            yield world
        finally:
            # The builds' workers stop first (their in-flight work may still need the control
            # worker), then the controller's.
            await stack.aclose()
            await world._control.__aexit__(None, None, None)
