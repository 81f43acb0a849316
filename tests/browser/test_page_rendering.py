"""The page shows what Slack shows: emoji shortcodes as emoji, mrkdwn links, mentions of
people, channels and @channel, and Slack's &amp; &lt; &gt; escapes as the characters they stand
for; and opening the app's Home tab tells the app (app_home_opened). Headless Chromium reads
the page as a person would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace
from tests.browser.test_browser_flow import (  # noqa: F401  (the browser fixture)
    BOT_NAME,
    WAIT_MS,
    act_as,
    browser,
    open_app_dm,
    pytestmark,
)
from tests.integration.world import REPO
from tests.slack_workspace.conftest import Receiver


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The app's request URL: records what the workspace delivers."""
    app_url = Receiver()
    await app_url.start()
    yield app_url
    await app_url.stop()


@pytest_asyncio.fixture
async def ws(receiver: Receiver) -> AsyncIterator[LocalSlackWorkspace]:
    async with LocalSlackWorkspace(REPO / "directory.yaml", manifest=REPO / "manifest.yaml") as w:
        receiver.signing_secret = w.signing_secret
        w.set_request_url(receiver.url)
        yield w


@pytest_asyncio.fixture
async def page(ws: LocalSlackWorkspace, browser: Browser) -> AsyncIterator[Page]:  # noqa: F811
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    await page.goto(ws.base_url + "/")
    await act_as(page, "UALICE")
    yield page
    await context.close()


async def test_messages_render_like_slack(ws: LocalSlackWorkspace, page: Page) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    ops = ws.channel_id("purchasing-ops")
    text = (
        f":rotating_light: Rolled back <https://example.com/b?x=1&amp;y=2|the build> for "
        f"<@UCARLOS> in <#{ops}> <!channel>: errors &lt;= 5% &amp; success &gt;= 95% "
        f":white_check_mark: :not_an_emoji: :constructor:"
    )
    await client.chat_postMessage(
        channel="UALICE",
        text=text,
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    )
    await open_app_dm(page)
    message = page.locator(".msg", has_text="Rolled back")
    await expect(message).to_contain_text(
        "🚨 Rolled back the build for @Carlos Ruiz in #purchasing-ops @channel: "
        "errors <= 5% & success >= 95% ✅ :not_an_emoji: :constructor:"
    )
    link = message.get_by_role("link", name="the build")
    await expect(link).to_have_attribute("href", "https://example.com/b?x=1&y=2")
    # Escaped markup a person typed stays text: no link, no mention.
    await client.chat_postMessage(
        channel="UALICE", text="said: &lt;!channel&gt; &lt;https://evil.example|ok&gt;"
    )
    typed = page.locator(".msg", has_text="said:")
    await expect(typed).to_contain_text("said: <!channel> <https://evil.example|ok>")
    await expect(typed.get_by_role("link")).to_have_count(0)


async def test_opening_the_home_tab_tells_the_app(
    ws: LocalSlackWorkspace, receiver: Receiver, page: Page
) -> None:
    await open_app_dm(page)
    await page.locator("#tabs [role=tab]", has_text="Home").click()
    await expect(page.locator("#home")).to_contain_text(f"{BOT_NAME} has not published")

    def home_opened() -> dict[str, Any] | None:
        events = [r.body.get("event") or {} for r in receiver.requests]
        return next((e for e in events if e.get("tab") == "home"), None)

    event = await ws.wait_for(home_opened, timeout=WAIT_MS / 1000)
    assert event["type"] == "app_home_opened" and event["user"] == "UALICE"
    assert receiver.last.signature_ok
