"""Insight as people see it, in headless Chromium: Carlos opens purchasebot's Home tab in the
local workspace, finds Nico's request waiting for him and approves it there; then the web
dashboard, over a seeded scenario, shows its figures and four server-rendered SVG charts.
Screenshots go to test-artifacts/ (insight-*.png)."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bot.api.tokens import Role
from domain.models import Stage
from tests.browser.test_browser_flow import (  # noqa: F401  (fixtures: sw, browser)
    ARTIFACTS,
    WAIT_MS,
    act_as,
    browser,
    explain_failure,
    open_app_dm,
    page_log,
    pytestmark,
    sw,
)
from tests.integration.slack_world import API_TOKENS, SlackWorld
from tests.integration.test_dashboard import SCENARIO, SeededPurchase, _seed
from tests.integration.test_purchase_paths import cheap, price_of


async def open_home_tab(page: Page) -> None:
    await open_app_dm(page)
    await page.locator("#tabs [role=tab]", has_text="Home").click()
    await expect(page.locator("#tabs [role=tab].active")).to_have_text("Home")


async def manager_approves_from_the_home(world: SlackWorld, page: Page) -> None:
    url = cheap(world.world, "books")
    submitted = await world.world.service.submit(
        requester="UNICO", url=url, amount=price_of(world.world, url), justification="team book"
    )
    request_id = submitted.request.request_id
    await world.world.wait_for_stage(request_id, Stage.AWAITING_APPROVAL)

    await act_as(page, "UCARLOS")
    await open_home_tab(page)
    home = page.locator("#home")
    await expect(home).to_contain_text("Waiting for your decision")
    await expect(home).to_contain_text(request_id)
    await expect(home).to_contain_text("team book")
    await expect(home).to_contain_text("Nico Navarro")
    await page.screenshot(path=ARTIFACTS / "insight-home-waiting.png")

    await home.get_by_role("button", name="Approve").click()
    await expect(home).to_contain_text(f"You approved {request_id}")
    await expect(home).to_contain_text("Nothing is waiting for your decision")
    await expect(home.get_by_role("button", name="Approve")).to_have_count(0)
    await page.screenshot(path=ARTIFACTS / "insight-home-approved.png")
    status = await world.world.service.status(request_id)
    assert status.approval is not None and status.approval.decided_by == "UCARLOS"


async def dashboard_shows_charts(
    world: SlackWorld, dev_env: WorkflowEnvironment, page: Page, since: datetime
) -> None:
    """`since`: when this test began. The dev server is shared by the session: requests other
    tests filed earlier are left out by starting the period at this instant."""
    client = dev_env.client
    task_queue = f"seed-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, workflows=[SeededPurchase]):
        handles, _ = await _seed(client, task_queue)
        for handle in handles[:-2]:
            await handle.result()
        with contextlib.suppress(WorkflowFailureError):  # the seeded failed order
            await handles[-2].result()
        await handles[-1].terminate("scenario over")
    token = API_TOKENS[Role.FINANCE]
    # The seeded requests plus Nico's: visibility lags (seconds on a loaded machine), so reload
    # until all show, with a deadline.
    instant = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    await page.goto(f"{world.base_url}/dashboard?since={instant}&token={token}")
    filed = page.locator("[data-figure=filed]")
    deadline = time.monotonic() + WAIT_MS / 1000
    while (await filed.inner_text()).strip() != str(len(SCENARIO) + 1):
        if time.monotonic() > deadline:
            break  # the assertion below says what was shown
        await page.reload()
    await expect(filed).to_have_text(str(len(SCENARIO) + 1))
    assert token not in page.url  # traded for the cookie
    charts = page.locator("svg.chart")
    await expect(charts).to_have_count(4)
    for title in (
        "Auto-approval rate per day",
        "Auto-approval rate per department",
        "Review time",
        "Error rate per build",
    ):
        await expect(page.locator("figure", has_text=title).locator("svg.chart")).to_be_visible()
    # IT: 2 auto-approved of 4 reviewed (the seed's 3 and Nico's); Marketing: nothing reviewed.
    per_department = page.locator("figure", has_text="per department")
    await expect(per_department.locator("rect.bar[data-label=IT]")).to_have_attribute(
        "data-value", "0.5"
    )
    await expect(per_department.locator("rect.bar")).to_have_count(1)
    await expect(per_department.locator("text.no-data[data-label=Marketing]")).to_have_count(1)
    await expect(page.locator("tr[data-department=IT]")).to_contain_text("50%")
    review_times = page.locator("figure", has_text="Review time").locator("rect.bar")
    await expect(review_times).to_have_count(7)  # every bucket, empty ones at zero height
    await page.screenshot(path=ARTIFACTS / "insight-web-dashboard.png", full_page=True)

    # The form (whole days) picks IT: its figures are the IT row of the same days' page.
    await page.goto(f"{world.base_url}/dashboard?since={since.date()}")
    it_requests = await page.locator("tr[data-department=IT] td").nth(1).inner_text()
    await page.locator("select[name=department]").select_option("IT")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("[data-figure=filed]")).to_have_text(it_requests.strip())
    assert "department=IT" in page.url
    await expect(page.locator("tr[data-department]")).to_have_count(1)


async def test_home_approval_and_web_dashboard_in_the_browser(
    sw: SlackWorld,  # noqa: F811
    browser: Browser,  # noqa: F811
    dev_env: WorkflowEnvironment,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log = page_log(page)
    expect.set_options(timeout=WAIT_MS)
    began = datetime.now(UTC) - timedelta(seconds=1)
    try:
        await page.goto(sw.ws.base_url + "/")
        await manager_approves_from_the_home(sw, page)
        await dashboard_shows_charts(sw, dev_env, page, began)
    except BaseException:
        with contextlib.suppress(Exception):
            await page.screenshot(path=ARTIFACTS / "insight-failure.png")
        with contextlib.suppress(Exception):
            await explain_failure(sw, page, log)
        raise
    finally:
        await context.close()
