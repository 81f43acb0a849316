"""Wires activities to their dependencies and runs the worker: the one place a worker is built.

Workers hold no state of their own: the catalog is a read-only file shipped with the worker
(identical on every machine, versioned by content hash); the review rules, flags, history and
imports live in Temporal; the orders ledger and the notifier stand in for Amazon and Slack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.approval_plan import ApprovalPlanActivities, ApprovalTimings
from activities.automated_review import AutomatedReviewActivities, OpsAlertThrottle
from activities.delegations import DelegationActivities
from activities.feature_flags import FeatureFlagActivities
from activities.notifications import NotificationActivities
from activities.notifier import Notifier
from activities.ordering import OrderingActivities
from activities.orders_ledger import OrdersLedger
from activities.product_validation import ProductValidationActivities
from activities.review_rules_source import LiveRules
from activities.rollout import RolloutActivities
from activities.user_history import UserHistorySource
from activities.worker_deployments import WorkerDeployments
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from domain.catalog import Catalog
from domain.directory import Directory
from domain.history_shards import SHARD_WORKFLOW_ID_PREFIX
from entities.delegations import DELEGATIONS_WORKFLOW_ID, DelegationsWorkflow
from entities.feature_flags import FLAGS_WORKFLOW_ID, FeatureFlagsWorkflow
from entities.history_changes import HistoryChangesWorkflow
from entities.history_shard import HistoryShardWorkflow
from entities.history_store import HistoryStore
from entities.imported_history import ImportedHistoryWorkflow
from entities.ops_audit import OpsAuditWorkflow
from entities.review_rules import RULES_WORKFLOW_ID, ReviewRulesWorkflow
from workflows.names import TASK_QUEUE
from workflows.purchase_approval import PurchaseApprovalWorkflow
from workflows.rollout_controller import RolloutControllerWorkflow

# The purchase worker is versioned (a Worker Deployment version); the control worker, running
# the long-lived entity workflows, is not: an entity must never be pinned to one build.
# On SIGTERM a worker stops polling at once and gives running activities this long to finish
# (an order half-placed is finished, not abandoned); below Kubernetes' default 30 s grace.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)

PURCHASE_WORKFLOWS: Sequence[type] = (PurchaseApprovalWorkflow,)
CONTROL_WORKFLOWS: Sequence[type] = (
    HistoryShardWorkflow,
    HistoryChangesWorkflow,
    # The old single history entity: kept until every installation has migrated (its running
    # instance is read and retired by entities.history_migration).
    ImportedHistoryWorkflow,
    OpsAuditWorkflow,
    RolloutControllerWorkflow,
    FeatureFlagsWorkflow,
    ReviewRulesWorkflow,
    DelegationsWorkflow,
)


def history_store(
    client: Client, settings: Settings, id_prefix: str = SHARD_WORKFLOW_ID_PREFIX
) -> HistoryStore:
    return HistoryStore(client, settings.control_task_queue, id_prefix)


def build_activities(
    client: Client,
    settings: Settings,
    notifier: Notifier,
    *,
    ledger: OrdersLedger | None = None,
    history_id_prefix: str = SHARD_WORKFLOW_ID_PREFIX,
    flags_workflow_id: str = FLAGS_WORKFLOW_ID,
    rules_workflow_id: str = RULES_WORKFLOW_ID,
    delegations_workflow_id: str = DELEGATIONS_WORKFLOW_ID,
) -> list[Callable[..., Any]]:
    """Load and check the configuration files, then bind every activity to what it needs.
    Raises ConfigFileError when a file is invalid: a worker must not start on a broken file."""
    catalog = ReloadingFile(settings.catalog, Catalog)
    history = UserHistorySource(client, history_store(client, settings, history_id_prefix))
    validation = ProductValidationActivities(catalog)
    review = AutomatedReviewActivities(
        LiveRules(client, rules_workflow_id), history, OpsAlertThrottle(notifier)
    )
    ordering = OrderingActivities(
        ledger
        or OrdersLedger(
            settings.orders_db,
            confirmation_delay=settings.order_confirmation_delay,
            refuse_orders=settings.fail_orders,
        )
    )
    directory = ReloadingFile(settings.directory, Directory)
    notifications = NotificationActivities(notifier, lambda: directory.get().value)
    flags = FeatureFlagActivities(client, flags_workflow_id, alert_ops=notifier.alert_ops)
    plan = ApprovalPlanActivities(
        ApprovalTimings.from_days(settings.reminder_after_days, settings.escalate_after_days),
        LiveRules(client, rules_workflow_id),
        lambda: directory.get().value,
    )
    delegations = DelegationActivities(
        client, lambda: directory.get().value, delegations_workflow_id
    )
    return activity_methods(validation, flags, review, ordering, notifications, plan, delegations)


def activity_methods(*owners: object) -> list[Callable[..., Any]]:
    """Every `@activity.defn` method of the given activity objects, bound to them: a new
    activity method on an existing class is registered without touching this file."""
    return [
        method
        for owner in owners
        for name in dir(type(owner))
        if hasattr(method := getattr(owner, name), "__temporal_activity_definition")
    ]


# The SDK's default.
DEFAULT_CACHED_WORKFLOWS = 1000


def build_worker(
    client: Client,
    activities: Sequence[Callable[..., Any]],
    *,
    task_queue: str = TASK_QUEUE,
    workflows: Sequence[type] = PURCHASE_WORKFLOWS,
    deployment: WorkerDeploymentVersion | None = None,
    max_cached_workflows: int = DEFAULT_CACHED_WORKFLOWS,
    max_concurrent_workflow_tasks: int | None = None,
) -> Worker:
    """The purchase worker. With `deployment`, it is that Worker Deployment version and its
    workflows are PINNED by default: a request finishes on the build it started on (see the
    README on versioning and rollback)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        max_cached_workflows=max_cached_workflows,
        max_concurrent_workflow_tasks=max_concurrent_workflow_tasks,
        deployment_config=(
            WorkerDeploymentConfig(
                version=deployment,
                use_worker_versioning=True,
                default_versioning_behavior=VersioningBehavior.PINNED,
            )
            if deployment is not None
            else None
        ),
    )


def build_control_activities(
    client: Client, deployment_name: str, notifier: Notifier
) -> list[Callable[..., Any]]:
    rollout = RolloutActivities(client, WorkerDeployments(client, deployment_name), notifier)
    return activity_methods(rollout)


# Entity workflow tasks are pure Python CPU work: running more at once in threads gains nothing
# under the GIL and stretches each task's wall time (16 at once made 50 ms tasks take seconds on a
# busy machine, past the SDK's 2 s deadlock detector).
CONTROL_WORKFLOW_TASKS = 4
# Cached entity runs. Few: the flags, rules, rollout and audit entities, and the history shards
# an import is writing. A cached shard run costs ~0.35 MB in the worker (SDK and core state
# beside the shard's own ~50 KB) and nothing needs it cached: reviews read a shard from the
# server without a worker (entities.history_store), and an evicted shard's run is one compact
# start event (it continues as new after every batch), replayed in ~1 ms by its next batch.
CONTROL_CACHED_WORKFLOWS = 64


def build_control_worker(
    client: Client,
    task_queue: str,
    activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = CONTROL_WORKFLOWS,
) -> Worker:
    """The control worker: unversioned (an entity must never be pinned to one build)."""
    return build_worker(
        client,
        activities,
        task_queue=task_queue,
        workflows=workflows,
        max_cached_workflows=CONTROL_CACHED_WORKFLOWS,
        max_concurrent_workflow_tasks=CONTROL_WORKFLOW_TASKS,
    )
