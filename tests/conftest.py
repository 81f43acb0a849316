"""Session-wide real Temporal servers, from the installed wheels (no downloads)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import settings
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bot.dev_server import VISIBILITY_RPS
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent

# Property tests judge behaviour, not speed: hypothesis's per-example deadline (200 ms) failed
# under load on 2 shared cores. Speed is measured by bench/, not by tests.
settings.register_profile("purchasebot", deadline=None)
settings.load_profile("purchasebot")


# Every test world registers its own Worker Deployment (`deploy-<prefix>`) on this one server,
# and the server refuses a namespace's 101st ("reached maximum deployments in namespace (100)",
# matching.maxDeployments): past ~100 world tests every new world "never got a current build".
# The visibility rate of `make run`'s server too (bot/dev_server.py).
SESSION_SERVER_ARGS = [
    "--dynamic-config-value",
    "matching.maxDeployments=100000",
    *VISIBILITY_RPS,
]


# The longest modules start first. `make test` runs whole modules on 2 processes in this order
# (xdist --dist loadfile --no-loadscope-reorder), so the last to start are short ones and both
# processes finish together. xdist's default order, by number of tests, started the long
# one-test integration modules last: one process ran alone for the last minutes.
SLOW_FIRST = (
    "tests/test_replay_drift.py",
    "tests/test_replay_gate.py",
    "tests/integration/test_history_store.py",
    "tests/integration/test_rollouts.py",
    "tests/integration/test_production_shape.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: i for i, module in enumerate(SLOW_FIRST)}
    # A stable sort: the other modules, and the tests within each, keep their order.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(SLOW_FIRST)))


def _binary(name: str) -> str:
    found = shutil.which(name) or str(BIN / name)
    if not Path(found).exists():
        raise RuntimeError(f"{name} is not installed; run `make test`, which installs it")
    return found


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (SQLite in memory), with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        search_attributes=CUSTOM_SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
        dev_server_extra_args=SESSION_SERVER_ARGS,
    )
    async with env:
        yield env


@pytest_asyncio.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, for the 7-day timeout. One per test module (it starts in
    ~0.1 s): shared by the whole session, a module's 7-day skip had to fire every reminder,
    escalation and timeout that earlier modules' abandoned requests left on the one clock, and
    the skip's RPC timed out in full runs."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    async with env:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
                    for key in CUSTOM_SEARCH_ATTRIBUTES
                },
            )
        )
        yield env
