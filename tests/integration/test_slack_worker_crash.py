"""A worker process SIGKILLed while Slack is taking the approval message: after a restart the
request goes on and the approver has exactly one message."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from appconfig.files import ReloadingFile
from bot.purchase_service import PurchaseService
from domain.directory import Directory
from domain.refusal import Refused
from slack_workspace import LocalSlackWorkspace
from tests.integration.processes import process_env, start_worker, stop
from tests.integration.world import REPO, make_settings, poll_until

BOOK_URL = "https://www.amazon.es/dp/1449373321"


async def test_worker_killed_mid_notification_sends_it_once(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = LocalSlackWorkspace(REPO / "directory.yaml", manifest=REPO / "manifest.yaml")
    await ws.start()
    settings = make_settings(tmp_path, f"T{uuid.uuid4().hex[:6]}", None)
    env = process_env(
        settings,
        dev_env.client.service_client.config.target_host,
        SLACK_BOT_TOKEN=ws.bot_token,
        SLACK_API_URL=ws.api_url,
    )
    service = PurchaseService(
        dev_env.client, ReloadingFile(settings.directory, Directory), task_queue=settings.task_queue
    )
    carlos = ws.dm_channel("UCARLOS", ws.bot_user_id)
    # Slack takes the message, then the answer hangs: the worker dies waiting for it.
    ws.inject_fault(
        "chat.postMessage", "timeout", seconds=60, apply=True, match={"channel": carlos}
    )
    worker = start_worker(env)
    try:
        submitted = await service.submit(requester="UNICO", url=BOOK_URL, amount="39.90")
        request_id = submitted.request.request_id

        async def taken() -> bool:
            return any(c.args.get("channel") == carlos for c in ws.api_calls("chat.postMessage"))

        await poll_until(taken, 30, "Slack to take the approval message")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        worker = start_worker(env)

        async def asked() -> bool:
            try:
                status = await service.status(request_id)
            except Refused:
                return False
            return any(e.action == "approval_requested" for e in status.audit)

        await poll_until(asked, 60, "the restarted worker to confirm the approval request")
        to_carlos = [
            m for m in ws.messages(carlos) if m.user == ws.bot_user_id and request_id in m.text
        ]
        assert len(to_carlos) == 1, [m.text for m in to_carlos]
        calls = [c for c in ws.api_calls("chat.postMessage") if c.args.get("channel") == carlos]
        assert len(calls) == 1  # the retry found the message instead of posting again
    finally:
        stop(worker)
        await ws.stop()
