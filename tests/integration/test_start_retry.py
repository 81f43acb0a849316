"""A start whose answer is lost (a busy server timing out after it took the start) is asked
again with the same id: the person is told "filed", and exactly one request exists."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from appconfig.files import ReloadingFile
from bot.purchase_service import PurchaseService
from domain.directory import Directory

REPO = Path(__file__).resolve().parents[2]
BOOK = "https://www.amazon.es/dp/1449373321"


class AnswersLost(Client):
    """The real client, except that the answers to its first `lose` starts are lost after the
    server took them: what a start timing out on a busy server looks like."""

    def __init__(self, real: Client, lose: int, status: RPCStatusCode) -> None:
        super().__init__(**real.config())
        self.lose = lose
        self.status = status
        self.starts = 0

    async def start_workflow(self, *args: Any, **kwargs: Any) -> Any:
        self.starts += 1
        handle = await super().start_workflow(*args, **kwargs)
        if self.starts <= self.lose:
            raise RPCError("answer lost", self.status, b"")
        return handle


def service(client: Client) -> PurchaseService:
    directory = ReloadingFile(REPO / "directory.yaml", Directory)
    # No worker polls this queue: the request only has to exist.
    return PurchaseService(client, directory, task_queue=f"nobody-{uuid.uuid4().hex[:8]}")


@pytest.mark.parametrize("from_delivery", [False, True], ids=["cli", "slack-delivery"])
async def test_a_start_whose_answer_was_lost_is_filed_once(
    dev_env: WorkflowEnvironment, from_delivery: bool
) -> None:
    client = AnswersLost(dev_env.client, lose=1, status=RPCStatusCode.DEADLINE_EXCEEDED)
    request_id = f"PR-{uuid.uuid4().hex[:13].upper()}" if from_delivery else None

    submitted = await service(client).submit(
        requester="UALICE", url=BOOK, amount="39.90", request_id=request_id
    )

    assert not submitted.already_filed
    assert client.starts == 2  # the answer was lost; the second attempt found its own request
    described = await client.get_workflow_handle(submitted.workflow_id).describe()
    assert described.run_id is not None
    await client.get_workflow_handle(submitted.workflow_id).terminate("test over")


async def test_a_start_refused_for_good_is_not_asked_again(dev_env: WorkflowEnvironment) -> None:
    client = AnswersLost(dev_env.client, lose=1, status=RPCStatusCode.INVALID_ARGUMENT)

    with pytest.raises(RPCError):
        await service(client).submit(requester="UALICE", url=BOOK, amount="39.90")

    assert client.starts == 1
