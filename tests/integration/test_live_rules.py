"""The live rules: a change made in Slack or through the API reaches the next review, is
versioned, audited, announced and reversible; a bad change changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bot.api.tokens import Role
from domain.models import AutomatedReviewResult
from tests.integration.slack_world import API_TOKENS, SlackWorld, slack_world
from tests.integration.world import World, poll_until

BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books
OPS_CHANNEL = "purchasing-ops"


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        await world.world.import_sample_history()  # Alice (IT) has the history IT asks for
        yield world


async def next_review(world: World) -> AutomatedReviewResult:
    """Alice files the 39.90 book; the review it got."""
    submitted = await world.service.submit(requester="UALICE", url=BOOK_URL, amount="39.90")
    request_id = submitted.request.request_id
    found: list[AutomatedReviewResult] = []

    async def reviewed() -> bool:
        review = (await world.service.status(request_id)).review
        if review is not None:
            found.append(review)
        return review is not None

    await poll_until(reviewed, 15, f"the review of {request_id}")
    return found[0]


async def api(
    sw: SlackWorld, method: str, path: str, role: Role = Role.OPS, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {API_TOKENS[role]}"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, sw.api_url + path, headers=headers, **kwargs) as response,
    ):
        return response.status, await response.json()


async def confirmed_rules_set(sw: SlackWorld, user: str, text: str) -> None:
    """`/rules set` opens a confirmation modal with the backtest; Apply makes the change."""
    await sw.send_command(user, "/rules", text)

    def ready() -> dict[str, Any] | None:
        view = sw.ws.open_view(user)
        return view if view is not None and view.get("submit") else None

    view = await sw.ws.wait_for(ready, timeout=15)
    await sw.submit_view(user, view["id"], {})


def ops_messages(sw: SlackWorld) -> list[str]:
    return [m.text for m in sw.ws.messages(OPS_CHANNEL)]


async def test_a_change_in_slack_reaches_the_next_review_and_revert_restores_it_exactly(
    sw: SlackWorld,
) -> None:
    before = await next_review(sw.world)
    assert before.auto_approved and before.rules_version.startswith("v1 (")
    v1 = await sw.world.rules.current()

    await confirmed_rules_set(sw, "UOLIVIA", "set it max_amount 20 book budget frozen")
    announced = await sw.ws.wait_for(
        lambda: next((m for m in ops_messages(sw) if "v2" in m), None), timeout=10
    )
    assert "v2" in announced and "<@UOLIVIA>" in announced and "book budget frozen" in announced
    assert "departments.IT.max_amount: 1000 -&gt; 20" in announced

    after = await next_review(sw.world)
    assert not after.auto_approved
    assert after.reason == "Amount 39.90 exceeds max limit 20.00"
    assert after.rules_version.startswith("v2 (")

    await sw.send_command("UOLIVIA", "/rules", "revert v1")
    await sw.ephemeral_to("UOLIVIA", "now *v3*")
    v3 = await sw.world.rules.current()
    assert v3.rules == v1.rules and v3.content_hash == v1.content_hash
    assert v3.reason == "revert to v1"
    reverted = await next_review(sw.world)
    assert reverted.auto_approved and reverted.rules_version == f"v3 ({v1.content_hash})"

    await sw.send_command("UOLIVIA", "/rules", "diff v1 v2")
    await sw.ephemeral_to("UOLIVIA", "departments.IT.max_amount: 1000 -&gt; 20")
    await sw.send_command("UOLIVIA", "/rules", "history")
    await sw.ephemeral_to("UOLIVIA", "revert to v1")
    audit = [(e.actor, e.action, e.detail) for e in await sw.ops_audit.entries()]
    assert ("UOLIVIA", "ops_command", "/rules set it max_amount 20 book budget frozen") in audit


async def test_a_bad_change_is_refused_with_the_field_path_and_changes_nothing(
    sw: SlackWorld,
) -> None:
    for typed, says in [
        ("set IT max_amount -5", "departments.IT.max_amount: Input should be greater than 0"),
        ("set IT max_ammount 5", "departments.IT.max_ammount: there is no such rule"),
        ("set Sales max_amount 5", "`Sales` is not a department"),
        ("set IT user_history.min_previous_purchases many", "valid integer"),
        ("set IT max_amount 99999999", "less than or equal to 1000000"),
    ]:
        await sw.send_command("UOLIVIA", "/rules", typed)
        await sw.ephemeral_to("UOLIVIA", says)
    await sw.send_command("UALICE", "/rules", "set IT max_amount 5000")
    await sw.ephemeral_to("UALICE", "is for the ops team only")
    assert [v.number for v in (await sw.world.rules.history()).versions] == [1]
    assert ops_messages(sw) == []


async def test_a_change_through_the_api_reaches_the_next_review_audited_and_announced(
    sw: SlackWorld,
) -> None:
    status, answer = await api(sw, "PUT", "/rules/IT", json={"max_amount": "20"}, params={})
    assert status == 200
    assert answer["status"] == "success" and answer["department"] == "IT"
    assert answer["version"] == "v2"
    review = await next_review(sw.world)
    assert not review.auto_approved and review.rules_version.startswith("v2 (")
    assert "v2" in ops_messages(sw)[-1] and "api:ops-1" in ops_messages(sw)[-1]
    audit = [(e.actor, e.action, e.detail) for e in await sw.ops_audit.entries()]
    assert ("api:ops-1", "api_change", 'PUT /api/rules/IT max_amount="20"') in audit

    status, answer = await api(sw, "GET", "/rules/it", Role.AUDITOR)
    assert status == 200 and answer["effective"]["max_amount"] == "20"
    status, answer = await api(sw, "GET", "/rules/history", Role.FINANCE)
    assert [v["number"] for v in answer["versions"]] == [2, 1]


async def test_bad_api_changes_are_refused_clearly_and_change_nothing(sw: SlackWorld) -> None:
    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"json": {"max_amount": "-1"}}, 400, "max_amount"),
        ({"json": {"max_amount": "x"}}, 400, "max_amount"),
        ({"json": {"max_amount": 100, "colour": "red"}}, 400, "colour"),
        ({"json": {"user_history": {"min_previous_purchases": -2}}}, 400, None),
        ({"data": "{oops"}, 400, None),
        ({"json": {"max_amount": 20}, "params": {"dry_run": "true"}}, 200, None),
    ]
    for kwargs, status, field in cases:
        got, answer = await api(sw, "PUT", "/rules/IT", **kwargs)
        assert got == status, answer
        if status == 400:
            assert answer["message"] and "Traceback" not in answer["message"]
        if field is not None:
            assert answer["field"] == field
    dry = (await api(sw, "PUT", "/rules/IT", json={"max_amount": 20}, params={"dry_run": "1"}))[1]
    assert dry["status"] == "dry_run" and dry["diff"][0]["path"] == "departments.IT.max_amount"
    assert (await api(sw, "PUT", "/rules/Sales", json={}))[0] == 404
    assert (await api(sw, "PUT", "/rules/IT", Role.AUDITOR, json={"max_amount": 20}))[0] == 403
    assert [v.number for v in (await sw.world.rules.history()).versions] == [1]
    assert ops_messages(sw) == []


async def test_asking_first_answers_with_the_reviews_logic_and_files_nothing(
    sw: SlackWorld,
) -> None:
    await sw.send_command("UALICE", "/purchase", f"check <{BOOK_URL}> 39.90")
    await sw.ephemeral_to("UALICE", "This would be auto-approved: All automated approval")
    await sw.send_command("UNICO", "/purchase", f"check {BOOK_URL} 39.90")
    await sw.ephemeral_to(
        "UNICO",
        "goes to your manager because: User purchase history doesn't meet approval "
        "criteria: 0 previous purchases, 5 needed",
    )
    status, answer = await api(
        sw,
        "POST",
        "/review/preview",
        Role.INTEGRATION,
        json={
            "employee": "E1001".replace("E", f"{sw.world.employee_prefix}E"),
            "url": BOOK_URL,
            "amount": "39.90",
        },
    )
    assert status == 200 and answer["auto_approved"] is True
    assert answer["rules_version"].startswith("v1 (")
    status, answer = await api(
        sw, "POST", "/review/preview", json={"slack_user": "UNICO", "url": BOOK_URL, "amount": "9"}
    )
    assert status == 200 and not answer["auto_approved"]
    assert "does not cover" in answer["reason"] or "amount" in answer["reason"].lower()
    status, answer = await api(sw, "POST", "/review/preview", json={"url": BOOK_URL, "amount": "1"})
    assert status == 400 and "exactly one of" in answer["message"]
    # Nothing was filed by any of it.
    assert [
        m
        async for m in sw.world.client.list_workflows(
            f"EmployeeId = '{sw.world.employee_prefix}E1001'"
        )
    ] == []
