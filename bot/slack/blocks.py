"""Every Block Kit payload the bot sends, built by small functions that return plain data.

Kept free of I/O so they can be tested as data and reused by listeners and the notifier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.actors import actor_label, mention
from domain.intake import MAX_JUSTIFICATION_CHARS
from domain.models import (
    ApprovalResult,
    AutomatedReviewResult,
    JourneyEvent,
    JourneyStep,
    ProductInfo,
    PurchaseRequest,
    PurchaseResult,
    Stage,
    StatusResult,
)
from domain.mrkdwn import escape
from domain.outcomes import describe_outcome

Block = dict[str, Any]

APPROVE_ACTION = "approve_request"
FLAG_WRONG_ACTION = "flag_auto_approval_wrong"
REJECT_ACTION = "reject_request"
PURCHASE_MODAL = "purchase_modal"
REJECT_MODAL = "reject_reason_modal"

# Modal input block ids: validation errors are reported against these.
URL_BLOCK, AMOUNT_BLOCK, QUANTITY_BLOCK, JUSTIFICATION_BLOCK = (
    "url",
    "amount",
    "quantity",
    "justification",
)
REASON_BLOCK = "reason"

SOMETHING_WENT_WRONG = (
    ":boom: Something went wrong on our side and it has been logged. Nothing was changed; "
    "try again in a minute."
)

USAGE = (
    "*How to use /purchase*\n"
    "• `/purchase <amazon-link> <amount> [quantity] [justification…]` — e.g. "
    "`/purchase https://www.amazon.es/dp/1449373321 39.90 1 Python course book`\n"
    "• `/purchase` — opens a form\n"
    "• `/purchase status` — your recent requests; "
    "`/purchase status PR-K5QW2XH7RTB3M` — one request\n"
    "• `/purchase cancel PR-K5QW2XH7RTB3M` — cancel your request while it waits for approval\n"
    "• `/purchase check <amazon-link> <amount> [quantity]` — would it be auto-approved? "
    "Nothing is filed\n"
    "• `/purchase dashboard` — a login link to the web dashboard (ops and finance)\n"
    "• `/purchase delegate @someone until 2026-12-24` — while you are away, requests you approve "
    "go to them (also the ones waiting); `/purchase delegate off` — back to you\n"
    "• `/purchase reassign PR-K5QW2XH7RTB3M @someone [why]` — ops: hand a waiting request to "
    "another approver\n"
    "• `/purchase help` — this help"
)


def text(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": markdown}}


def context(markdown: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": markdown}]}


def header(plain: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": plain[:150]}}


def warning(refusal: object) -> str:
    """A refusal for the person who asked. Refusals quote what people typed: escaped."""
    return f":warning: {escape(str(refusal))}"


def when(at: datetime) -> str:
    """Slack renders this in each reader's own time zone; the fallback is UTC."""
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def review_line(review: AutomatedReviewResult | None) -> str:
    if review is None:
        return "Automated review: not run (original code path, or the review failed)"
    verdict = "approve" if review.auto_approved else "needs a person"
    return (
        f"Automated review: *{verdict}* — {escape(review.reason)} "
        f"(confidence {review.confidence:.2f}, risk {review.risk_score:.2f}, "
        f"rules {escape(review.rules_version)})"
    )


def request_fields(request: PurchaseRequest, product: ProductInfo) -> Block:
    fields = [
        f"*Requester*\n{mention(request.requester)} ({escape(request.department)})",
        f"*Item*\n<{escape(product.url)}|{_link_label(product.title)}>",
        f"*Category*\n{escape(product.category)}",
        f"*Quantity*\n{request.quantity}",
        f"*Amount*\n{escape(str(request.amount))}",
        f"*Request*\n`{request.request_id}`",
    ]
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]}


def _link_label(label: str) -> str:
    # Inside <url|label> a "|" or ">" would end the label early.
    return escape(label).replace("|", "¦")


def justification_block(request: PurchaseRequest) -> Block:
    """What the requester typed, shown as the characters they typed: plain text, so no link,
    ping, mention or *bold* they write becomes part of the bot's own message."""
    if not request.justification:
        return text("*Justification*\n_none given_")
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Justification*"},
        "fields": [{"type": "plain_text", "text": request.justification, "emoji": False}],
    }


def approval_request_blocks(
    request: PurchaseRequest,
    product: ProductInfo,
    review: AutomatedReviewResult | None,
    *,
    code_path: str,
    build_id: str,
    note: str = "",
) -> list[Block]:
    """The approver's message with the buttons; `note` says why it is sent again (a reminder)
    or to them (an escalation)."""
    return [
        *([text(f":bell: {note}")] if note else []),
        *_request_facts("Purchase approval needed", request, product, review),
        context(f"Code path: {code_path} · build {build_id}"),
        decision_buttons(request.request_id, "decision"),
    ]


def decision_buttons(request_id: str, block_id: str) -> Block:
    """Approve / Reject: the same action ids and values wherever they are shown (the approval
    message, the App Home), so one pair of handlers decides them all."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE_ACTION,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": request_id,
            },
            {
                "type": "button",
                "action_id": REJECT_ACTION,
                "text": {"type": "plain_text", "text": "Reject"},
                "style": "danger",
                "value": request_id,
            },
        ],
    }


def decided_blocks(
    request: PurchaseRequest,
    product: ProductInfo,
    review: AutomatedReviewResult | None,
    outcome: str,
    *,
    title: str = "Purchase request decided",
) -> list[Block]:
    """The approval message once decided (or moved on): same facts, the outcome, no buttons."""
    return [*_request_facts(title, request, product, review), text(outcome)]


def _request_facts(
    title: str,
    request: PurchaseRequest,
    product: ProductInfo,
    review: AutomatedReviewResult | None,
) -> list[Block]:
    """What the approver sees of a request, before and after the decision."""
    return [
        header(title),
        request_fields(request, product),
        justification_block(request),
        context(review_line(review)),
    ]


def decision_line(approval: ApprovalResult) -> str:
    verb = "Approved" if approval.approved else "Rejected"
    who = actor_label(approval.decided_by, mention)
    if approval.on_behalf_of:  # a delegate's decision is theirs, for the person away
        who += f" on behalf of {mention(approval.on_behalf_of)}"
    reason = f": {escape(approval.comments)}" if approval.comments else ""
    return f"*{verb}* by {who} on {when(approval.decided_at)}{reason}"


def outcome_line(result: PurchaseResult) -> str:
    """How it ended, who decided and when, and the approver's words (domain/outcomes.py)."""
    outcome = describe_outcome(result, literal=escape)
    line = f"{outcome.emoji} {outcome.sentence(mention)}"
    if outcome.decided_at is not None:
        line += f"\nDecided on {when(outcome.decided_at)}"
    if outcome.comment:
        line += f"\n> {outcome.comment}"
    return line


def outcome_blocks(request: PurchaseRequest, result: PurchaseResult) -> list[Block]:
    """The requester's DM when a request ends."""
    title = result.product.title if result.product else request.product_url
    outcome = describe_outcome(result, literal=escape)
    blocks = [
        text(
            f"{outcome.emoji} Your purchase was {outcome.headline}: *{escape(title)}* "
            f"(`{request.request_id}`)"
        )
    ]
    if outcome.why:
        blocks.append(text(f"It was *auto-approved*: {outcome.why}."))
    blocks.append(text(outcome_line(result)))
    return blocks


def auto_approval_fyi_blocks(
    request: PurchaseRequest, result: PurchaseResult, *, build_id: str
) -> list[Block]:
    """The manager's FYI. "Flag as wrong" feeds the deployment monitor's decision quality."""
    assert result.product is not None
    return [
        text(f"FYI: a purchase by {mention(request.requester)} was auto-approved."),
        request_fields(request, result.product),
        context(review_line(result.review)),
        {
            "type": "actions",
            "block_id": "quality",
            "elements": [
                {
                    "type": "button",
                    "action_id": FLAG_WRONG_ACTION,
                    "text": {"type": "plain_text", "text": "Flag as wrong"},
                    "value": f"{request.request_id}|{build_id}",
                }
            ],
        },
    ]


def flagged_blocks(original: list[Block], who: str) -> list[Block]:
    """The FYI once flagged: the button is replaced by who flagged it."""
    kept = [b for b in original if isinstance(b, dict) and b.get("type") != "actions"]
    return [
        *kept,
        context(f":triangular_flag_on_post: Flagged as a wrong auto-approval by {mention(who)}"),
    ]


def request_filed_text(request: PurchaseRequest) -> str:
    return (
        f"Request `{request.request_id}` filed: {request.quantity} x "
        f"{escape(request.product_url)} for {escape(str(request.amount))}. The product is "
        "checked and reviewed now; low-risk requests are approved at once, others go to "
        f"{mention(request.manager)}. You'll get a DM with the outcome. "
        f"`/purchase status {request.request_id}` shows where it stands."
    )


# How each step of the way to a decision reads in `/purchase status` (the decision itself has
# its own line, `decision_line`).
_JOURNEY_WORDS: dict[JourneyStep, Callable[[JourneyEvent], str]] = {
    JourneyStep.ASKED: lambda e: f"asked {mention(e.person)} {when(e.at)}",
    JourneyStep.REMINDED: lambda e: f"reminded {when(e.at)}",
    JourneyStep.ESCALATED: lambda e: f"escalated to {mention(e.person)} {when(e.at)}",
    JourneyStep.DELEGATED: lambda e: f"delegated to {mention(e.person)} {when(e.at)}",
    JourneyStep.REASSIGNED: lambda e: f"reassigned to {mention(e.person)} {when(e.at)}",
}


def _level_decided(event: JourneyEvent) -> str | None:
    """Of a request with two approval levels, each level's decider (the last one is also in
    `decision_line`)."""
    if event.step is not JourneyStep.DECIDED or not event.level:
        return None
    return f"level {event.level} decided by {mention(event.person)} {when(event.at)}"


def last_follow_up(journey: list[JourneyEvent]) -> str:
    """The latest reminder or escalation of a waiting request, e.g. "reminded <date>"."""
    follow_ups = [e for e in journey if e.step in (JourneyStep.REMINDED, JourneyStep.ESCALATED)]
    return _JOURNEY_WORDS[follow_ups[-1].step](follow_ups[-1]) if follow_ups else ""


def journey_line(journey: list[JourneyEvent]) -> str:
    """E.g. "Asked @Carlos <date> · reminded <date> · reminded <date>"."""
    words = [
        word
        for e in journey
        if (word := _JOURNEY_WORDS[e.step](e) if e.step in _JOURNEY_WORDS else _level_decided(e))
    ]
    line = " · ".join(words)
    return line[:1].upper() + line[1:]


def status_blocks(status: StatusResult) -> list[Block]:
    r = status.request
    lines = [
        f"*{r.request_id}* — {status.stage.value.replace('_', ' ')}",
        f"{r.quantity} x {escape(status.product.title if status.product else r.product_url)}, "
        f"{escape(str(r.amount))}",
    ]
    if status.levels > 1:
        lines.append(f"Approval level {status.level} of {status.levels}")
    journey = journey_line(status.journey)
    if journey:
        lines.append(journey)
    if status.approval is not None:
        lines.append(decision_line(status.approval))
    lines.extend(assignment_lines(status))
    blocks = [text("\n".join(lines)), context(review_line(status.review))]
    trail = "\n".join(
        f"{when(e.at)} {escape(e.actor)}: {escape(e.action)}"
        f"{' — ' + escape(e.detail) if e.detail else ''}"
        for e in status.audit[-8:]
    )
    blocks.append(context(trail[:2900]))
    return blocks


def assignment_lines(status: StatusResult) -> list[str]:
    """Whom a waiting request waits for now, and for whom they stand in (a delegation); at
    the second level, everyone else of the pool who may decide it too."""
    if not status.approver or status.stage is not Stage.AWAITING_APPROVAL or status.approval:
        return []
    instead = f" on behalf of {mention(status.on_behalf_of)}" if status.on_behalf_of else ""
    people = [f"{mention(status.approver)}{instead}"]
    people += [mention(p) for p in status.deciders if p != status.approver]
    named = people[0] if len(people) == 1 else f"{', '.join(people[:-1])} or {people[-1]}"
    return [f"Waiting for {named}"]


def _input(block_id: str, label: str, element: Block, *, optional: bool = False) -> Block:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
    }


def _text_input(action_id: str, placeholder: str, **extra: Any) -> Block:
    return {
        "type": "plain_text_input",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": placeholder},
        **extra,
    }


def purchase_modal() -> Block:
    return {
        "type": "modal",
        "callback_id": PURCHASE_MODAL,
        "title": {"type": "plain_text", "text": "Purchase request"},
        "submit": {"type": "plain_text", "text": "Request"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input(URL_BLOCK, "Amazon link", _text_input("value", "https://www.amazon.es/dp/…")),
            _input(QUANTITY_BLOCK, "Quantity", _text_input("value", "1", initial_value="1")),
            _input(AMOUNT_BLOCK, "Total amount", _text_input("value", "e.g. 39.90 or 39.90 EUR")),
            _input(
                JUSTIFICATION_BLOCK,
                "Justification",
                _text_input(
                    "value",
                    "Why the team needs it",
                    multiline=True,
                    max_length=MAX_JUSTIFICATION_CHARS,
                ),
                optional=True,
            ),
        ],
    }


def reject_modal(request_id: str, message_ref: str) -> Block:
    return {
        "type": "modal",
        "callback_id": REJECT_MODAL,
        "private_metadata": f"{request_id}|{message_ref}",
        "title": {"type": "plain_text", "text": "Reject request"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            text(f"Rejecting `{request_id}`. The requester will see your reason."),
            _input(
                REASON_BLOCK,
                "Reason",
                _text_input("value", "e.g. Not in this quarter's budget", multiline=True),
            ),
        ],
    }
