"""A new activity method on an existing activities class is registered by the worker without
an edit to bot/worker.py: part of "a new workflow step touches at most 3 production files"."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from temporalio import activity

from activities.notifications import NotificationActivities
from activities.notifier import RecordingNotifier
from bot.worker import activity_methods


def names(methods: Sequence[object]) -> set[str]:
    return {getattr(m, "__temporal_activity_definition").name for m in methods}


class WithANewStep(NotificationActivities):
    @activity.defn(name="remind_approver")
    async def remind_approver(self, input: str) -> str:
        return input

    def helper(self) -> str:  # not an activity: not registered
        return "x"


def test_every_activity_method_of_an_activities_object_is_registered(tmp_path: Path) -> None:
    notifier = RecordingNotifier(tmp_path / "n.db")
    notifications = {
        "send_approval_request",
        "notify_outcome",
        "send_message",
        "update_approval_message",
        "retire_approval_message",
        "alert_ops_about_request",
        "escalation_target",
    }
    assert names(activity_methods(NotificationActivities(notifier))) == notifications
    assert names(activity_methods(WithANewStep(notifier))) == notifications | {"remind_approver"}
