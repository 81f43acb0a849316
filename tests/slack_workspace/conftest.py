"""Fixtures: a running LocalSlackWorkspace, a real slack-sdk client pointed at it, and a
small signed-request receiver standing in for the bot's /slack/events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace

DIRECTORY = """\
people:
  - slack_id: UALICE
    employee_id: E001
    name: Alice Smith
    department: Engineering
    manager: UCARLOS
  - slack_id: UCARLOS
    employee_id: E002
    name: Carlos Ruiz
    department: Engineering
    manager: UHELEN
  - slack_id: UHELEN
    employee_id: E003
    name: Helen Park
    department: Finance
    manager: UCARLOS
"""


@pytest.fixture
def directory_file(tmp_path: Path) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(DIRECTORY)
    return path


@dataclass
class Received:
    headers: dict[str, str]
    raw: str
    body: dict[str, Any]  # parsed the way Bolt parses it
    signature_ok: bool


Reply = Callable[[Received], Awaitable[web.StreamResponse]]


async def empty_ack(_: Received) -> web.StreamResponse:
    return web.Response(status=200)


class Receiver:
    """The app's request URL: verifies Slack's signature, parses like Bolt, records."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.reply: Reply = empty_ack
        self.signing_secret = ""
        self.url = ""
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/slack/events", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/slack/events"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.text()
        verifier = SignatureVerifier(self.signing_secret)
        ok = verifier.is_valid(
            body=raw,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
        )
        received = Received(dict(request.headers), raw, parse_body(raw, request.content_type), ok)
        self.requests.append(received)
        self.arrived.set()
        return await self.reply(received)

    @property
    def last(self) -> Received:
        assert self.requests, "the app received nothing"
        return self.requests[-1]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    await rec.start()
    yield rec
    await rec.stop()


@pytest.fixture
async def ws(directory_file: Path, receiver: Receiver) -> AsyncIterator[LocalSlackWorkspace]:
    # As in a real workspace, someone invited the bot to #general; #purchasing-ops it never joined.
    workspace = LocalSlackWorkspace(directory_file, ack_timeout=2.0, bot_channels=("general",))
    await workspace.start()
    receiver.signing_secret = workspace.signing_secret
    workspace.set_request_url(receiver.url)
    yield workspace
    await workspace.stop()


@pytest.fixture
def client(ws: LocalSlackWorkspace) -> AsyncWebClient:
    return AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
