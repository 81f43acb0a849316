"""`/metrics`: the Temporal SDK's runtime metrics and the product's, from one exporter, scraped
through the bot's route and parsed as Prometheus text after a real request went through; the
rollout percentage as the deployment's real routing moves."""

from __future__ import annotations

import re
import socket
import uuid
from pathlib import Path

import aiohttp
from aiohttp import web
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.worker_deployments import WorkerDeployments
from bot.metrics import PrometheusExport, RolloutGauge, mount_metrics
from bot.rollout_admin import RolloutAdmin
from domain.models import PurchaseStatus
from tests.integration.test_purchase_paths import cheap, price_of
from tests.integration.world import poll_until, running_world

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Prometheus text format: every line a comment or a sample, or the test fails."""
    samples: Samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        name, labels, value = match.groups()
        samples[(name, frozenset(_LABEL.findall(labels or "")))] = float(value)
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum over the samples of `name` that carry at least `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_bot_serves_sdk_and_product_metrics(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    export = PrometheusExport.start()
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        runtime=export.runtime,
    )
    http = web.Application()
    mount_metrics(http, export)
    runner = web.AppRunner(http)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with running_world(client, tmp_path) as world:
            await world.import_sample_history()
            url = cheap(world, "books")
            submitted = await world.service.submit(
                requester="UALICE", url=url, amount=price_of(world, url)
            )
            request_id = submitted.request.request_id
            result = await world.service.outcome(request_id, wait_seconds=15)
            assert result is not None and result.status is PurchaseStatus.COMPLETED
            rollout = RolloutAdmin(
                client,
                control_task_queue=world.settings.control_task_queue,
                deployment_name=world.settings.deployment_name,
            )
            await rollout.flag_wrong(request_id, "some-build", "UCARLOS")
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as response,
            ):
                assert response.status == 200
                assert response.content_type == "text/plain"
                samples = parse(await response.text())
    finally:
        await runner.cleanup()

    # The SDK's own runtime metrics.
    assert value(samples, "temporal_request_total") > 0
    assert value(samples, "temporal_workflow_completed_total") >= 1
    # The product's.
    closed = value(
        samples,
        "purchasebot_requests_total",
        department="IT",
        outcome="completed",
        review_path="auto_approved",
    )
    assert closed == 1
    assert value(samples, "purchasebot_review_duration_seconds_count") == 1
    assert value(samples, "purchasebot_review_confidence_count") == 1
    assert value(samples, "purchasebot_review_confidence_bucket", le="1") == 1
    assert value(samples, "purchasebot_flagged_auto_approvals_total") == 1


@workflow.defn(name="RolloutGaugeProbe", sandboxed=False)
class _Probe:
    """Any workflow: a versioned worker polls with it, so its build is known to the deployment."""

    @workflow.run
    async def run(self) -> None:
        return None


def _versioned(client: Client, deployment: str, build_id: str, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[_Probe],
        deployment_config=WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(deployment, build_id),
            use_worker_versioning=True,
            default_versioning_behavior=VersioningBehavior.PINNED,
        ),
    )


async def test_the_rollout_percentage_is_the_deployments_routing_when_scraped(
    dev_env: WorkflowEnvironment,
) -> None:
    """Real routing on the dev server (two builds polling, A current, B ramped to 30 %, then
    promoted), read by the bot's /metrics route before each scrape, parsed as Prometheus text."""
    export = PrometheusExport.start()
    client = dev_env.client
    deployment = f"gauge-{uuid.uuid4().hex[:8]}"
    deployments = WorkerDeployments(client, deployment)
    http = web.Application()
    gauge = RolloutGauge(export.runtime.metric_meter, deployments.describe)
    mount_metrics(http, export, before_scrape=gauge.refresh)
    runner = web.AppRunner(http)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()

    async def shares() -> dict[tuple[str, str], float]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/metrics") as response,
        ):
            assert response.status == 200
            samples = parse(await response.text())
        return {
            (dict(labels)["build_id"], dict(labels)["role"]): v
            for (name, labels), v in samples.items()
            if name == "purchasebot_rollout_percentage" and dict(labels)["deployment"] == deployment
        }

    task_queue = f"gauge-{uuid.uuid4().hex[:8]}"
    try:
        assert await shares() == {}  # no worker has polled: no build to show
        async with (
            _versioned(client, deployment, "A", task_queue),
            _versioned(client, deployment, "B", task_queue),
        ):

            async def both_known() -> bool:
                view = await deployments.describe()
                return view.knows("A") and view.knows("B")

            await poll_until(both_known, 20, "both builds to poll the deployment")
            await deployments.set_current("A")
            await deployments.set_ramping("B", 30)
            assert await shares() == {("A", "current"): 70.0, ("B", "ramping"): 30.0}
            await deployments.set_current("B")
            await deployments.clear_ramp()
            # B took over: it has all new requests; A and B's ramp are shown at 0.
            assert await shares() == {
                ("A", "current"): 0.0,
                ("B", "ramping"): 0.0,
                ("B", "current"): 100.0,
            }
    finally:
        await runner.cleanup()
