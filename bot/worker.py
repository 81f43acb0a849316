"""Wires activities to their dependencies and runs the worker: the one place a worker is built.

Workers hold no state of their own: rules and the catalog are read-only files shipped with the
worker (identical on every machine, versioned by content hash); history and imports live in
Temporal; the orders ledger and the notifier stand in for Amazon and Slack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.automated_review import AutomatedReviewActivities
from activities.notifications import NotificationActivities
from activities.notifier import Notifier
from activities.ordering import OrderingActivities
from activities.orders_ledger import OrdersLedger
from activities.product_validation import ProductValidationActivities
from activities.user_history import UserHistorySource
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from domain.catalog import Catalog
from domain.review_rules import RulesFile
from workflows.imported_history import ImportedHistoryWorkflow
from workflows.names import IMPORTED_HISTORY_WORKFLOW_ID, TASK_QUEUE
from workflows.ops_audit import OpsAuditWorkflow
from workflows.purchase_approval import PurchaseApprovalWorkflow

WORKFLOWS: Sequence[type] = (PurchaseApprovalWorkflow, ImportedHistoryWorkflow, OpsAuditWorkflow)


def build_activities(
    client: Client,
    settings: Settings,
    notifier: Notifier,
    *,
    ledger: OrdersLedger | None = None,
    imported_history_workflow_id: str = IMPORTED_HISTORY_WORKFLOW_ID,
) -> list[Callable[..., Any]]:
    """Load and check the configuration files, then bind every activity to what it needs.
    Raises ConfigFileError when a file is invalid: a worker must not start on a broken file."""
    catalog = ReloadingFile(settings.catalog, Catalog)
    rules = ReloadingFile(settings.rules, RulesFile)
    history = UserHistorySource(client, imported_history_workflow_id)
    validation = ProductValidationActivities(catalog)
    review = AutomatedReviewActivities(rules, history)
    ordering = OrderingActivities(
        ledger
        or OrdersLedger(settings.orders_db, confirmation_delay=settings.order_confirmation_delay)
    )
    notifications = NotificationActivities(notifier)
    return [
        validation.validate_product,
        review.automated_review,
        ordering.place_order,
        notifications.send_approval_request,
        notifications.notify_outcome,
    ]


def build_worker(
    client: Client,
    activities: Sequence[Callable[..., Any]],
    *,
    task_queue: str = TASK_QUEUE,
    workflows: Sequence[type] = WORKFLOWS,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(workflows),
        activities=list(activities),
    )
