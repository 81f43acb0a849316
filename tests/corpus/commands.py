"""What a history says about the code that wrote it: its commands and its patch markers.

Two histories of the same path agree when the workflow code issued the same commands in the
same order, whatever the ids, timestamps, payloads or workflow-task boundaries. That command
sequence is what replay checks, so it is what the drift gate compares.
"""

from __future__ import annotations

import difflib
import json

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

PATCH_MARKER = "core_patch"
LOCAL_ACTIVITY_MARKER = "core_local_activity"

# Events the server writes for a command (or a protocol message) of the workflow code, by the
# word the sequence uses for them. Everything else (workflow tasks, activity starts and
# results, signals received) says nothing about the code.
_COMMAND_EVENTS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activity",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: "cancel activity",
    EventType.EVENT_TYPE_TIMER_STARTED: "timer",
    EventType.EVENT_TYPE_TIMER_CANCELED: "cancel timer",
    EventType.EVENT_TYPE_MARKER_RECORDED: "marker",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attributes",
    EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: "modify properties",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: "child workflow",
    EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "signal external",
    EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: "cancel external",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "update accepted",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: "update completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "complete",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "fail",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "cancelled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continue as new",
}


def _payload_json(event: HistoryEvent, key: str) -> dict[str, object]:
    payloads = event.marker_recorded_event_attributes.details[key].payloads
    value = json.loads(payloads[0].data) if payloads else {}
    return value if isinstance(value, dict) else {}


def _patch_id(event: HistoryEvent) -> str | None:
    attrs = event.marker_recorded_event_attributes
    if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED or attrs.marker_name != (
        PATCH_MARKER
    ):
        return None
    return str(_payload_json(event, "patch-data").get("id", ""))


def _describe(event: HistoryEvent) -> str:
    word = _COMMAND_EVENTS[event.event_type]
    if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        return f"activity {event.activity_task_scheduled_event_attributes.activity_type.name}"
    if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name == PATCH_MARKER:
            return f"patch {_patch_id(event)}"
        if attrs.marker_name == LOCAL_ACTIVITY_MARKER:
            return f"local activity {_payload_json(event, 'data').get('activity_type', '?')}"
        return f"marker {attrs.marker_name}"
    if event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        return f"search attributes {','.join(sorted(fields.indexed_fields))}"
    if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
        attrs_child = event.start_child_workflow_execution_initiated_event_attributes
        return f"child workflow {attrs_child.workflow_type.name}"
    if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        accepted = event.workflow_execution_update_accepted_event_attributes
        return f"update accepted {accepted.accepted_request.input.name}"
    return word


def command_sequence(history: WorkflowHistory) -> list[str]:
    """The commands the workflow code issued, in order, e.g. `activity place_order`."""
    return [_describe(e) for e in history.events if e.event_type in _COMMAND_EVENTS]


def patch_markers(history: WorkflowHistory) -> set[str]:
    """The patch ids whose marker this history holds: the code that wrote it had `patched(id)`
    return True (or called `deprecate_patch(id)`)."""
    return {p for p in (_patch_id(e) for e in history.events) if p}


def sequence_diff(committed: list[str], current: list[str]) -> str:
    return "\n".join(
        difflib.unified_diff(
            committed, current, "committed history", "current code", lineterm="", n=2
        )
    )
