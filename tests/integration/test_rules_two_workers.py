"""A rules change reaches the next review on EVERY worker: two `purchasebot worker` processes
(as production runs them) against one Temporal server, a change made while they run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from appconfig.files import ReloadingFile
from bot.purchase_service import PurchaseService
from bot.rules_admin import RulesAdmin, load_initial_rules
from domain.directory import Directory
from domain.models import AutomatedReviewResult
from domain.refusal import Refused
from tests.conftest import _binary
from tests.integration.processes import process_env, start_worker, stop, wait_until_polled
from tests.integration.world import make_settings, poll_until
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR, books


@pytest_asyncio.fixture
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own: the worker processes use the installation's entity ids."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        search_attributes=CUSTOM_SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
    )
    async with env:
        yield env


async def test_a_change_reaches_the_next_review_on_both_worker_processes(
    own_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = own_server.client
    settings = make_settings(tmp_path, f"T{uuid.uuid4().hex[:6]}", None)
    address = client.service_client.config.target_host
    # Each process polls a task queue of its own, sharing the rules entity and the control
    # queue: which poller of a shared queue gets a task is Temporal's choice, and on a loaded
    # machine it gave one process every request for a minute. Its own queue addresses each
    # process in turn; what is under test, each process's reading of the rules, is the same.
    queues = [settings.task_queue, f"{settings.task_queue}-b"]
    outputs = [tmp_path / f"worker-{n}.log" for n in range(len(queues))]
    workers = [
        start_worker(process_env(settings, address, PURCHASEBOT_TASK_QUEUE=queue), output)
        for queue, output in zip(queues, outputs, strict=True)
    ]
    try:
        for queue in queues:
            await wait_until_polled(client, queue)
        directory = ReloadingFile(settings.directory, Directory)
        services = {queue: PurchaseService(client, directory, task_queue=queue) for queue in queues}
        rules = RulesAdmin(
            client, settings.control_task_queue, initial=load_initial_rules(settings.rules)
        )

        async def review_on(queue: str) -> AutomatedReviewResult:
            service = services[queue]
            filed = await service.submit(requester="UALICE", url=BOOK_URL, amount="39.90")
            found: list[AutomatedReviewResult] = []

            async def reviewed() -> bool:
                try:
                    review = (await service.status(filed.request.request_id)).review
                except Refused:  # the query timed out (30 s) on a loaded machine: ask again
                    return False
                found.extend([review] if review else [])
                return review is not None

            await poll_until(reviewed, 90, f"a review on {queue}")
            return found[0]

        # Both processes have reviewed with the first rules (and hold them) before the change.
        for queue in queues:
            before = await review_on(queue)
            assert before.rules_version.startswith("v1 ("), before.rules_version
        result = await rules.set_field(
            "IT", "max_amount", "20", author="UOLIVIA", reason="test", people_departments=[]
        )
        assert result.version.number == 2

        for queue in queues:
            after = await review_on(queue)
            assert after.rules_version.startswith("v2 ("), (queue, after)
            assert after.reason == "Amount 39.90 exceeds max limit 20.00"
        assert all(worker.poll() is None for worker in workers), "a worker process exited"
    finally:
        for worker in workers:
            stop(worker)
        for output in outputs:  # pytest shows them when the test fails
            print(f"--- {output.name}:\n{output.read_text(errors='replace')}")
