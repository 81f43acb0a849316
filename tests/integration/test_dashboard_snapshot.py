"""A restarted bot's dashboard starts from the projection's snapshot on disk and catches up
from there (bot/insight/snapshot.py), instead of reading every request again; a snapshot read
from another namespace (a reset server) is not used. Real executions on the dev server, run by
the seeded stand-in workflow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bot.insight.facts import Fate, RequestFacts
from bot.insight.index import ReadRequest, micros
from bot.insight.projection import RequestsProjection
from bot.insight.snapshot import ProjectionSnapshot
from bot.insight.source import DirectRequests
from tests.integration.test_dashboard import SCENARIO, SeededPurchase
from tests.integration.test_dashboard_projection import _ours, _start
from tests.integration.world import poll_until

APPROVED = SCENARIO[0][2]
# The session's server holds every earlier test's requests: a first build may take longer than
# the bot's patience (then a call is told to come back), which is not what is tested here.
PATIENT = timedelta(minutes=3)


async def test_a_restarted_bot_starts_from_the_snapshot_and_catches_up(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = dev_env.client
    since = datetime.now(UTC) - timedelta(seconds=1)
    until = since + timedelta(hours=1)
    task_queue = f"snap-{uuid.uuid4().hex[:8]}"
    snapshot = ProjectionSnapshot(tmp_path / "dashboard-projection.db")
    direct = DirectRequests(client)

    async def truth(closed: int) -> list[ReadRequest] | None:
        """This test's requests as Temporal shows them, once `closed` of them are closed."""
        rows = _ours((await direct.index(since, until)).rows(since, until, None), task_queue)
        return rows if sum(r.closed for r in rows) == closed else None

    async def projected(projection: RequestsProjection) -> list[ReadRequest]:
        index = await projection.index(since, until)
        return _ours(index.rows(since, until, None), task_queue)

    assert APPROVED is not None
    async with Worker(client, task_queue=task_queue, workflows=[SeededPurchase]):
        first = await _start(client, task_queue, "IT", "10.00")
        await first.signal(SeededPurchase.seed, APPROVED)
        await first.result()
        running = RequestsProjection(client, snapshot=snapshot, patience=PATIENT)

        async def caught_up() -> bool:
            expected = await truth(closed=1)
            return expected is not None and await projected(running) == expected

        await poll_until(caught_up, 120, "the running bot to show the first request")
        assert running.first_built_from == "temporal"

        # The bot is down: a request is filed and closes, another is filed and waits.
        second = await _start(client, task_queue, "Marketing", "20.00")
        await second.signal(SeededPurchase.seed, APPROVED)
        await second.result()
        waiting = await _start(client, task_queue, "IT", "30.00")
        restarted = RequestsProjection(client, snapshot=snapshot, patience=PATIENT)

        async def restarted_agrees() -> bool:
            expected = await truth(closed=2)
            return (
                expected is not None
                and len(expected) == 3
                and (await projected(restarted) == expected)
            )

        await poll_until(restarted_agrees, 120, "the restarted bot to catch up")
        assert restarted.first_built_from == "snapshot"
        await waiting.terminate("test over")


async def test_a_snapshot_read_from_another_namespace_is_not_used(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A reset dev server has a namespace of the same name and another id."""
    client = dev_env.client
    snapshot = ProjectionSnapshot(tmp_path / "dashboard-projection.db")
    filed = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    facts = RequestFacts("PR-GHOST", "IT", filed, Decimal("10.00"), "EUR", Fate.AUTO_APPROVED)
    ghost = ReadRequest("ghost-run", micros(filed), closed=True, facts=facts, flaggable=True)
    snapshot.save_all([ghost], datetime.now(UTC), f"{client.namespace}/another-id")

    fresh = RequestsProjection(client, snapshot=snapshot, patience=PATIENT)
    index = await fresh.index(datetime.min.replace(tzinfo=UTC), datetime.now(UTC))
    assert fresh.first_built_from == "temporal"
    assert index.get("ghost-run") is None
