"""Running `purchasebot` as a real separate process, as production does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from appconfig.settings import Settings
from tests.integration.world import poll_until

PURCHASEBOT = str(Path(sys.executable).parent / "purchasebot")


def process_env(settings: Settings, temporal_address: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PURCHASEBOT_", "TEMPORAL_"))}
    env.update(
        TEMPORAL_ADDRESS=temporal_address,
        PURCHASEBOT_RULES=str(settings.rules),
        PURCHASEBOT_CATALOG=str(settings.catalog),
        PURCHASEBOT_DIRECTORY=str(settings.directory),
        PURCHASEBOT_DATA_DIR=str(settings.data_dir),
        PURCHASEBOT_TASK_QUEUE=settings.task_queue,
        PURCHASEBOT_CONTROL_TASK_QUEUE=settings.control_task_queue,
        PURCHASEBOT_DEPLOYMENT_NAME=settings.deployment_name,
        # Demo mode: these workers record notifications instead of posting to Slack, and
        # some tests inject faults.
        PURCHASEBOT_MODE="demo",
    )
    env.update(extra)
    return env


def start_worker(env: dict[str, str], output: Path | None = None) -> subprocess.Popen[bytes]:
    """`output`, when given, keeps what the process printed and logged (appended): a test can
    show it when it fails."""
    with (output or Path(os.devnull)).open("ab") as sink:
        return subprocess.Popen(
            [PURCHASEBOT, "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )


async def wait_until_polled(client: Client, task_queue: str, within: float = 90) -> None:
    """Until a worker polls `task_queue` for workflow tasks. A process can take tens of seconds
    to start on a loaded machine; a status query sent before then waits for it and times out."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )

    async def polled() -> bool:
        return bool((await client.workflow_service.describe_task_queue(request)).pollers)

    await poll_until(polled, within, f"a worker to poll {task_queue}", every=0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PURCHASEBOT, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports
