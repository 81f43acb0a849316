"""Run the local Slack workspace by hand:

    python -m slack_workspace --directory directory.yaml --port 3100 \
        --request-url http://127.0.0.1:3000/slack/events

It prints the address to open in a browser and the bot token and signing secret to give the
bot. Those are throwaway secrets made for this run, valid only against this local server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from slack_workspace.directory import DirectoryError
from slack_workspace.scopes import ManifestError
from slack_workspace.workspace import LocalSlackWorkspace


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m slack_workspace", description="A local fake of Slack for the bot."
    )
    parser.add_argument("--directory", type=Path, default=Path("directory.yaml"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3100)
    parser.add_argument("--request-url", default="http://127.0.0.1:3000/slack/events")
    parser.add_argument(
        "--command", action="append", default=None, help="slash command to offer (repeatable)"
    )
    parser.add_argument("--ack-timeout", type=float, default=3.0)
    parser.add_argument("--bot-token", default=None, help="use this token instead of a new one")
    parser.add_argument("--signing-secret", default=None, help="use this instead of a new one")
    parser.add_argument(
        "--rate-limits",
        action="store_true",
        help="enforce Slack's rate limits (method tiers, one post per second per channel)",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        default=Path("manifest.yaml"),
        help="the app manifest whose bot scopes the app holds (when the file exists)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    workspace = LocalSlackWorkspace(
        args.directory,
        request_url=args.request_url,
        ack_timeout=args.ack_timeout,
        commands=args.command or ["/purchase"],
        bot_token=args.bot_token,
        signing_secret=args.signing_secret,
        manifest=args.manifest if args.manifest.is_file() else None,
        rate_limits=args.rate_limits,
    )
    base_url = await workspace.start(args.host, args.port)
    print(f"Local Slack workspace: {base_url}/  (open in a browser)")
    print(f"Delivering commands and interactions to: {workspace.request_url}")
    print("Give the bot these (local-only, throwaway values made for this run):")
    print(f"  SLACK_API_URL={workspace.api_url}")
    print(f"  SLACK_BOT_TOKEN={workspace.bot_token}")
    print(f"  SLACK_SIGNING_SECRET={workspace.signing_secret}", flush=True)
    try:
        await asyncio.Event().wait()  # until Ctrl-C
    finally:
        await workspace.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(args))
    except (DirectoryError, ManifestError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
