"""A person's view of the product: headless Chromium drives the local Slack workspace's page
while the real Bolt app, worker and Temporal dev server run behind it.

Nico files a purchase from the composer, his manager Carlos approves it with the button in his
DM with the app, and both see the outcome on the page. Chromium is Debian's (`/usr/bin/chromium`,
installed by `make test`); Playwright only drives it and never downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from tests.integration.slack_world import SlackWorld, slack_world
from tests.integration.world import REPO

# Overridable only so that tests/browser/test_ci_requires_chromium.py can point it elsewhere.
CHROMIUM = Path(os.environ.get("BROWSER_TEST_CHROMIUM", "/usr/bin/chromium"))
MISSING = (
    f"{CHROMIUM} is missing: install Debian's Chromium with `apt-get install -y chromium` "
    "(`make test` does it when run as root)"
)
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOT = ARTIFACTS / "browser-flow.png"
FAILURE_SCREENSHOT = ARTIFACTS / "browser-flow-failure.png"
BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books
BOT_NAME = "purchasebot"
# No internet here: keep Chromium from reaching out (its refused connections otherwise).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 20_000  # a step on the page: a delivery to the bot and a workflow step behind it

# Skipped without Chromium, except in CI: there tests/browser/test_browser_ci.py fails.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=MISSING)


@pytest_asyncio.fixture
async def sw(dev_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    async with slack_world(dev_env.client, tmp_path) as world:
        yield world


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def page_log(page: Page) -> list[str]:
    """What the page did, for the report of a failed run: its console, errors and /ui/ calls."""
    log: list[str] = []
    started = time.monotonic()

    def note(line: str) -> None:
        log.append(f"{time.monotonic() - started:7.3f}s {line}")

    page.on("console", lambda m: note(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda e: note(f"page error: {e}"))
    page.on("requestfailed", lambda r: note(f"failed {r.method} {r.url}: {r.failure}"))
    page.on("request", lambda r: note(f"-> {r.method} {r.url} {r.post_data or ''}"))
    page.on("response", lambda r: note(f"<- {r.status} {r.url}"))
    return log


async def explain_failure(sw: SlackWorld, page: Page, log: list[str]) -> None:
    """Print what the workspace holds next to what the page last read (shown on failure)."""
    seen = await page.evaluate(
        "() => ui.data && {me: ui.me, version: ui.data.version, channel: ui.channel,"
        " counts: Object.fromEntries(Object.entries(ui.data.messages)"
        ".map(([c, ms]) => [c, ms.length]))}"
    )
    print(f"page: {seen}; workspace version {sw.ws.state.feed.version}")
    for user in ("UNICO", "UCARLOS"):
        channel = sw.dm(user)
        for m in sw.ws.messages(channel, include_ephemeral=True):
            print(f"{user} {channel} {m.ts} {m.text[:100]!r}")
    print("\n".join(log))


async def act_as(page: Page, user_id: str) -> None:
    """Pick who you are in the sidebar and wait until the page shows the workspace as them."""
    await page.get_by_label("Act as").select_option(user_id)
    # The page re-reads the workspace for the new person; until then its sidebar is the last
    # person's, so a click there would open their conversation.
    await page.wait_for_function(
        "id => typeof ui !== 'undefined' && ui.data !== null && ui.data.me === id",
        arg=user_id,
        timeout=WAIT_MS,
    )


async def open_app_dm(page: Page) -> None:
    """The app's DM, under Apps in the sidebar."""
    await page.locator("#nav .nav-item", has_text=BOT_NAME).click()
    await expect(page.locator("#channel-title")).to_have_text(BOT_NAME)
    await expect(page.locator("#tabs [role=tab].active")).to_have_text("Messages")


async def test_nico_files_carlos_approves_in_the_browser(sw: SlackWorld, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    log = page_log(page)
    expect.set_options(timeout=WAIT_MS)
    try:
        await page.goto(sw.ws.base_url + "/")
        await expect(page.locator("#who option[value=UNICO]")).to_be_attached()

        # Nico files the request from the composer in his DM with the app.
        await act_as(page, "UNICO")
        await open_app_dm(page)
        composer = page.locator("#compose-text")
        await composer.fill(f"/purchase {BOOK_URL} 39.90 1 team book")
        await page.locator("#send").click()
        filed = page.locator(".msg.ephemeral", has_text="filed")
        await expect(filed).to_be_visible()
        await expect(filed).to_contain_text("Only visible to you")
        await expect(composer).to_have_value("")
        request_id = (await filed.locator("code").first.inner_text()).strip()
        assert request_id, await filed.inner_text()

        # Carlos, his manager, sees the request in his DM with the app and approves it.
        await act_as(page, "UCARLOS")
        await open_app_dm(page)
        request = page.locator(".msg", has_text=request_id).filter(
            has_text="Purchase approval needed"
        )
        await expect(request).to_be_visible()
        await expect(request).to_contain_text("team book")
        await expect(request).to_contain_text("39.90 EUR")
        await expect(request).to_contain_text("Nico Navarro")
        reject = request.get_by_role("button", name="Reject")
        await expect(reject).to_be_visible()
        await page.screenshot(path=ARTIFACTS / "browser-flow-request.png")
        request_ts = await request.get_attribute("data-ts")
        await request.get_by_role("button", name="Approve").click()

        # The same message now shows the decision, without buttons.
        decided = page.locator(".msg", has_text=request_id).filter(
            has_text="Purchase request decided"
        )
        await expect(decided).to_be_visible()
        await expect(decided).to_have_attribute("data-ts", request_ts or "")
        await expect(decided).to_contain_text("Approved by @Carlos Ruiz")
        await expect(decided.get_by_role("button")).to_have_count(0)
        await expect(request).to_have_count(0)
        await page.screenshot(path=ARTIFACTS / "browser-flow-approver.png")

        # Nico is told in his DM with the app that it was approved and ordered.
        await act_as(page, "UNICO")
        await open_app_dm(page)
        outcome = page.locator(".msg", has_text="Your purchase was approved and ordered")
        await expect(outcome).to_be_visible()
        await expect(outcome).to_contain_text(request_id)
        await expect(outcome).to_contain_text("and ordered: order ORD-")
        await page.screenshot(path=SCREENSHOT)
    except BaseException:
        with contextlib.suppress(Exception):
            await page.screenshot(path=FAILURE_SCREENSHOT)
        with contextlib.suppress(Exception):
            await explain_failure(sw, page, log)
        raise
    finally:
        await context.close()
