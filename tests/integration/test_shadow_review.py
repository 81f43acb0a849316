"""Shadow review: candidate rules run beside the rules in force on live requests; their verdict
is in each request's audit trail and never acts; `/rules shadow status` reads the agreement from
Temporal; promote makes them the rules; only ops may do any of it (Slack and the API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bot.api.tokens import Role
from domain.actors import SHADOW_REVIEW
from domain.models import Stage
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_live_rules import BOOK_URL, api, ops_messages
from tests.integration.world import poll_until

# Nico (IT) has no purchase history: IT asks for 5 previous purchases, so the rules in force
# send his book to his manager Carlos. This candidate asks for none: it would auto-approve it.
TRUSTING = "IT user_history.min_previous_purchases 0"


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        await world.world.import_sample_history()  # Alice (IT) has the history IT asks for
        yield world


async def counted(sw: SlackWorld, compared: int) -> dict[str, Any]:
    """The shadow figures through the API, once `compared` requests count (visibility lags)."""
    figures: dict[str, Any] = {}

    async def there() -> bool:
        code, answer = await api(sw, "GET", "/rules/shadow/status", Role.AUDITOR)
        figures.update(answer)
        return code == 200 and answer["compared"] == compared and answer["unread"] == 0

    await poll_until(there, 20, f"{compared} requests in the shadow figures")
    return figures


async def test_the_shadow_verdict_is_recorded_never_acts_and_is_measured_then_promoted(
    sw: SlackWorld,
) -> None:
    world = sw.world
    await sw.send_command("UALICE", "/rules", f"shadow set {TRUSTING}")
    await sw.ephemeral_to("UALICE", "is for the ops team only")
    await sw.send_command("UOLIVIA", "/rules", "shadow set IT max_amount -5")
    await sw.ephemeral_to("UOLIVIA", "departments.IT.max_amount: Input should be greater than 0")
    assert (await world.rules.shadow()).candidate is None
    await sw.send_command("UOLIVIA", "/rules", f"shadow set {TRUSTING} trust newcomers")
    await sw.ephemeral_to("UOLIVIA", "*c1* is in shadow")
    announced = ops_messages(sw)[-1]
    assert "c1" in announced and "<@UOLIVIA>" in announced and "trust newcomers" in announced
    assert "departments.IT.user_history.min_previous_purchases: 5 -&gt; 0" in announced
    await sw.send_command("UOLIVIA", "/rules")
    await sw.ephemeral_to("UOLIVIA", "In shadow: *c1*")

    # The candidate would auto-approve Nico's book; the rules in force send it to Carlos.
    nico = await world.service.submit(requester="UNICO", url=BOOK_URL, amount="39.90")
    await world.wait_for_stage(nico.request.request_id, Stage.AWAITING_APPROVAL, within=20)
    status = await world.service.status(nico.request.request_id)
    assert status.review is not None and not status.review.auto_approved
    assert status.approval is None
    shadow = [e for e in status.audit if e.actor == SHADOW_REVIEW]
    assert len(shadow) == 1 and shadow[0].action == "shadow_reviewed"
    assert shadow[0].detail.startswith("would auto-approve")
    assert shadow[0].rules_version.startswith("c1 (")
    assert status.review.shadow is not None and status.review.shadow.auto_approved
    # Running, waiting for Carlos: compared with the rules in force already (its status query).
    waiting = await counted(sw, 1)
    assert (waiting["running"], waiting["agree_with_active"], waiting["decided_by_person"]) == (
        1,
        0,
        0,
    )
    await world.service.decide(nico.request.request_id, user="UCARLOS", approve=False, reason="no")

    # Alice's book: auto-approved by both.
    alice = await world.service.submit(requester="UALICE", url=BOOK_URL, amount="39.90")
    assert await world.service.outcome(alice.request.request_id, wait_seconds=30)
    assert await world.service.outcome(nico.request.request_id, wait_seconds=30)

    figures = await counted(sw, 2)
    assert figures["running"] == 0 and figures["candidate"] == shadow[0].rules_version
    assert (figures["agree_with_active"], figures["agreement_with_active"]) == (1, 0.5)
    assert (figures["shadow_would_auto_approve"], figures["active_auto_approved"]) == (2, 1)
    assert (figures["decided_by_person"], figures["agree_with_person"]) == (1, 0)
    assert figures["would_auto_approve_person_rejected"] == 1
    await sw.send_command("UOLIVIA", "/rules", "shadow status")
    shown = await sw.ephemeral_to("UOLIVIA", "agree on 1 of 2 (50%)")
    assert "1 that a person rejected" in str(shown.blocks)

    await sw.send_command("UALICE", "/rules", "shadow promote")
    await sw.ephemeral_to("UALICE", "is for the ops team only")
    assert (await world.rules.current()).number == 1
    await sw.send_command("UOLIVIA", "/rules", "shadow promote c1 agreed enough")
    await sw.ephemeral_to("UOLIVIA", "it is *v2* now")
    v2 = await world.rules.current()
    assert v2.reason == "promoted shadow c1: agreed enough" and v2.author == "UOLIVIA"
    assert v2.rules.for_department("IT").user_history.min_previous_purchases == 0
    assert (await world.rules.shadow()).candidate is None
    assert "v2" in ops_messages(sw)[-1] and "promoted" in ops_messages(sw)[-1]
    audit = [(e.actor, e.action, e.detail) for e in await sw.ops_audit.entries()]
    assert ("UOLIVIA", "ops_command", "/rules shadow promote c1 agreed enough") in audit
    assert ("UALICE", "ops_command_refused", "/rules shadow promote") in audit
    await sw.send_command("UOLIVIA", "/rules", "shadow promote")
    await sw.ephemeral_to("UOLIVIA", "No rules are in shadow")


async def test_the_shadow_through_the_api_and_its_refusals(sw: SlackWorld) -> None:
    code, answer = await api(sw, "PUT", "/rules/shadow", json={"version": 1})
    assert code == 409 and "rules in force (v1)" in answer["message"]
    # What the call names does not exist: 404, a JSON message saying so (not a 409 conflict).
    code, answer = await api(sw, "PUT", "/rules/shadow", json={"version": 99})
    assert (code, answer["error"]) == (404, "not_found") and "There is no v99" in answer["message"]
    code, answer = await api(sw, "POST", "/rules/shadow/promote")
    assert code == 404 and "No rules are in shadow" in answer["message"]
    code, answer = await api(sw, "PUT", "/rules/shadow", json={})
    assert code == 400 and "either `version` or `rules`" in answer["message"]
    rules = (await api(sw, "GET", "/rules"))[1]["rules"]
    rules["departments"]["IT"]["max_amount"] = "-5"
    code, answer = await api(sw, "PUT", "/rules/shadow", json={"rules": rules})
    assert code == 400 and answer["field"] == "rules.departments.IT.max_amount", answer
    rules["departments"]["IT"]["max_amount"] = "20"
    code, answer = await api(sw, "PUT", "/rules/shadow", Role.AUDITOR, json={"rules": rules})
    assert code == 403
    code, answer = await api(sw, "PUT", "/rules/shadow", json={"rules": rules, "reason": "cut"})
    assert code == 200 and answer["candidate"]["number"] == 1, answer
    assert "c1" in ops_messages(sw)[-1] and "api:ops-1" in ops_messages(sw)[-1]
    code, view = await api(sw, "GET", "/rules/shadow", Role.FINANCE)
    assert code == 200 and view["active"] == "v1"
    assert [(d["path"], d["new"]) for d in view["diff"]] == [("departments.IT.max_amount", "20")]
    code, answer = await api(sw, "GET", "/rules/shadow/status")
    assert code == 200 and answer["compared"] == 0 and answer["agreement_with_active"] is None
    code, answer = await api(sw, "POST", "/rules/shadow/promote", params={"candidate": "4"})
    assert code == 409 and "c4 is not in shadow" in answer["message"]
    code, answer = await api(sw, "DELETE", "/rules/shadow", params={"reason": "enough"})
    assert code == 200 and answer["candidate"] is None
    assert "stopped" in ops_messages(sw)[-1]
    code, answer = await api(sw, "DELETE", "/rules/shadow")
    assert code == 404 and "No rules are in shadow" in answer["message"]
    assert (await api(sw, "GET", "/rules/shadow/status"))[0] == 404
    assert [v.number for v in (await sw.world.rules.history()).versions] == [1]
    audit = [(e.actor, e.action, e.detail) for e in await sw.ops_audit.entries()]
    done = [d for actor, action, d in audit if (actor, action) == ("api:ops-1", "api_change")]
    assert done[0].startswith('PUT /api/rules/shadow rules={"'), done  # cut: the versions keep it
    assert done[0].endswith('… reason="cut"'), done
