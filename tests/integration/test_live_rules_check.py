"""A review's rules check: while the rules entity has not changed, the rules last read are used
without a round trip to a control worker (the server's `describe` says the entity is as it was);
any change is read by the next review."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.review_rules_source import LiveRules
from bot.rules_admin import RulesAdmin, load_initial_rules
from bot.worker import build_control_worker

RULES_FILE = Path(__file__).resolve().parents[2] / "rules.yaml"


async def test_unchanged_rules_need_no_worker_and_a_change_is_read_at_once(
    dev_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    client = dev_env.client
    queue = f"test-rules-check-{uuid.uuid4().hex[:8]}"
    admin = RulesAdmin(
        client, queue, f"test-rules-{uuid.uuid4().hex[:8]}", initial=load_initial_rules(RULES_FILE)
    )
    live = LiveRules(client, admin.workflow_id)
    async with build_control_worker(client, queue):
        await admin.ensure()
        await live.for_review()  # read while the entity's first workflow task was in flight
        first = await live.for_review()  # read again: the entity had changed (grown) since
        assert first.active.number == 1

    # No control worker now: a query could not be answered (the review would fall back to the
    # last rules read, and log it), but the entity has not changed, so none is made.
    assert (await live.for_review()) is first
    assert "rules unreadable" not in caplog.text

    async with build_control_worker(client, queue):
        await admin.set_field(
            "IT", "max_amount", "800", author="UOLIVIA", reason="test", people_departments=["IT"]
        )
        changed = await live.for_review()
    assert changed.active.number == 2
    assert changed.active.rules.for_department("IT", "standard").max_amount == Decimal(800)
