"""A rules change reaches the next review on EVERY worker: two `purchasebot worker` processes
(as production runs them) against one Temporal server, a change made while they run."""

from __future__ import annotations

import time
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
from tests.conftest import _binary
from tests.integration.processes import process_env, start_worker, stop
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
    env = process_env(settings, address)
    workers = [start_worker(env), start_worker(env)]
    try:
        service = PurchaseService(
            client, ReloadingFile(settings.directory, Directory), task_queue=settings.task_queue
        )
        rules = RulesAdmin(
            client, settings.control_task_queue, initial=load_initial_rules(settings.rules)
        )

        async def review_and_worker() -> tuple[AutomatedReviewResult, str]:
            filed = await service.submit(requester="UALICE", url=BOOK_URL, amount="39.90")
            handle = client.get_workflow_handle(filed.workflow_id)
            found: list[AutomatedReviewResult] = []

            async def reviewed() -> bool:
                review = (await service.status(filed.request.request_id)).review
                found.extend([review] if review else [])
                return review is not None

            await poll_until(reviewed, 30, "a review")
            # The review runs in the first workflow task (a local activity): the worker that
            # completed that task reviewed it. (Later tasks can go to the other worker when
            # the machine is loaded; the smallest identity among all of them was biased.)
            async for e in handle.fetch_history_events():
                if e.HasField("workflow_task_completed_event_attributes"):
                    return found[0], e.workflow_task_completed_event_attributes.identity
            raise AssertionError(f"{filed.workflow_id} has no completed workflow task")

        first, _ = await review_and_worker()  # both processes are up and the rules exist
        assert first.rules_version.startswith("v1 (")
        result = await rules.set_field(
            "IT", "max_amount", "20", author="UOLIVIA", reason="test", people_departments=[]
        )
        assert result.version.number == 2

        seen: set[str] = set()
        deadline = time.monotonic() + 60
        while len(seen) < 2:
            assert time.monotonic() < deadline, f"only workers {seen} took requests"
            review, identity = await review_and_worker()
            assert review.rules_version.startswith("v2 ("), (identity, review.rules_version)
            assert review.reason == "Amount 39.90 exceeds max limit 20.00"
            seen.add(identity)
        assert len(seen) == 2
    finally:
        for worker in workers:
            stop(worker)
