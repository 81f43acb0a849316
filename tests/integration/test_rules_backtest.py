"""`/rules set` shows what the change would have done to the last 30 days' requests before
making it (a modal through the real Bolt app and the local workspace); Apply makes it, Cancel
does not. `PUT /api/rules/{department}?dry_run=true` gives the same figures and changes nothing.
The past requests are real ones of this world, read back from Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from bot.rules_backtest import RulesBacktest
from domain.models import PurchaseStatus, Stage
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_live_rules import BOOK_URL, api, ops_messages
from tests.integration.world import poll_until

NOTES_URL = "https://www.amazon.es/dp/B00006IFHD"  # 14.99 EUR, office_supplies
# IT does not trust office supplies; this change makes Alice's rejected notes auto-approvable.
CHANGE = "set IT trusted_categories electronics,software,books,office_supplies stationery"
CATEGORIES = ["electronics", "software", "books", "office_supplies"]


@dataclass
class Past:
    sw: SlackWorld
    notes_id: str  # Alice's request Carlos rejected


@pytest_asyncio.fixture
async def past(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Past]:
    """Alice (IT, with history) had her book auto-approved and her notes rejected by Carlos."""
    async with slack_world(dev_env.client, tmp_path) as world:
        await world.world.import_sample_history()
        service = world.world.service
        book = await service.submit(requester="UALICE", url=BOOK_URL, amount="39.90")
        assert (await service.outcome(book.request.request_id, wait_seconds=15)) is not None
        notes = (await service.submit(requester="UALICE", url=NOTES_URL, amount="14.99")).request

        async def waiting() -> bool:
            return (await service.status(notes.request_id)).stage is Stage.AWAITING_APPROVAL

        await poll_until(waiting, 15, "the notes waiting for Carlos")
        await service.decide(notes.request_id, user="UCARLOS", approve=False, reason="no")
        result = await service.outcome(notes.request_id, wait_seconds=15)
        assert result is not None and result.status is PurchaseStatus.REJECTED
        live = await world.world.rules.current()
        backtest = RulesBacktest(
            world.world.client, world.world.settings.task_queue, world.world.history
        )

        async def both_closed_in_visibility() -> bool:
            figures = await backtest.run(live.rules, live.rules)
            return figures.compared == 2

        await poll_until(both_closed_in_visibility, 10, "both requests closed in visibility")
        yield Past(world, notes.request_id)


async def modal_with_figures(sw: SlackWorld, user: str) -> dict[str, Any]:
    """The confirmation modal once the backtest filled it in (it has an Apply button then)."""

    def ready() -> dict[str, Any] | None:
        view = sw.ws.open_view(user)
        return view if view is not None and view.get("submit") else None

    found: dict[str, Any] = await sw.ws.wait_for(ready, timeout=15)
    return found


def shown(view: dict[str, Any]) -> str:
    return " ".join(str(block) for block in view["blocks"])


async def test_the_modal_shows_the_backtest_and_cancel_changes_nothing_apply_changes(
    past: Past,
) -> None:
    sw, notes_id = past.sw, past.notes_id
    await sw.send_command("UOLIVIA", "/rules", CHANGE)
    view = await modal_with_figures(sw, "UOLIVIA")
    text = shown(view)
    assert "*1 more* and *0 fewer*" in text
    assert "2 instead of 1 of the 2 requests compared" in text
    assert f"*1 had been rejected by a manager* (e.g. {notes_id})" in text
    assert "departments.IT.trusted_categories" in text

    await sw.ws.close_view("UOLIVIA", view["id"])
    assert sw.ws.open_view("UOLIVIA") is None

    async def audited(action: str) -> bool:
        try:
            entries = await sw.ops_audit.entries()
        except RPCError:  # the audit trail starts with its first entry
            return False
        return any(e.action == action and e.actor == "UOLIVIA" for e in entries)

    await poll_until(lambda: audited("rules_change_cancelled"), 10, "the cancel audited")
    assert [v.number for v in (await sw.world.rules.history()).versions] == [1]
    assert ops_messages(sw) == []

    await sw.send_command("UOLIVIA", "/rules", CHANGE)
    view = await modal_with_figures(sw, "UOLIVIA")
    await sw.submit_view("UOLIVIA", view["id"], {})
    after = sw.ws.open_view("UOLIVIA")
    assert after is not None and "now *v2*" in shown(after)
    live = await sw.world.rules.current()
    assert live.number == 2 and live.author == "UOLIVIA" and live.reason == "stationery"
    assert live.rules.departments["IT"].trusted_categories == CATEGORIES
    await poll_until(lambda: audited("rules_change_confirmed"), 10, "the change audited")
    await sw.ws.wait_for(lambda: any("v2" in m for m in ops_messages(sw)), timeout=10)
    assert "<@UOLIVIA>" in ops_messages(sw)[-1]


async def test_an_invalid_change_is_refused_without_a_modal(past: Past) -> None:
    sw = past.sw
    await sw.send_command("UOLIVIA", "/rules", "set IT max_amount -5")
    await sw.ephemeral_to("UOLIVIA", "departments.IT.max_amount: Input should be greater than 0")
    assert sw.ws.open_view("UOLIVIA") is None
    await sw.send_command("UALICE", "/rules", CHANGE)
    await sw.ephemeral_to("UALICE", "is for the ops team only")
    assert sw.ws.open_view("UALICE") is None


async def test_the_api_dry_run_gives_the_same_figures_and_changes_nothing(past: Past) -> None:
    sw = past.sw
    body = {"trusted_categories": CATEGORIES}
    status, answer = await api(sw, "PUT", "/rules/IT", json=body, params={"dry_run": "true"})
    assert status == 200 and answer["status"] == "dry_run", answer
    figures = answer["backtest"]
    assert (figures["more"], figures["fewer"], figures["more_rejected_by_manager"]) == (1, 0, 1)
    assert figures["compared"] == 2 and figures["actual_auto_approved"] == 1
    assert figures["rejected_examples"] == [past.notes_id]
    assert [v.number for v in (await sw.world.rules.history()).versions] == [1]
    assert ops_messages(sw) == []
    _, document = await api(sw, "GET", "/openapi.json")
    put = document["paths"]["/api/rules/{department}"]["put"]
    assert "backtest" in put["description"] or "backtest" in put.get("summary", "")
    assert "BacktestFigures" in str(document["components"])
