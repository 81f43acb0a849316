"""The search attributes the workflows set exist before a process serves: an upgraded
self-hosted installation gets a new one registered, and a namespace where it cannot be
(Temporal Cloud, or taken with another type) stops the process with a message naming it,
instead of requests that stop at the step that sets it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from bot.installation import ensure_search_attributes, search_attribute_problems
from domain.search_attributes import DECIDERS
from tests.conftest import _binary
from tests.integration.processes import process_env, run_cli
from tests.integration.world import make_settings
from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

WITHOUT_DECIDERS = [key for key in CUSTOM_SEARCH_ATTRIBUTES if key is not DECIDERS]


@asynccontextmanager
async def server_with(
    attributes: Sequence[SearchAttributeKey[Any]],
) -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"), search_attributes=attributes
    ) as env:
        yield env


async def test_an_upgraded_installation_gets_the_new_attribute_registered() -> None:
    async with server_with(WITHOUT_DECIDERS) as env:
        await ensure_search_attributes(env.client)
        listed = await env.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=env.client.namespace)
        )
        assert (
            listed.custom_attributes[DECIDERS.name]
            == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST
        )


async def test_a_worker_refuses_to_start_when_an_attribute_has_another_type(
    tmp_path: Path,
) -> None:
    taken = SearchAttributeKey.for_keyword(DECIDERS.name)  # a Keyword, not a KeywordList
    async with server_with([*WITHOUT_DECIDERS, taken]) as env:
        settings = make_settings(tmp_path, f"T{uuid.uuid4().hex[:6]}", None)
        address = env.client.service_client.config.target_host
        done = run_cli(process_env(settings, address), "worker")
    assert done.returncode == 2, done
    assert "has Deciders as KEYWORD where KEYWORD_LIST is needed" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_the_message_names_what_is_missing_and_what_has_another_type() -> None:
    keyword, listed = (
        IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    )
    wanted = {"Approver": keyword, "Deciders": listed, "Department": keyword}
    assert search_attribute_problems(wanted, wanted) == []
    assert search_attribute_problems(wanted, {"Deciders": keyword}) == [
        "lacks Approver (KEYWORD), Department (KEYWORD)",
        "has Deciders as KEYWORD where KEYWORD_LIST is needed",
    ]
