"""The `purchasebot` command: run the product, and file and decide requests from a terminal.

Errors a person causes print one clear line and exit 2; nothing is started or changed then.
Unexpected errors print a short line too; the details go to the log file, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from appconfig.files import ConfigFileError, ReloadingFile
from appconfig.settings import Settings, settings_problems
from bot import launcher
from bot.api.tokens import BadTokenConfig
from bot.audit_cli import add_audit_parser, cmd_audit
from bot.department_routing import DepartmentRouting
from bot.dev_server import EmbeddedServerError
from bot.history_file_import import FileImportReport, import_history_file
from bot.installation import InvalidMonitorSettings, MissingSearchAttributes
from bot.launcher import RefusedToStart
from bot.progress import TerminalProgress
from bot.purchase_service import PurchaseService
from bot.replay_tools import (
    DEFAULT_REPLAY_QUERY,
    PatchStatus,
    ReplaySummary,
    ReplayToolError,
    patched_workflows_report,
    replay_matching,
)
from bot.rollout_cli import EXIT_WAIT_TIMED_OUT, WaitTimedOut, add_rollout_parser, cmd_rollout
from bot.slack.connection import SlackNotConfigured
from bot.temporal_client import (
    TemporalUnreachable,
    configured_address,
    connect,
    unreachable_message,
)
from bot.worker import history_store
from domain.catalog import Catalog
from domain.directory import Directory
from domain.models import PurchaseResult, PurchaseStatus, StatusResult
from domain.outcomes import describe_outcome, full_stop
from domain.refusal import Refused
from entities.history_migration import migrate_legacy_history

log = logging.getLogger("purchasebot")
LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5

# How long `purchasebot request` waits for an automatic outcome before saying it waits.
REQUEST_WAIT_SECONDS = 10.0


class ExitCode(Exception):
    """A command that ran but must report failure through its exit code (the replay gate)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


USER_ERRORS = (
    ReplayToolError,
    Refused,
    ConfigFileError,
    EmbeddedServerError,
    SlackNotConfigured,
    RefusedToStart,
    BadTokenConfig,
    InvalidMonitorSettings,
    MissingSearchAttributes,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="purchasebot", description="Purchase approvals on Temporal.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("up", help="start the product (embedded Temporal unless configured)")
    run.add_argument("--import-history", type=Path, help="CSV of past purchases to import first")
    sub.add_parser("worker", help="run one worker against the configured Temporal")
    sub.add_parser("bot", help="run the Slack bot alone (needs Slack tokens)")
    sub.add_parser(
        "build-id", help="print this code's worker build id (PURCHASEBOT_BUILD_ID, else derived)"
    )

    req = sub.add_parser("request", help="file a purchase request")
    req.add_argument("--user", required=True, help="your Slack user id, e.g. UALICE")
    req.add_argument("--url", required=True, help="Amazon product link")
    req.add_argument("--amount", required=True, help="total, e.g. 24.90 or '24.90 EUR'")
    req.add_argument("--quantity", default="1")
    req.add_argument("--justification")

    dec = sub.add_parser("decide", help="approve or reject a request (as its approver)")
    dec.add_argument("request_id")
    dec.add_argument("decision", choices=["approve", "reject"])
    dec.add_argument("--user", required=True)
    dec.add_argument("--reason", default="")

    st = sub.add_parser("status", help="where a request stands, with its audit trail")
    st.add_argument("request_id")

    can = sub.add_parser("cancel", help="cancel your own request while it waits")
    can.add_argument("request_id")
    can.add_argument("--user", required=True)
    can.add_argument("--reason", default="")

    hist = sub.add_parser("history", help="purchase history")
    hist_sub = hist.add_subparsers(dest="history_command", required=True)
    imp = hist_sub.add_parser(
        "import",
        help="import past purchases from a CSV file (any size; bad rows are reported, not "
        "imported; running it again resumes an interrupted import and adds nothing twice)",
    )
    imp.add_argument("file", type=Path)
    hist_sub.add_parser(
        "migrate", help="move history from the old single entity into the shards (once)"
    )

    rep = sub.add_parser(
        "replay",
        help="replay workflow histories on this code (deploy gate): exit 1 on nondeterminism",
    )
    rep.add_argument(
        "--query",
        default=DEFAULT_REPLAY_QUERY,
        help=f"visibility query selecting the workflows (default: {DEFAULT_REPLAY_QUERY!r}); "
        "workflows of other types are skipped and counted",
    )
    rep.add_argument("--limit", type=int, help="replay at most N histories")

    pat = sub.add_parser(
        "patches",
        help="open workflows with/without each patch, for every patched workflow: is "
        "deprecate_patch safe?",
    )
    pat.add_argument(
        "--filter", help="extra visibility query to narrow the count, e.g. \"TaskQueue='q'\""
    )
    add_rollout_parser(sub)
    add_audit_parser(sub)
    return p


async def _service(settings: Settings) -> PurchaseService:
    client = await connect()
    directory = ReloadingFile(settings.directory, Directory)
    catalog = ReloadingFile(settings.catalog, Catalog)
    routing = DepartmentRouting(client, settings.deployment_name)
    return PurchaseService(
        client, directory, task_queue=settings.task_queue, catalog=catalog, routing=routing
    )


async def cmd_request(args: argparse.Namespace, settings: Settings) -> None:
    service = await _service(settings)
    submitted = await service.submit(
        requester=args.user,
        url=args.url,
        amount=args.amount,
        quantity=args.quantity,
        justification=args.justification,
    )
    request = submitted.request
    print(
        f"Request {request.request_id} filed: {request.quantity} x {request.product_url}, "
        f"{request.amount}."
    )
    result = await service.outcome(request.request_id, wait_seconds=REQUEST_WAIT_SECONDS)
    if result is None:
        print(
            f"Waiting for a decision from {request.manager}. Decide with: purchasebot decide "
            f"{request.request_id} approve|reject --user {request.manager}"
        )
    else:
        print(describe_result(result))
        if result.status is PurchaseStatus.INVALID:
            # Bad input, like any other a person can type: exit 2, nothing bought.
            raise ExitCode(2)


def describe_result(result: PurchaseResult) -> str:
    outcome = describe_outcome(result)
    why = f" Review: {full_stop(outcome.why)}" if outcome.why else ""
    return outcome.sentence() + why


def describe_status(status: StatusResult) -> str:
    lines = [
        f"Request {status.request_id}: {status.stage.value} "
        f"(code path: {status.code_path.value if status.code_path else 'not yet decided'})"
    ]
    if status.review is not None:
        r = status.review
        lines.append(
            f"Automated review: {r.reason} (confidence {r.confidence:.2f}, "
            f"risk {r.risk_score:.2f}, rules {r.rules_version})"
        )
    lines.append("Audit trail:")
    lines += [
        f"  {e.at:%Y-%m-%d %H:%M:%S}Z {e.actor}: {e.action} {e.detail}".rstrip()
        for e in status.audit
    ]
    return "\n".join(lines)


async def cmd_decide(args: argparse.Namespace, settings: Settings) -> None:
    service = await _service(settings)
    decision = await service.decide(
        args.request_id, user=args.user, approve=args.decision == "approve", reason=args.reason
    )
    print(f"Request {args.request_id} {'approved' if decision.approved else 'rejected'}.")
    result = await service.outcome(args.request_id, wait_seconds=REQUEST_WAIT_SECONDS)
    if result is not None:
        print(describe_result(result))


async def cmd_status(args: argparse.Namespace, settings: Settings) -> None:
    print(describe_status(await (await _service(settings)).status(args.request_id)))


async def cmd_cancel(args: argparse.Namespace, settings: Settings) -> None:
    service = await _service(settings)
    await service.cancel(args.request_id, user=args.user, reason=args.reason)
    print(f"Request {args.request_id} cancelled.")


async def cmd_history(args: argparse.Namespace, settings: Settings) -> None:
    client = await connect()
    store = history_store(client, settings)
    migrated = await migrate_legacy_history(client, store)
    if migrated is not None:
        print(f"Moved the old imported history into the shards: {migrated.added} records.")
    if args.history_command == "migrate":
        if migrated is None:
            print("Nothing to migrate: no old imported-history entity is running.")
        return
    progress = TerminalProgress() if TerminalProgress.wanted() else None
    report = await import_history_file(
        store,
        args.file,
        work_dir=settings.data_dir / "imports",
        imported_by="cli",
        progress=progress,
    )
    print(describe_import(args.file, report))


def describe_import(path: Path, report: FileImportReport) -> str:
    totals = report.totals
    lines = [
        f"{path}: {report.rows:,} rows{' (resumed)' if report.resumed else ''}: "
        f"{totals.added:,} imported, {totals.already_present:,} already there, "
        f"{report.bad_rows + totals.refused:,} not imported."
    ]
    lines += [f"  {problem}" for problem in report.first_problems]
    if report.problems_file is not None:
        lines.append(f"Every row not imported, with its line number: {report.problems_file}")
    return "\n".join(lines)


def describe_replay(summary: ReplaySummary) -> str:
    noun = "workflow" if summary.total == 1 else "workflows"
    line = f"Replayed {summary.total} {noun}: {summary.replayed_ok} ok"
    if summary.failures:
        line += f", {len(summary.failures)} FAILED"
    lines = [line]
    lines += [f"  FAILED {f.workflow_id} (run {f.run_id}): {f.error}" for f in summary.failures]
    if summary.skipped:
        kinds = ", ".join(f"{n} {t}" for t, n in sorted(summary.skipped.items()))
        lines.append(f"Skipped (other workflow types): {kinds}")
    if summary.total == 0:
        lines.append("Nothing to replay matched the query: this checked nothing.")
    if summary.unavailable:
        lines.append(
            f"Gone before they could be fetched (deleted): {', '.join(summary.unavailable)}"
        )
    return "\n".join(lines)


async def cmd_replay(args: argparse.Namespace, settings: Settings) -> None:
    summary = await replay_matching(await connect(), args.query, limit=args.limit)
    print(describe_replay(summary))
    if not summary.ok:
        # The gate: a deploy script stops here instead of rolling out incompatible code.
        raise ExitCode(1)


def describe_patch(status: PatchStatus, about: str | None = None) -> str:
    verdict = (
        "deprecate_patch is safe"
        if status.deprecate_safe
        else "deprecate_patch is NOT safe yet (open workflows still need the old branch)"
    )
    return (
        f"{status.patch_id}: {status.open_without} open without it, "
        f"{status.open_with} open with it; {verdict}" + (f"\n    ({about})" if about else "")
    )


async def cmd_patches(args: argparse.Namespace, settings: Settings) -> None:
    report = await patched_workflows_report(await connect(), extra_filter=args.filter)
    scope = f"matching {args.filter}" if args.filter else "in the whole namespace"
    for patched, statuses in report:
        print(f"Open {patched.type_name}s {scope}:")
        about = {patch.id: patch.description for patch in patched.patches}
        for status in statuses:
            print(describe_patch(status, about.get(status.patch_id)))


async def cmd_up(args: argparse.Namespace, settings: Settings) -> None:
    await launcher.up(settings, import_history=args.import_history)


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    await launcher.worker(settings)


async def cmd_bot(args: argparse.Namespace, settings: Settings) -> None:
    await launcher.bot(settings)


async def cmd_build_id(args: argparse.Namespace, settings: Settings) -> None:
    print(launcher.build_id(settings))


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, None]]] = {
    "up": cmd_up,
    "worker": cmd_worker,
    "bot": cmd_bot,
    "request": cmd_request,
    "decide": cmd_decide,
    "status": cmd_status,
    "cancel": cmd_cancel,
    "history": cmd_history,
    "replay": cmd_replay,
    "patches": cmd_patches,
    "build-id": cmd_build_id,
    "rollout": cmd_rollout,
    "audit": cmd_audit,
}


def main(argv: list[str] | None = None) -> int:
    """The console entry point. Ends the process directly once the command is done: the
    Temporal client's native runtime threads can abort an interpreter that is finalizing
    ("Fatal Python error: PyGILState_Release"), which a person must never see."""
    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def run(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as err:
        print(settings_problems(err), file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Rotated: nothing anyone sends (a flood of refused requests included) fills the disk.
    log_file = RotatingFileHandler(
        settings.data_dir / "purchasebot.log", maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS
    )
    logging.basicConfig(
        handlers=[log_file],
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(_until_stopped(COMMANDS[args.command](args, settings)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("Stopped.")
    except ExitCode as done:
        return done.code
    except WaitTimedOut as err:
        print(str(err), file=sys.stderr)
        return EXIT_WAIT_TIMED_OUT
    except USER_ERRORS as err:
        print(str(err), file=sys.stderr)
        return 2
    except TemporalUnreachable as err:
        print(str(err), file=sys.stderr)
        return 1
    except RPCError as err:
        if err.status is RPCStatusCode.UNAVAILABLE:
            # Connected once, then the server went away (restarting, or the network).
            print(unreachable_message(configured_address()), file=sys.stderr)
            return 1
        return _unexpected(err, settings)
    except Exception as err:
        return _unexpected(err, settings)
    return 0


async def _until_stopped(command: Coroutine[Any, Any, None]) -> None:
    """SIGTERM (docker stop, kill) stops as cleanly as Ctrl-C: the command is cancelled and its
    `finally` blocks stop whatever it started, the embedded server included."""
    task = asyncio.current_task()
    assert task is not None
    # Only the main thread may handle signals; run from another thread (the rollout tests run
    # the command beside their workers), the caller's own signal handling applies.
    if threading.current_thread() is threading.main_thread():
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await command


def _unexpected(err: Exception, settings: Settings) -> int:
    log.exception("unexpected error")
    print(
        f"Something went wrong ({type(err).__name__}); details are in "
        f"{settings.data_dir / 'purchasebot.log'}.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    main()
