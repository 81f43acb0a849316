"""The dashboard's projection (bot/insight/projection.py) agrees with reading Temporal directly:
as requests start and close (caught up incrementally) and after a rebuild, request by request
and in the figures its per-hour totals add up to. Real executions on the dev server, run by the
seeded stand-in workflow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bot.insight.dashboard import Dashboard, Period, RolloutFigures, dashboard_figures
from bot.insight.index import ReadRequest
from bot.insight.projection import RequestsProjection
from bot.insight.source import DirectRequests, read_dashboard_request
from bot.insight.totals import Totals
from domain.models import Money, PurchaseRequest, PurchaseResult, PurchaseWorkflowInput
from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
from tests.integration.test_dashboard import SCENARIO, SeededPurchase
from tests.integration.world import poll_until
from workflows.names import DEPARTMENT


async def _start(
    client: Client, task_queue: str, department: str, amount: str
) -> WorkflowHandle[SeededPurchase, PurchaseResult]:
    request_id = f"{task_queue}-{uuid.uuid4().hex[:10]}"
    request = PurchaseRequest(
        request_id=request_id,
        requester="UALICE",
        employee_id="E1001",
        # A department of this test's own: selecting it selects only this test's requests.
        department=f"{task_queue}-{department}",
        manager="UCARLOS",
        product_url="https://www.amazon.es/dp/B0SEED",
        amount=Money(amount=Decimal(amount)),
        requested_at=datetime.now(UTC),
    )
    return await client.start_workflow(
        SeededPurchase.run,
        PurchaseWorkflowInput(request=request),
        id=request_id,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(DEPARTMENT, request.department)]
        ),
    )


NO_ROLLOUT = RolloutFigures(None, 0.0, None, None, 0)
ANY_PERIOD = Period(since=datetime(2026, 1, 1, tzinfo=UTC), until=datetime(2027, 1, 1, tzinfo=UTC))


def _figures(totals: Totals) -> Dashboard:
    return dashboard_figures(ANY_PERIOD, totals, 0, NO_ROLLOUT)


def _ours(reads: list[ReadRequest], prefix: str) -> list[ReadRequest]:
    """This test's requests (other tests' may have started in the same second), sorted."""
    mine = [r for r in reads if r.facts.request_id.startswith(prefix)]
    return sorted(mine, key=lambda r: r.facts.request_id)


async def test_the_projection_agrees_with_temporal_as_requests_close_and_start(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    since = datetime.now(UTC) - timedelta(seconds=1)
    until = since + timedelta(hours=1)
    task_queue = f"proj-{uuid.uuid4().hex[:8]}"
    direct = DirectRequests(client)
    projection = RequestsProjection(client)

    async def agree(filed: int, closed: int, department: str | None = None) -> bool:
        """Once Temporal itself shows `filed` requests, `closed` of them closed, the projection
        (read after it) must show exactly the same, and for a department the same figures."""
        ours = None if department is None else f"{task_queue}-{department}"
        truth = _ours((await direct.index(since, until)).rows(since, until, ours), task_queue)
        if (len(truth), sum(r.closed for r in truth)) != (filed, closed):
            return False  # visibility has not caught up yet
        index = await projection.index(since, until)
        assert _ours(index.rows(since, until, ours), task_queue) == truth
        if ours is not None:  # only this test's requests: the figures must agree too
            expected = _figures(Totals.of(r.facts for r in truth))
            assert _figures(index.totals(since, until, ours)) == expected
        return True

    async def projected() -> list[ReadRequest]:
        return _ours((await projection.index(since, until)).rows(since, until, None), task_queue)

    # Built first, from whatever the server already holds (other tests' requests too): the
    # scenario's requests then all arrive through the catch-ups; the rebuild at the end reads
    # them all at once.
    await projection.rebuild()
    async with Worker(client, task_queue=task_queue, workflows=[SeededPurchase]):
        handles = []
        for department, amount, end in SCENARIO:
            handle = await _start(client, task_queue, department, amount)
            if end is not None:
                await handle.signal(SeededPurchase.seed, end)
            handles.append((handle, end))
        waiting = handles[-1][0]

        n = len(SCENARIO)
        await poll_until(lambda: agree(n, n - 1), 30, "the catch-ups to agree")
        assert await agree(5, 5, "IT") and await agree(4, 3, "Marketing")
        ours = await projected()
        running = [r for r in ours if not r.closed]
        assert [r.facts.request_id for r in running] == [waiting.id]

        # The waiting request closes and a new one starts: both seen by the next catch-up.
        approved = handles[0][1]
        assert approved is not None
        await waiting.signal(SeededPurchase.seed, approved)
        await waiting.result()
        late = await _start(client, task_queue, "IT", "12.50")
        await poll_until(lambda: agree(n + 1, n), 30, "the projection to catch up")
        # The request read anew (running -> closed) is taken out of its hour's totals and put
        # back as it ended: Marketing's figures are those of its 4 closed requests.
        assert await agree(4, 4, "Marketing")
        ours = await projected()
        closed_now = {r.facts.request_id: r for r in ours}
        assert closed_now[waiting.id].closed and not closed_now[late.id].closed
        await late.terminate("test over")
        await poll_until(lambda: agree(n + 1, n + 1), 30, "the terminated one to show")
        assert await agree(6, 6, "IT")

    assert await projection.rebuild() >= n + 1
    assert await agree(n + 1, n + 1)


async def test_an_execution_of_the_purchase_type_without_input_is_left_out(
    dev_env: WorkflowEnvironment,
) -> None:
    """Anything can start a workflow of the purchase type (an operator with the CLI, another
    test, a tool): the dashboard leaves out what carries no request instead of failing."""
    handle = await dev_env.client.start_workflow(
        PURCHASE_WORKFLOW_TYPE, id=f"no-input-{uuid.uuid4().hex[:8]}", task_queue="nobody-polls"
    )
    try:
        execution = await dev_env.client.get_workflow_handle(handle.id).describe()
        assert await read_dashboard_request(dev_env.client, execution) is None
    finally:
        await handle.terminate("test over")
