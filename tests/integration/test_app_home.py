"""The App Home for each kind of person, through the real Bolt app and the local workspace: a
manager sees the requests waiting for them and decides them with the approval message's own
buttons (same handlers, same refusals), ops and finance see the dashboard's figures, and
`/purchase dashboard` sends ops and finance a login link that signs them in on the web."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from appconfig.files import ReloadingFile
from bot.api.tokens import ApiTokens, Role
from bot.slack import blocks, waiting_approvals
from bot.web.auth import Viewer, WebAuth, web_key
from bot.web.links import DashboardLinks
from domain.directory import Directory
from domain.models import Money, PurchaseRequest, PurchaseWorkflowInput, Stage
from domain.search_attributes import EMPLOYEE_ID
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE, purchase_workflow_id
from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.test_purchase_paths import cheap, price_of
from tests.integration.world import poll_until

WAIT = 15
LAPTOP = "https://www.amazon.es/dp/B0CX23V2ZK"  # 1199 EUR: two need a second approval


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


async def file_waiting(sw: SlackWorld, requester: str = "UNICO") -> str:
    """A request (Nico has no history) that waits for his manager, Carlos."""
    url = cheap(sw.world, "books")
    submitted = await sw.world.service.submit(
        requester=requester, url=url, amount=price_of(sw.world, url)
    )
    request_id = submitted.request.request_id
    await sw.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)
    return request_id


async def open_home(sw: SlackWorld, user: str, until: str) -> dict[str, Any]:
    """Open the Home tab and wait until the published view shows `until`."""
    await sw.ws.open_app_home(user)
    return await wait_home(sw, user, until)


async def wait_home(sw: SlackWorld, user: str, until: str) -> dict[str, Any]:
    def shown() -> dict[str, Any] | None:
        view = sw.ws.home_view(user)
        return view if view is not None and until in str(view["blocks"]) else None

    found: dict[str, Any] = await sw.ws.wait_for(shown, timeout=WAIT)
    return found


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(block id, action id, value) of every button in a view."""
    return [
        (b["block_id"], e["action_id"], e["value"])
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def test_a_manager_decides_from_the_home_with_the_dms_handlers(
    sw: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One employee id per visibility query: Carlos's reports (Alice, Nico) take two queries.
    monkeypatch.setattr(waiting_approvals, "IDS_PER_QUERY", 1)
    first, second = await file_waiting(sw), await file_waiting(sw)
    home = await open_home(sw, "UCARLOS", second)
    assert "Waiting for your decision* (2)" in str(home["blocks"])
    block = f"home-decision-{first}"
    assert (block, blocks.APPROVE_ACTION, first) in buttons(home)
    assert (block, blocks.REJECT_ACTION, first) in buttons(home)

    # Approve the first from the Home: the workflow's own decision, then a refreshed Home.
    await sw.ws.click_view_button(
        "UCARLOS", home["id"], blocks.APPROVE_ACTION, block_id=f"home-decision-{first}"
    )
    home = await wait_home(sw, "UCARLOS", f"You approved `{first}`")
    assert (f"home-decision-{first}", blocks.APPROVE_ACTION, first) not in buttons(home)
    status = await sw.world.service.status(first)
    assert status.approval is not None and status.approval.decided_by == "UCARLOS"
    # The approval message in Carlos's DM no longer offers the buttons.
    dm = sw.ws.messages(sw.dm("UCARLOS"))
    asked = next(m for m in dm if first in str(m.blocks))
    assert "Purchase request decided" in str(asked.blocks) and "approve_request" not in str(
        asked.blocks
    )

    # A stale Home (opened before the DM decided it) gets the workflow's refusal, in the Home.
    stale = home["id"]
    original = next(m for m in dm if second in str(m.blocks))
    await sw.click_button("UCARLOS", sw.dm("UCARLOS"), original.ts, blocks.APPROVE_ACTION)
    await sw.bot_message_to("UCARLOS", "Purchase request decided")
    await sw.ws.click_view_button(
        "UCARLOS", stale, blocks.APPROVE_ACTION, block_id=f"home-decision-{second}"
    )
    home = await wait_home(sw, "UCARLOS", ":warning:")
    # The workflow refuses it as for a second click in the DM: already decided (or, once the
    # order went through, already finished).
    shown = str(home["blocks"])
    assert "already approved by UCARLOS" in shown or f"{second} has already finished" in shown
    assert "Nothing is waiting for your decision" in shown


async def test_a_manager_rejects_from_the_home_with_a_reason(sw: SlackWorld) -> None:
    request_id = await file_waiting(sw)
    home = await open_home(sw, "UCARLOS", request_id)
    await sw.ws.click_view_button(
        "UCARLOS", home["id"], blocks.REJECT_ACTION, block_id=f"home-decision-{request_id}"
    )
    modal = await sw.ws.wait_for(lambda: sw.ws.open_view("UCARLOS"), timeout=WAIT)
    await sw.submit_view("UCARLOS", modal["id"], {"reason": {"value": "not this quarter"}})
    await wait_home(sw, "UCARLOS", f"You rejected `{request_id}`")
    status = await sw.world.service.status(request_id)
    assert status.approval is not None and not status.approval.approved
    assert status.approval.comments == "not this quarter"


async def test_a_request_reassigned_outside_the_chain_is_decided_from_that_persons_home(
    sw: SlackWorld,
) -> None:
    """Fiona is not above Nico and nobody reports to her: the `Approver` search attribute finds
    the request for her Home, and it is gone from Carlos's."""
    request_id = await file_waiting(sw)

    async def asked() -> bool:  # Carlos has the message: the request can move
        return request_id in await sw.world.service.waiting_for(["UCARLOS"])

    await poll_until(asked, WAIT, f"{request_id} to wait for UCARLOS in visibility")
    await sw.world.service.reassign(request_id, to="UFIONA", by="UOLIVIA", reason="covering")
    fiona = await open_home(sw, "UFIONA", request_id)
    assert "Waiting for your decision* (1)" in str(fiona["blocks"])
    block = f"home-decision-{request_id}"
    assert (block, blocks.APPROVE_ACTION, request_id) in buttons(fiona)
    assert (block, blocks.REJECT_ACTION, request_id) in buttons(fiona)
    carlos = await open_home(sw, "UCARLOS", "Nothing is waiting for your decision")
    assert request_id not in str(carlos["blocks"])

    await sw.ws.click_view_button("UFIONA", fiona["id"], blocks.APPROVE_ACTION, block_id=block)
    await wait_home(sw, "UFIONA", f"You approved `{request_id}`")
    status = await sw.world.service.status(request_id)
    assert status.approval is not None and status.approval.decided_by == "UFIONA"


async def test_every_second_level_approver_finds_the_request_in_their_home(
    sw: SlackWorld,
) -> None:
    """Above the second-approval threshold the department head (Helen) and each finance user
    (Fiona, George) are asked: the `Deciders` search attribute lists the request in each one's
    Home, not in the first approver's, and each may see its status; a decision from one Home
    ends it for the others."""
    submitted = await sw.world.service.submit(
        requester="UNICO", url=LAPTOP, amount="2398.00", quantity=2
    )
    request_id = submitted.request.request_id
    service = sw.world.service

    def decidable_by(person: str) -> Callable[[], Awaitable[bool]]:
        async def listed() -> bool:
            return request_id in await service.decidable_by(person)

        return listed

    await poll_until(decidable_by("UCARLOS"), WAIT, f"{request_id} to ask UCARLOS")
    await service.decide(request_id, user="UCARLOS", approve=True)
    pool = ["UHELEN", "UFIONA", "UGEORGE"]
    for person in pool:
        await poll_until(decidable_by(person), WAIT, f"{person} among the deciders")
    status = await service.status(request_id)
    assert (status.level, status.approval, sorted(status.deciders)) == (2, None, sorted(pool))
    # Fiona is neither the requester, their manager nor the `Approver`: asked, she may look.
    await sw.send_command("UFIONA", "/purchase", f"status {request_id}")
    shown = await sw.ephemeral_to("UFIONA", "Waiting for")
    assert "Waiting for <@UHELEN>, <@UFIONA> or <@UGEORGE>" in str(shown.blocks), shown.blocks

    block = f"home-decision-{request_id}"
    homes = {person: await open_home(sw, person, request_id) for person in pool}
    for home in homes.values():
        assert (block, blocks.APPROVE_ACTION, request_id) in buttons(home)
    carlos = await open_home(sw, "UCARLOS", "Nothing is waiting for your decision")
    assert request_id not in str(carlos["blocks"])

    await sw.ws.click_view_button(
        "UFIONA", homes["UFIONA"]["id"], blocks.APPROVE_ACTION, block_id=block
    )
    await wait_home(sw, "UFIONA", f"You approved `{request_id}`")
    decided = await service.status(request_id)
    assert decided.approval is not None and decided.approval.decided_by == "UFIONA"
    george = await open_home(sw, "UGEORGE", "Nothing is waiting for your decision")
    assert request_id not in str(george["blocks"])


async def test_requests_from_before_delegation_v1_are_found_through_the_chain(
    sw: SlackWorld,
) -> None:
    """A request started before delegation-v1 has no `Approver`: the chain query finds it (a
    stand-in with a real request as input, on a queue no worker polls), and skips the requests
    the `Approver` query finds, so none is listed twice."""
    new = await file_waiting(sw)

    async def has_approver() -> bool:
        return new in await sw.world.service.waiting_for(["UCARLOS"])

    await poll_until(has_approver, WAIT, f"{new} to have its Approver in visibility")
    directory = ReloadingFile(sw.world.settings.directory, Directory).get().value
    nico = directory.person("UNICO")
    assert nico is not None
    old = f"PR-OLD{uuid.uuid4().hex[:7].upper()}"
    url = cheap(sw.world, "books")
    price, currency = price_of(sw.world, url).split()
    request = PurchaseRequest(
        request_id=old,
        requester=nico.slack_id,
        employee_id=nico.employee_id,
        department=nico.department,
        manager=nico.manager,
        product_url=url,
        amount=Money(amount=Decimal(price), currency=currency),
        requested_at=datetime.now(UTC),
    )
    handle = await sw.world.client.start_workflow(
        PURCHASE_WORKFLOW_TYPE,
        PurchaseWorkflowInput(request=request),
        id=purchase_workflow_id(old),
        task_queue=f"no-worker-{uuid.uuid4().hex[:8]}",
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(EMPLOYEE_ID, nico.employee_id)]
        ),
    )
    found: list[str] = []

    async def listed() -> bool:
        found[:] = await waiting_approvals.older_in_chain("UCARLOS", directory, sw.world.client, 10)
        return old in found

    try:
        await poll_until(listed, WAIT, f"{old} in the chain query")
        assert new not in found  # it has an Approver: only the Approver query lists it
    finally:
        await handle.terminate("test stand-in for a request of an older build")


async def test_only_the_approver_sees_a_request_and_only_ops_and_finance_the_figures(
    sw: SlackWorld,
) -> None:
    request_id = await file_waiting(sw)
    # Helen is above Carlos: the request is in her chain, but it waits for Carlos, not her.
    helen = await open_home(sw, "UHELEN", "Dashboard")
    assert request_id not in str(helen["blocks"]) and "Nothing is waiting" in str(helen["blocks"])
    assert "filed" in str(helen["blocks"])  # Helen is ops: the dashboard's figures
    # Fiona (finance, nobody reports to her): figures, no approvals section.
    fiona = await open_home(sw, "UFIONA", "Dashboard")
    assert "Waiting for your decision" not in str(fiona["blocks"])
    # Nico: his own request, neither approvals nor figures.
    nico = await open_home(sw, "UNICO", request_id)
    assert "Dashboard" not in str(nico["blocks"])
    assert "Waiting for your decision" not in str(nico["blocks"])


async def test_purchase_dashboard_sends_ops_and_finance_a_login_link(sw: SlackWorld) -> None:
    await sw.send_command("UNICO", "/purchase", "dashboard")
    await sw.ephemeral_to("UNICO", "for ops and finance")

    await sw.send_command("UFIONA", "/purchase", "dashboard")
    await sw.ephemeral_to("UFIONA", "login link")
    message = await sw.bot_message_to("UFIONA", "/dashboard/login?link=")
    link = message.text.split("<", 1)[1].split("|", 1)[0]
    assert link.startswith(sw.base_url + "/dashboard/login?link=")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(link, allow_redirects=False) as answer:
            assert answer.status == 303 and answer.headers["Location"] == "/dashboard"
            cookie = answer.cookies["purchasebot_dashboard"]
            assert cookie["httponly"] and cookie["path"] == "/dashboard"
        async with http.get(sw.base_url + "/dashboard") as page:
            text = await page.text()
            assert page.status == 200, text
            assert "Signed in as slack:UFIONA" in text and text.count("<svg") == 4

    # A link of the same bot, made more than 5 minutes ago, is refused with what to do.
    past = datetime.now(UTC) - timedelta(minutes=6)
    old = DashboardLinks(
        WebAuth(ApiTokens.parse(""), web_key(None, sw.ws.signing_secret), lambda: past),
        sw.base_url,
    ).login_url(Viewer("slack:UFIONA", Role.FINANCE))
    async with aiohttp.ClientSession() as http, http.get(old, allow_redirects=False) as answer:
        assert answer.status == 401
        text = await answer.text()
        assert "This login link has expired" in text and "/purchase dashboard" in text
        assert "Set-Cookie" not in answer.headers
