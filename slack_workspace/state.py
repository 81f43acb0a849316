"""The in-memory workspace: people, conversations, messages, modal views and the short-lived
tokens (trigger ids, response URLs) Slack hands out.

Everything runs on one asyncio loop, so state is changed by plain method calls without locks.
Every change bumps `feed.version`, which the browser's live updates and the test helpers'
`wait_for_*` both wait on instead of sleeping.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_workspace import ids
from slack_workspace.blocks import JsonDict, keep_state
from slack_workspace.directory import Person

SLACKBOT_ID = "USLACKBOT"

ChannelKind = Literal["channel", "im", "mpim"]


class ChangeFeed:
    """A version number plus a way to wait until it moves past a value."""

    def __init__(self) -> None:
        self.version = 0
        self._event = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        # Wake everyone waiting on the current event, then start a fresh one for later waits.
        self._event.set()
        self._event = asyncio.Event()

    async def wait_past(self, version: int, within: float) -> bool:
        """Wait until the version is greater than `version`; False when `within` seconds ran
        out first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.version <= version:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._event.wait(), timeout=remaining)
            except TimeoutError:
                return self.version > version
        return True


@dataclass
class User:
    id: str
    name: str  # Slack's legacy username, e.g. "alice.smith"
    real_name: str
    team_id: str
    is_bot: bool = False
    person: Person | None = None

    def to_api(self) -> JsonDict:
        """users.info's `user` object (the documented fields a bot is likely to read)."""
        first, _, last = self.real_name.partition(" ")
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": "Europe/Madrid",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "profile": {
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": self.real_name,
                "display_name_normalized": self.real_name,
                "first_name": first,
                "last_name": last,
                "title": self.person.department if self.person else "",
                "email": f"{self.name}@example.invalid" if not self.is_bot else None,
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1732780000,
        }

    def to_ref(self) -> JsonDict:
        """The `user` object inside interaction payloads."""
        return {"id": self.id, "username": self.name, "name": self.name, "team_id": self.team_id}


@dataclass
class Channel:
    id: str
    name: str
    kind: ChannelKind
    # Private conversations: everyone in them. Public channels: the apps that joined
    # (conversations.join); every person is a member of every public channel here.
    members: list[str]
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def is_public(self) -> bool:
        return self.kind == "channel"

    def to_api(self, for_user: str | None = None, *, is_member: bool = True) -> JsonDict:
        data: JsonDict = {"id": self.id, "created": self.created}
        if self.kind == "im":
            other = [m for m in self.members if m != for_user] or self.members
            data.update(is_im=True, is_org_shared=False, user=other[0], is_open=True)
            data.update(last_read="0000000000.000000", latest=None, unread_count=0, priority=0)
        elif self.kind == "mpim":
            data.update(name=self.name, is_mpim=True, is_group=True, is_private=True)
        else:
            data.update(name=self.name, is_channel=True, is_private=False, is_member=is_member)
            data.update(is_archived=False, is_general=self.name == "general")
        return data


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str  # author: a person, the bot user, or USLACKBOT
    blocks: list[JsonDict] | None = None
    attachments: list[JsonDict] | None = None
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    ephemeral_to: str | None = None  # set: only this person sees it ("Only visible to you")
    edited_ts: str | None = None
    team: str = ""
    metadata: JsonDict | None = None

    @property
    def is_ephemeral(self) -> bool:
        return self.ephemeral_to is not None

    def to_api(self, bot_name: str = "") -> JsonDict:
        """The message object as chat.postMessage/chat.update and interaction payloads give it."""
        data: JsonDict = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.team:
            data["team"] = self.team
        if self.bot_id:
            data["bot_id"] = self.bot_id
            data["app_id"] = self.app_id
            data["bot_profile"] = {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": bot_name,
                "deleted": False,
                "team_id": self.team,
            }
        if self.blocks is not None:
            data["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments is not None:
            data["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.edited_ts:
            data["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.metadata is not None:
            data["metadata"] = copy.deepcopy(self.metadata)
        return data


@dataclass
class View:
    """A modal or App Home view. `data` is the app's view object as last set; the rest is
    what Slack adds or keeps on its side."""

    id: str
    user_id: str
    data: JsonDict
    hash: str
    team_id: str
    app_id: str
    bot_id: str
    root_view_id: str
    previous_view_id: str | None = None
    values: JsonDict = field(default_factory=dict)  # state.values
    errors: dict[str, str] = field(default_factory=dict)  # block_id -> message on screen
    client_error: str | None = None  # Slack's own banner, e.g. after a timed-out submit

    @property
    def type(self) -> str:
        return str(self.data.get("type", "modal"))

    @property
    def blocks(self) -> list[JsonDict]:
        blocks: list[JsonDict] = self.data.get("blocks", [])
        return blocks

    def to_api(self) -> JsonDict:
        """The view object as views.* methods return it and payloads carry it."""
        data = copy.deepcopy(self.data)
        result: JsonDict = {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "blocks": data.get("blocks", []),
            "private_metadata": data.get("private_metadata", ""),
            "callback_id": data.get("callback_id", ""),
            "state": {"values": copy.deepcopy(self.values)},
            "hash": self.hash,
            "title": data.get("title"),
            "clear_on_close": bool(data.get("clear_on_close", False)),
            "notify_on_close": bool(data.get("notify_on_close", False)),
            "close": data.get("close"),
            "submit": data.get("submit"),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": self.app_id,
            "external_id": data.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if self.type == "home":
            for key in ("title", "close", "submit", "clear_on_close", "notify_on_close"):
                result.pop(key, None)
        return result

    def on_screen(self) -> JsonDict:
        """The view as the page shows it: the view object plus what Slack's client shows over
        it (field errors, its own banner)."""
        data = self.to_api()
        data["errors"] = dict(self.errors)
        data["client_error"] = self.client_error
        return data


@dataclass
class Trigger:
    id: str
    user_id: str
    expires_at: float  # loop-independent monotonic clock
    used: bool = False


@dataclass
class ResponseUrl:
    token: str
    user_id: str
    channel_id: str
    original_ts: str | None  # the message replace_original/delete_original act on
    created: float
    uses: int = 0


class WorkspaceState:
    def __init__(
        self,
        people: Iterable[Person],
        *,
        public_channels: Iterable[str] = ("general", "purchasing-ops"),
        team_id: str = "T0LOCAL01",
        team_domain: str = "local-workspace",
        team_name: str = "Local Workspace",
        bot_name: str = "purchasebot",
        bot_user_id: str = "U0BOTUSER",
        bot_id: str = "B0LOCALBOT",
        app_id: str = "A0LOCALAPP",
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.bot_name = bot_name
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.feed = ChangeFeed()
        self.clock = ids.TsClock()
        self.ids = ids.IdMaker()
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}
        self.modal_stacks: dict[str, list[View]] = {}
        self.views: dict[str, View] = {}
        self.home_views: dict[str, View] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self._trigger_counter = 0
        for person in people:
            self.users[person.slack_id] = User(
                id=person.slack_id,
                name=person.username,
                real_name=person.name,
                team_id=team_id,
                person=person,
            )
        self.users[bot_user_id] = User(bot_user_id, bot_name, bot_name, team_id, is_bot=True)
        self.users[SLACKBOT_ID] = User(SLACKBOT_ID, "slackbot", "Slackbot", team_id, is_bot=True)
        for name in public_channels:
            cid = "C0" + "".join(c for c in name.upper() if c.isalnum())[:10]
            self.channels[cid] = Channel(cid, name, "channel", [])
            self.messages[cid] = []

    # --- people and conversations ----------------------------------------------------------

    @property
    def people(self) -> list[User]:
        return [u for u in self.users.values() if not u.is_bot]

    def members(self, channel: Channel) -> list[str]:
        if channel.is_public:
            people = [u.id for u in self.users.values() if not u.is_bot]
            return people + [m for m in channel.members if m not in people]
        return list(channel.members)

    def join(self, channel: Channel, user_id: str) -> None:
        if user_id not in channel.members:
            channel.members.append(user_id)
            self.feed.bump()

    def leave(self, channel: Channel, user_id: str) -> None:
        if user_id in channel.members:
            channel.members.remove(user_id)
            self.feed.bump()

    def is_member(self, channel: Channel, user_id: str) -> bool:
        return user_id in self.members(channel)

    def resolve_channel(self, ref: str, acting_user: str) -> Channel | None:
        """A channel from an id ("C…", "D…"), a name ("#general", "general"), or a user id
        (Slack then uses the acting user's DM with that person, opening it if needed)."""
        ref = ref.strip()
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.is_public and channel.name == name:
                return channel
        if ref in self.users and ref != acting_user:
            return self.open_conversation(acting_user, [ref])
        return None

    def open_conversation(self, opener: str, others: list[str]) -> Channel:
        """The DM (one other person) or group DM (several) between `opener` and `others`,
        created on first use; the same members always get the same conversation."""
        members = sorted({opener, *others})
        kind: ChannelKind = "im" if len(members) == 2 else "mpim"
        for channel in self.channels.values():
            if channel.kind == kind and sorted(channel.members) == members:
                return channel
        if kind == "im":
            channel = Channel(self.ids.next("D"), "directmessage", "im", members)
        else:
            names = "--".join(self.users[m].name for m in members)
            channel = Channel(self.ids.next("G"), f"mpdm-{names}-1", "mpim", members)
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        self.feed.bump()
        return channel

    def find_conversation(self, members: Iterable[str]) -> Channel | None:
        wanted = sorted(set(members))
        for channel in self.channels.values():
            if not channel.is_public and sorted(channel.members) == wanted:
                return channel
        return None

    def visible_channels(self, user_id: str) -> list[Channel]:
        return [c for c in self.channels.values() if self.is_member(c, user_id)]

    # --- messages ------------------------------------------------------------------------

    def post(
        self,
        channel_id: str,
        *,
        author: str,
        text: str,
        blocks: list[JsonDict] | None = None,
        attachments: list[JsonDict] | None = None,
        thread_ts: str | None = None,
        ephemeral_to: str | None = None,
        metadata: JsonDict | None = None,
    ) -> Message:
        is_app = author == self.bot_user_id
        message = Message(
            channel=channel_id,
            ts=self.clock.next(),
            text=text,
            user=author,
            blocks=blocks,
            attachments=attachments,
            bot_id=self.bot_id if is_app else None,
            app_id=self.app_id if is_app else None,
            thread_ts=thread_ts,
            ephemeral_to=ephemeral_to,
            team=self.team_id,
            metadata=metadata,
        )
        self.messages[channel_id].append(message)
        self.feed.bump()
        return message

    def find_message(
        self, channel_id: str, ts: str, visible_to: str | None = None
    ) -> Message | None:
        for message in self.messages.get(channel_id, []):
            if message.ts != ts:
                continue
            if message.ephemeral_to is None or message.ephemeral_to == visible_to:
                return message
        return None

    def replace_message(
        self,
        message: Message,
        *,
        text: str | None = None,
        blocks: list[JsonDict] | None = None,
        attachments: list[JsonDict] | None = None,
        replace_blocks: bool = True,
    ) -> Message:
        if text is not None:
            message.text = text
        if replace_blocks:
            message.blocks = blocks
            message.attachments = attachments
        if not message.is_ephemeral:
            message.edited_ts = self.clock.next()
        self.feed.bump()
        return message

    def delete_message(self, message: Message) -> None:
        self.messages[message.channel] = [
            m for m in self.messages[message.channel] if m is not message
        ]
        self.feed.bump()

    def all_messages(self) -> list[Message]:
        return [m for msgs in self.messages.values() for m in msgs]

    # --- triggers and response URLs ------------------------------------------------------

    def issue_trigger(self, user_id: str, ttl: float) -> str:
        self._trigger_counter += 1
        trigger = Trigger(ids.trigger_id(self._trigger_counter), user_id, time.monotonic() + ttl)
        self.triggers[trigger.id] = trigger
        return trigger.id

    def redeem_trigger(self, trigger_id: str) -> Trigger | str:
        """The trigger, now used up, or Slack's error code: a trigger id is single use and
        lives for three seconds."""
        trigger = self.triggers.get(trigger_id)
        if trigger is None:
            return "invalid_trigger_id"
        if trigger.used or time.monotonic() > trigger.expires_at:
            return "expired_trigger_id"
        trigger.used = True
        return trigger

    def issue_response_url(self, user_id: str, channel_id: str, original_ts: str | None) -> str:
        token = secrets.token_urlsafe(18)
        self.response_urls[token] = ResponseUrl(
            token, user_id, channel_id, original_ts, time.monotonic()
        )
        return token

    # --- views ---------------------------------------------------------------------------

    def _new_view(
        self, user_id: str, data: JsonDict, root: str | None, previous: str | None
    ) -> View:
        view_id = self.ids.next("V")
        view = View(
            id=view_id,
            user_id=user_id,
            data=data,
            hash=ids.view_hash(),
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = view
        return view

    def open_modal(self, user_id: str, data: JsonDict) -> View:
        for old in self.modal_stacks.pop(user_id, []):
            self.views.pop(old.id, None)
        view = self._new_view(user_id, data, None, None)
        self.modal_stacks[user_id] = [view]
        self.feed.bump()
        return view

    def push_modal(self, user_id: str, data: JsonDict) -> View:
        stack = self.modal_stacks.get(user_id, [])
        if not stack:
            return self.open_modal(user_id, data)
        view = self._new_view(user_id, data, stack[0].id, stack[-1].id)
        stack.append(view)
        self.feed.bump()
        return view

    def current_modal(self, user_id: str) -> View | None:
        stack = self.modal_stacks.get(user_id)
        return stack[-1] if stack else None

    def update_view(self, view: View, data: JsonDict) -> View:
        view.data = data
        view.values = keep_state(view.blocks, view.values)
        view.hash = ids.view_hash()
        view.errors = {}
        view.client_error = None
        self.feed.bump()
        return view

    def close_view(self, view: View) -> None:
        """Close one modal view; the one under it (if any) shows again."""
        stack = self.modal_stacks.get(view.user_id, [])
        if view in stack:
            stack.remove(view)
        if not stack:
            self.modal_stacks.pop(view.user_id, None)
        self.views.pop(view.id, None)
        self.feed.bump()

    def clear_modals(self, user_id: str) -> None:
        for view in self.modal_stacks.pop(user_id, []):
            self.views.pop(view.id, None)
        self.feed.bump()

    def publish_home(self, user_id: str, data: JsonDict) -> View:
        view = self.home_views.get(user_id)
        if view is None:
            view = self._new_view(user_id, data, None, None)
            self.home_views[user_id] = view
            self.feed.bump()
            return view
        return self.update_view(view, data)

    def find_view_by_external_id(self, external_id: str) -> View | None:
        for view in self.views.values():
            if external_id and view.data.get("external_id") == external_id:
                return view
        return None

    def snapshot(self, obj: Any) -> Any:
        """A deep copy for callers outside the workspace, so they cannot change its state."""
        return copy.deepcopy(obj)
