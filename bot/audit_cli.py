"""`purchasebot audit export|ops`: the requests' decision trails and the ops audit trail."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from appconfig.settings import Settings
from bot.insight.audit_export import FORMATS, decision_trails, write_csv, write_jsonl
from bot.ops_audit import OpsAuditLog
from bot.temporal_client import connect
from domain.refusal import Refused

DEFAULT_PERIOD = timedelta(days=30)


def add_audit_parser(sub: Any) -> None:
    """`sub`: the `purchasebot` subparsers."""
    audit = sub.add_parser("audit", help="decision trails of requests, and the ops audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_sub.add_parser(
        "export",
        help="every request filed in [since, until): who, what, when, why, code path, rules "
        "version, build (one CSV row per audit entry, or one JSON object per request)",
    )
    export.add_argument(
        "--since", help="ISO date or date-time, UTC unless given (default: 30 days ago)"
    )
    export.add_argument("--until", help="ISO date or date-time, exclusive (default: now)")
    export.add_argument("--department")
    export.add_argument("--format", choices=FORMATS, default="csv")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    audit_sub.add_parser(
        "ops", help="the ops audit trail: flags, rules, ramps, rollbacks, refused attempts"
    )


def _instant(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Refused(
            f"--{name} `{text}` is not an ISO date (2026-12-01 or 2026-12-01T09:30)."
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def cmd_audit(args: argparse.Namespace, settings: Settings) -> None:
    client = await connect()
    if args.audit_command == "ops":
        for entry in await OpsAuditLog(client, settings.control_task_queue).entries():
            detail = f": {entry.detail}" if entry.detail else ""
            print(f"{entry.at.isoformat()} {entry.actor} {entry.action}{detail}")
        return
    until = _instant(args.until, "until") if args.until else datetime.now(UTC)
    since = _instant(args.since, "since") if args.since else until - DEFAULT_PERIOD
    if until <= since:
        raise Refused(f"--until ({until.isoformat()}) must be after --since ({since.isoformat()}).")
    trails = await decision_trails(client, since, until, args.department)
    write = write_csv if args.format == "csv" else write_jsonl
    if args.out is None:
        write(trails, sys.stdout)
        return
    with args.out.open("w", newline="") as out:
        write(trails, out)
    print(f"{len(trails)} requests written to {args.out}.", file=sys.stderr)
