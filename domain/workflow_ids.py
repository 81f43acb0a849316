"""Workflow type names and workflow ids that outlive the code: visibility queries name the type,
people type request ids that are workflow ids without their prefix. Defined once, here; the
workflow classes take their type names from these (`@workflow.defn(name=...)`)."""

from __future__ import annotations

PURCHASE_WORKFLOW_TYPE = "PurchaseApprovalWorkflow"
PURCHASE_ID_PREFIX = "purchase-"
ROLLOUT_CONTROLLER_ID_PREFIX = "purchasebot-rollout-"


def purchase_workflow_id(request_id: str) -> str:
    return f"{PURCHASE_ID_PREFIX}{request_id}"


def request_id_of(workflow_id: str) -> str:
    """The request id people see and type, from a purchase workflow's id."""
    return workflow_id.removeprefix(PURCHASE_ID_PREFIX)


def rollout_controller_id(deployment_name: str) -> str:
    return f"{ROLLOUT_CONTROLLER_ID_PREFIX}{deployment_name}"


def purchases_query(condition: str = "") -> str:
    """A visibility query over purchase requests, narrowed by `condition` if given."""
    base = f"WorkflowType = '{PURCHASE_WORKFLOW_TYPE}'"
    return f"{base} AND {condition}" if condition else base


def visibility_string(value: str) -> str:
    """`value` as a string literal of a visibility query."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
