"""What `/purchase <text>` asks for. Pure: the listeners act on the result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from domain.delegation import parse_until
from domain.directory import is_slack_id
from domain.intake import KNOWN_CURRENCIES
from domain.mrkdwn import escape, unescape_slack
from domain.request_ids import parse_request_id


@dataclass(frozen=True)
class NewRequest:
    """A new request as typed, after `/purchase` or in the purchase form; checked when filed."""

    url: str
    amount: str
    quantity: str
    justification: str | None


@dataclass(frozen=True)
class CheckPurchase:
    """`/purchase check <link> <amount> [quantity]`: what the review would decide, nothing filed."""

    url: str
    amount: str
    quantity: str


@dataclass(frozen=True)
class OpenForm:
    pass


@dataclass(frozen=True)
class ShowHelp:
    pass


@dataclass(frozen=True)
class ShowStatus:
    request_id: str | None


@dataclass(frozen=True)
class CancelRequest:
    request_id: str


@dataclass(frozen=True)
class DashboardLink:
    """`/purchase dashboard`: a login link to the web dashboard, sent in a DM (ops, finance)."""


@dataclass(frozen=True)
class ReassignRequest:
    """`/purchase reassign <id> @someone [why…]` (ops only)."""

    request_id: str
    to: str
    reason: str


@dataclass(frozen=True)
class Delegate:
    """`/purchase delegate @someone until <date>`."""

    to: str
    until: datetime


@dataclass(frozen=True)
class DelegateOff:
    pass


@dataclass(frozen=True)
class ShowDelegation:
    pass


DelegationCommand = ReassignRequest | Delegate | DelegateOff | ShowDelegation


@dataclass(frozen=True)
class Unparseable:
    """Any slash command's text that cannot be read: `problem` tells the person why."""

    problem: str


Command = (
    NewRequest
    | CheckPurchase
    | OpenForm
    | ShowHelp
    | ShowStatus
    | CancelRequest
    | DashboardLink
    | DelegationCommand
    | Unparseable
)

# Slack sends links as <https://…> or <https://…|label>.
_SLACK_LINK = re.compile(r"^<([^|>]+)(?:\|[^>]*)?>$")


def parse_purchase_command(text: str) -> Command:
    words = text.split()
    if not words:
        return OpenForm()
    head = words[0].lower()
    if head in {"help", "-h", "--help", "?"}:
        return ShowHelp()
    if head == "status":
        if len(words) > 2:
            return Unparseable("`/purchase status` takes at most one request id.")
        if len(words) == 1:
            return ShowStatus(None)
        request_id = parse_request_id(words[1])
        return ShowStatus(request_id) if request_id else _not_an_id(words[1])
    if head == "cancel":
        if len(words) != 2:
            return Unparseable("Say which request to cancel: `/purchase cancel PR-K5QW2XH7RTB3M`.")
        request_id = parse_request_id(words[1])
        return CancelRequest(request_id) if request_id else _not_an_id(words[1])
    if head == "dashboard":
        if len(words) > 1:
            return Unparseable("`/purchase dashboard` takes nothing after it.")
        return DashboardLink()
    if head == "reassign":
        return _reassign(words[1:])
    if head == "delegate":
        return _delegate(words[1:])
    if head == "check":
        wanted = _new_request(words[1:])
        if isinstance(wanted, Unparseable):
            return Unparseable(f"{wanted.problem} Say `/purchase check <link> <amount>`.")
        return CheckPurchase(url=wanted.url, amount=wanted.amount, quantity=wanted.quantity)
    return _new_request(words)


def _new_request(words: list[str]) -> NewRequest | Unparseable:
    if not words:
        return Unparseable("Add the product link and the total amount.")
    url = _unwrap_link(words[0])
    if not url.lower().startswith(("http://", "https://", "www.", "amazon.")):
        return Unparseable(f"`{escape(unescape_slack(words[0][:60]))}` is not a product link.")
    if len(words) < 2:
        return Unparseable("Add the total amount after the link, e.g. `39.90`.")
    amount, rest = words[1], words[2:]
    if rest and rest[0].upper() in KNOWN_CURRENCIES:
        amount = f"{amount} {rest.pop(0)}"
    quantity = rest.pop(0) if rest and rest[0].isdigit() else "1"
    # Stored as the literal characters typed; every place that shows it escapes it again.
    justification = unescape_slack(" ".join(rest)) if rest else None
    return NewRequest(url=url, amount=amount, quantity=quantity, justification=justification)


def _reassign(words: list[str]) -> ReassignRequest | Unparseable:
    usage = "Say `/purchase reassign PR-K5QW2XH7RTB3M @someone [why]`."
    if len(words) < 2:
        return Unparseable(f"Say which request and to whom. {usage}")
    request_id = parse_request_id(words[0])
    if request_id is None:
        return _not_an_id(words[0])
    to = _mentioned_user(words[1])
    if to is None:
        return _not_a_person(words[1], usage)
    return ReassignRequest(request_id=request_id, to=to, reason=unescape_slack(" ".join(words[2:])))


def _delegate(words: list[str]) -> DelegationCommand | Unparseable:
    usage = "Say `/purchase delegate @someone until 2026-12-24`, or `/purchase delegate off`."
    if not words:
        return ShowDelegation()
    if len(words) == 1 and words[0].lower() == "off":
        return DelegateOff()
    if len(words) != 3 or words[1].lower() != "until":
        return Unparseable(usage)
    to = _mentioned_user(words[0])
    if to is None:
        return _not_a_person(words[0], usage)
    try:
        until = parse_until(words[2])
    except ValueError as err:
        return Unparseable(escape(str(err)))
    return Delegate(to=to, until=until)


# Slack sends a mention as <@U024BE7LH> or <@U024BE7LH|name>; a bare id is accepted too.
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")


def _mentioned_user(word: str) -> str | None:
    match = _MENTION.match(word)
    if match:
        return match.group(1)
    bare = word.removeprefix("@")
    return bare if is_slack_id(bare) else None


def _not_a_person(word: str, usage: str) -> Unparseable:
    return Unparseable(
        f"`{escape(unescape_slack(word[:40]))}` is not a person: mention them with @ so Slack "
        f"links the name. {usage}"
    )


def _not_an_id(word: str) -> Unparseable:
    return Unparseable(
        f"`{escape(unescape_slack(word[:40]))}` is not a request id; "
        "they look like PR-K5QW2XH7RTB3M (the id the bot gave you when you filed it)."
    )


def _unwrap_link(word: str) -> str:
    match = _SLACK_LINK.match(word)
    return unescape_slack(match.group(1) if match else word)
