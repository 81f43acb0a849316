"""With the real Slack path (bot, worker, local workspace) on a client whose runtime exports
Prometheus metrics: a Slack Web API error the workspace injects is counted in
`purchasebot_slack_api_errors_total`, and every metric the Grafana dashboard in deploy/ queries
is one this exporter serves (one world for both: a Slack world takes seconds to start)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bot.metrics import PrometheusExport, RolloutGauge
from domain.models import PurchaseStatus
from tests.integration.slack_world import slack_world
from tests.integration.test_metrics import parse, value
from tests.integration.world import REPO

GRAFANA = REPO / "deploy" / "grafana" / "purchasebot-dashboard.json"
BOOK_URL = "https://www.amazon.es/dp/1449373321"  # 39.90 EUR: Alice's is auto-approved
# Metric names in PromQL: the product's and the Temporal SDK's prefixes.
_METRIC = re.compile(r"\b(?:purchasebot|temporal)_[a-z0-9_]+")


def queried_metrics(dashboard: Path) -> set[str]:
    panels = json.loads(dashboard.read_text())["panels"]
    return {
        name
        for panel in panels
        for target in panel["targets"]
        for name in _METRIC.findall(target["expr"])
    }


async def test_slack_errors_are_counted_and_grafana_queries_only_exported_metrics(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    export = PrometheusExport.start()
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        namespace=dev_env.client.namespace,
        data_converter=pydantic_data_converter,
        runtime=export.runtime,
    )
    async with slack_world(client, tmp_path) as sw:
        await sw.world.import_sample_history()
        # Alice's outcome DM: first refused as rate limited, then with a 500 (`fatal_error`);
        # the activity retries and the third attempt goes out.
        dm = {"channel": sw.dm("UALICE")}
        sw.ws.inject_fault("chat.postMessage", "rate_limited", retry_after=1, match=dm)
        sw.ws.inject_fault("chat.postMessage", "http_error", status=500, match=dm)
        await sw.send_command("UALICE", "/purchase", f"{BOOK_URL} 39.90")
        filed = await sw.ephemeral_to("UALICE", "filed")
        request_id = filed.text.split("`")[1]
        await sw.bot_message_to("UALICE", "auto-approved", timeout=30)
        result = await sw.world.service.outcome(request_id, wait_seconds=30)
        assert result is not None and result.status is PurchaseStatus.COMPLETED
        await sw.rollout.flag_wrong(request_id, "test-build", "UCARLOS")
        # What the bot's /metrics route does before each scrape.
        await RolloutGauge(export.runtime.metric_meter, sw.rollout.deployments.describe).refresh()
        current = (await sw.rollout.status()).deployment.current_build
        samples = parse(await export.scrape())

    to_alice = [
        c for c in sw.ws.api_calls("chat.postMessage") if c.args.get("channel") == dm["channel"]
    ]
    assert [c.http_status for c in to_alice][:3] == [429, 500, 200]
    errors = {
        dict(labels)["error"]: count
        for (name, labels), count in samples.items()
        if name == "purchasebot_slack_api_errors_total"
    }
    assert errors == {"ratelimited": 1, "fatal_error": 1}, errors  # a 500 says fatal_error

    exported = {name for name, _ in samples}
    queried = queried_metrics(GRAFANA)
    assert queried, "the dashboard queries no metric"
    assert queried <= exported, f"not exported: {sorted(queried - exported)}"
    assert value(samples, "purchasebot_requests_total", review_path="auto_approved") == 1
    assert current is not None
    rollout = value(samples, "purchasebot_rollout_percentage", build_id=current, role="current")
    assert rollout == 100.0  # nothing ramps: the current build has every new request
