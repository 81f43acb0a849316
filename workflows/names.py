"""Names shared by the workflows, the worker and the clients: defined once, here."""

from __future__ import annotations

# The custom search attributes are defined in domain/ (activities read them too, and must not
# import workflows/); re-exported here for the code that has always imported them from this module.
from domain.search_attributes import (
    APPROVER,
    CUSTOM_SEARCH_ATTRIBUTES,
    DECIDERS,
    DEPARTMENT,
    EMPLOYEE_ID,
    PRODUCT_CATEGORY,
    PRODUCT_VENDOR,
    PURCHASE_AMOUNT,
    PURCHASE_OUTCOME,
    REVIEW_PATH,
)

__all__ = [
    "APPROVAL_TIMEOUT_DAYS",
    "APPROVER",
    "CUSTOM_SEARCH_ATTRIBUTES",
    "DECIDERS",
    "DEPARTMENT",
    "EMPLOYEE_ID",
    "PRODUCT_CATEGORY",
    "PRODUCT_VENDOR",
    "PURCHASE_AMOUNT",
    "PURCHASE_OUTCOME",
    "REVIEW_PATH",
    "TASK_QUEUE",
]

TASK_QUEUE = "purchase-approval-task-queue"

# The patch ids of PurchaseApprovalWorkflow are listed once, with the workflow:
# `workflows.purchase_approval.PATCHES`.

# Approvers get a week; after that the request is rejected by "system".
APPROVAL_TIMEOUT_DAYS = 7
