"""`/rollout history [page]`: the ops audit trail (the source `purchasebot audit ops` prints),
newest first, a page at a time: who changed flags or rules, ramped, promoted, rolled back, and
who was refused."""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.blocks import Block, context, text, when
from domain.actors import mention
from domain.models import AuditEntry
from domain.mrkdwn import escape

PAGE_SIZE = 20
# A section's text may hold 3,000 characters; an entry's detail is cut well below that.
DETAIL_LIMIT = 120
LINES_PER_SECTION = 10


def _line(entry: AuditEntry) -> str:
    detail = (
        entry.detail if len(entry.detail) <= DETAIL_LIMIT else entry.detail[:DETAIL_LIMIT] + "…"
    )
    shown = f": {escape(detail)}" if detail else ""
    refused = ":no_entry: " if "refused" in entry.action else ""
    return f"• {when(entry.at)} {mention(entry.actor)} {refused}*{escape(entry.action)}*{shown}"


def ops_history_blocks(entries: Sequence[AuditEntry], page: int) -> list[Block]:
    newest_first = sorted(entries, key=lambda e: e.at, reverse=True)
    pages = max(1, -(-len(newest_first) // PAGE_SIZE))
    if not newest_first:
        return [text("The ops audit trail is empty: nobody has run an ops command yet.")]
    if page > pages:
        return [text(f"There are only {pages} pages of ops history; try `/rollout history 1`.")]
    shown = newest_first[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    more = f" Older: `/rollout history {page + 1}`." if page < pages else ""
    # Sections of LINES_PER_SECTION lines stay under a section's 3,000 characters.
    chunks = [shown[i : i + LINES_PER_SECTION] for i in range(0, len(shown), LINES_PER_SECTION)]
    return [
        text(f"*Ops audit trail* (newest first), page {page} of {pages}"),
        *(text("\n".join(_line(e) for e in chunk)) for chunk in chunks),
        context(
            f"{len(newest_first)} entries kept; `purchasebot audit ops` prints them all.{more}"
        ),
    ]
