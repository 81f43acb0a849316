"""`LocalSlackWorkspace`: the fake Slack as one object a test, or a developer, starts.

One aiohttp server on 127.0.0.1 serves Slack's Web API (/api/), response URLs (/response/),
the browser UI (/ and /ui/) and the workspace's own test controls (/control/). Deliveries to
the bot go to `request_url`, signed with a per-start signing secret. The bot needs no change:
it is pointed at `api_url` with `bot_token` and `signing_secret` instead of Slack's.

Slack's rules that matter for correctness are kept: the app holds the scopes its manifest
grants (`missing_scope` otherwise), it is a member of no public channel until it joins one
(`not_in_channel`, unless it holds chat:write.public), and faults (429 with Retry-After,
ok:false errors, HTTP 500s, hangs) can be injected per test.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from slack_workspace import payloads
from slack_workspace.blocks import JsonDict
from slack_workspace.config import WorkspaceConfig, new_bot_token, new_signing_secret
from slack_workspace.control import ControlApi
from slack_workspace.delivery import Deliverer, DeliveryResult
from slack_workspace.directory import Person, load_directory
from slack_workspace.events_api import EventDelivery, EventsApi
from slack_workspace.faults import ApiCall, Fault, FaultKind, FaultPlan
from slack_workspace.rate_limits import RateLimits
from slack_workspace.response_urls import ResponseUrlApi
from slack_workspace.scopes import (
    DEFAULT_SCOPES,
    Grants,
    events_from_manifest,
    scopes_from_manifest,
)
from slack_workspace.state import Channel, Message, WorkspaceState
from slack_workspace.ui import UiApi
from slack_workspace.web_api import WebApi


def ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


class LocalSlackWorkspace:
    def __init__(
        self,
        directory: Path | str | Iterable[Person],
        *,
        request_url: str | None = None,
        ack_timeout: float = 3.0,
        trigger_ttl: float = 3.0,
        commands: Iterable[str] = ("/purchase",),
        public_channels: Iterable[str] = ("general", "purchasing-ops"),
        bot_name: str = "purchasebot",
        bot_token: str | None = None,
        signing_secret: str | None = None,
        manifest: Path | str | None = None,
        scopes: Iterable[str] | None = None,
        bot_channels: Iterable[str] = (),
        event_retry_delays: Iterable[float] = (0.0, 60.0, 300.0),
        rate_limits: bool = False,
    ) -> None:
        """`manifest` (an app manifest.yaml) or `scopes` say what the app was granted; with
        neither it holds every scope a method here needs, but not chat:write.public.
        `bot_channels`: public channels someone already invited the bot to.
        `event_retry_delays`: the waits before Slack's retries of an unacknowledged event.
        `rate_limits`: enforce Slack's per-method tiers and one post per second per channel."""
        people = (
            load_directory(Path(directory))
            if isinstance(directory, str | Path)
            else list(directory)
        )
        self.state = WorkspaceState(people, public_channels=public_channels, bot_name=bot_name)
        self.config = WorkspaceConfig(
            request_url=request_url,
            ack_timeout=ack_timeout,
            trigger_ttl=trigger_ttl,
            commands=set(commands),
            event_retry_delays=tuple(event_retry_delays),
        )
        # Fixed secrets only when asked for (e.g. to match a bot's .env); otherwise new per start.
        self._fixed_token = bot_token
        self._fixed_secret = signing_secret
        if scopes is not None:
            granted = frozenset(scopes)
        elif manifest is not None:
            granted = scopes_from_manifest(manifest)
        else:
            granted = DEFAULT_SCOPES
        if manifest is not None:
            self.config.bot_events = events_from_manifest(manifest)
        self.grants = Grants(granted)
        self.faults = FaultPlan()
        self.rate_limits = RateLimits(enabled=rate_limits)
        for name in bot_channels:
            self.state.join(self._channel(name), self.state.bot_user_id)
        self.deliverer = Deliverer(self.state, self.config)
        self.events = EventsApi(self.state, self.config, self.deliverer)
        self.ui = UiApi(self.state, self.config, self.deliverer, self.open_app_home)
        self._runner: web.AppRunner | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application()
        api = WebApi(self.state, self.config, self.faults, self.grants, self.rate_limits)
        app.add_routes(api.routes())
        app.add_routes(ResponseUrlApi(self.state).routes())
        app.add_routes(ControlApi(self.state, self.faults, self.grants).routes())
        self.ui.add_to(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen (port 0: any free port) and return the base URL, e.g. http://127.0.0.1:3100."""
        if self._runner is not None:
            raise RuntimeError("the workspace is already running")
        self.config.bot_token = self._fixed_token or new_bot_token()
        self.config.signing_secret = self._fixed_secret or new_signing_secret()
        self.ui.reopen()
        runner = web.AppRunner(self.build_app(), shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        self.config.base_url = f"http://{bound_host}:{bound_port}"
        await self.deliverer.start()
        return self.config.base_url

    async def stop(self) -> None:
        self.ui.close()
        await self.events.close()
        await self.deliverer.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalSlackWorkspace:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- what a bot is configured with -----------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def api_url(self) -> str:
        """What the bot sets as SLACK_API_URL / AsyncWebClient(base_url=...)."""
        return f"{self.config.base_url}/api/"

    @property
    def bot_token(self) -> str:
        return self.config.bot_token

    @property
    def signing_secret(self) -> str:
        return self.config.signing_secret

    @property
    def bot_user_id(self) -> str:
        return self.state.bot_user_id

    @property
    def team_id(self) -> str:
        return self.state.team_id

    @property
    def request_url(self) -> str | None:
        return self.config.request_url

    def set_request_url(self, url: str | None) -> None:
        """Where commands and interactions go: the bot's /slack/events."""
        self.config.request_url = url

    def register_command(self, command: str) -> None:
        self.config.commands.add(command if command.startswith("/") else "/" + command)

    # --- Slack's rules and bad days ----------------------------------------------------------

    @property
    def scopes(self) -> frozenset[str]:
        return self.grants.scopes

    def grant_scopes(self, scopes: Iterable[str]) -> None:
        """Replace the app's scopes, as re-installing it with another manifest does."""
        self.grants.scopes = frozenset(scopes)

    def bot_is_member(self, channel: str) -> bool:
        return self.state.is_member(self._channel(channel), self.bot_user_id)

    def invite_bot(self, channel: str) -> None:
        """Someone types `/invite @purchasebot` in a public channel."""
        self.state.join(self._channel(channel), self.bot_user_id)

    def remove_bot(self, channel: str) -> None:
        """Someone removes the bot from a public channel."""
        self.state.leave(self._channel(channel), self.bot_user_id)

    def inject_fault(
        self,
        method: str,
        kind: FaultKind,
        *,
        times: int = 1,
        retry_after: int = 1,
        error: str = "internal_error",
        status: int = 500,
        seconds: float = 60.0,
        apply: bool = False,
        match: Mapping[str, str] | None = None,
    ) -> Fault:
        """The next `times` calls to `method` ("*": any) answer with a fault instead:
        "rate_limited" (HTTP 429, Retry-After: `retry_after`), "error" (ok:false, `error`),
        "http_error" (HTTP `status`), "timeout" (no answer for `seconds`). `apply`: the call
        still takes effect, only its answer is bad. `match`: only calls with these arguments."""
        return self.faults.add(
            Fault(
                method=method,
                kind=kind,
                times=times,
                retry_after=retry_after,
                error=error,
                status=status,
                seconds=seconds,
                apply=apply,
                match=dict(match or {}),
            )
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def api_calls(self, method: str | None = None) -> list[ApiCall]:
        """Every Web API call so far (or those to `method`), oldest first."""
        return [c for c in self.faults.calls if method in (None, c.method)]

    # --- acting as a person --------------------------------------------------------------

    async def send_command(
        self, user_id: str, command: str, text: str = "", channel: str | None = None
    ) -> DeliveryResult:
        """Type `/command text` (by default in the person's DM with the app)."""
        where = channel or self.dm_channel(user_id, self.bot_user_id)
        return await self.deliverer.command(user_id, where, command, text)

    async def click_button(
        self,
        user_id: str,
        channel: str,
        ts: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> DeliveryResult:
        """Click a button (or pick `value` in a select) of a message the person can see."""
        return await self.deliverer.block_action(
            user_id, action_id=action_id, channel_ref=channel, ts=ts, block_id=block_id, value=value
        )

    async def click_view_button(
        self,
        user_id: str,
        view_id: str,
        action_id: str,
        value: str | None = None,
        block_id: str | None = None,
    ) -> DeliveryResult:
        """Click a button (or pick `value` in a select) in a modal or the App Home; `block_id`
        picks one of several elements with the same action id (one per block)."""
        return await self.deliverer.block_action(
            user_id, action_id=action_id, view_id=view_id, block_id=block_id, value=value
        )

    async def submit_view(
        self, user_id: str, view_id: str, values: Mapping[str, Any]
    ) -> DeliveryResult:
        """Submit the modal on screen. `values`: {block_id: {action_id: raw}} or
        {action_id: raw}; raw is text, an option value, or a list of option values."""
        return await self.deliverer.view_submission(user_id, view_id, values)

    async def close_view(self, user_id: str, view_id: str) -> DeliveryResult | None:
        return await self.deliverer.close_view(user_id, view_id)

    async def open_app_home(self, user_id: str, tab: str = "home") -> EventDelivery | None:
        """The person opens the app's Home (or Messages) tab: Slack sends app_home_opened.
        Returns after the first delivery attempt; `.wait()` for Slack's retries."""
        user = self.deliverer.person(user_id)
        channel = self.state.open_conversation(user_id, [self.bot_user_id])
        event = payloads.app_home_opened(self.state, user=user, channel=channel, tab=tab)
        return await self.events.deliver(event)

    async def verify_request_url(self) -> bool:
        """Slack's url_verification of the request URL: True when the app echoed it."""
        return await self.events.verify_url()

    @property
    def event_deliveries(self) -> list[EventDelivery]:
        return list(self.events.deliveries)

    def post_as(self, user_id: str, channel: str, text: str) -> Message:
        """A person writes a plain message (no event is delivered to the app)."""
        found = self._channel(channel, user_id)
        return copy.deepcopy(self.state.post(found.id, author=user_id, text=text))

    # --- looking ---------------------------------------------------------------------------

    def _channel(self, ref: str, acting_user: str | None = None) -> Channel:
        found = self.state.resolve_channel(ref, acting_user or self.bot_user_id)
        if found is None:
            raise LookupError(f"no channel {ref!r}")
        return found

    def channel_id(self, name: str) -> str:
        return self._channel(name).id

    def dm_channel(self, user_a: str, user_b: str) -> str:
        """The id of the DM between two members (either may be the bot), opening it if new."""
        for user_id in (user_a, user_b):
            if user_id not in self.state.users:
                raise LookupError(f"no user {user_id!r}")
        return self.state.open_conversation(user_a, [user_b]).id

    def messages(self, channel: str, *, include_ephemeral: bool = False) -> list[Message]:
        """Messages in a channel (id or name), oldest first; copies, safe to keep."""
        found = self._channel(channel)
        return [
            copy.deepcopy(m)
            for m in self.state.messages[found.id]
            if include_ephemeral or not m.is_ephemeral
        ]

    def messages_for(self, user_id: str, *, include_public: bool = True) -> list[Message]:
        """Everything the person can see: their conversations' messages plus ephemeral
        messages shown only to them, in ts order."""
        seen = [
            m
            for channel in self.state.visible_channels(user_id)
            if include_public or not channel.is_public
            for m in self.state.messages[channel.id]
            if m.ephemeral_to in (None, user_id)
        ]
        # Compare ts as (seconds, microseconds): as a float it loses the last digits.
        return [copy.deepcopy(m) for m in sorted(seen, key=lambda m: ts_key(m.ts))]

    def ephemeral_messages(self, user_id: str) -> list[Message]:
        return [m for m in self.messages_for(user_id) if m.ephemeral_to == user_id]

    def open_view(self, user_id: str) -> JsonDict | None:
        """The modal view the person has on screen (Slack's view object), or None."""
        view = self.state.current_modal(user_id)
        return None if view is None else view.on_screen()

    def home_view(self, user_id: str) -> JsonDict | None:
        view = self.state.home_views.get(user_id)
        return None if view is None else view.to_api()

    # `timeout` as a plain argument (not asyncio.timeout) is the helper contract tests use.
    async def wait_for(self, condition: Callable[[], Any], timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Wait until `condition()` returns something truthy, re-checking after every change
        in the workspace; TimeoutError when the deadline passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            version = self.state.feed.version
            result = condition()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            await self.state.feed.wait_past(version, remaining)

    async def wait_for_message(
        self,
        predicate: Callable[[Message], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Message:
        """The first message (ephemeral ones included) matching `predicate`, waiting for it."""

        def find() -> Message | None:
            for message in self.state.all_messages():
                if predicate(message):
                    return copy.deepcopy(message)
            return None

        try:
            found: Message = await self.wait_for(find, timeout)
        except TimeoutError:
            recent = [f"{m.channel} {m.ts} {m.text[:60]!r}" for m in self.state.all_messages()]
            raise TimeoutError(
                f"no matching message within {timeout} s; messages: {recent[-10:]}"
            ) from None
        return found
