"""The replay-drift gate: the current code's history of every recorded path is regenerated and
compared, command by command, with the committed corpus (tests/histories/current-*.json).

A workflow change that alters the commands of a path without a new patch id fails here, with
what to do. `make histories` (RECORD_HISTORIES=1) records the corpus instead of comparing.
All paths run at once on the session's servers: the gate takes seconds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from tests.corpus.corpus import (
    CURRENT,
    HISTORIES,
    RECORD_COMMAND,
    committed,
    current_file,
    drift,
    save,
)
from tests.corpus.paths import PATHS, record
from tests.fixtures.drifted_workflow import DriftedPurchaseApprovalWorkflow
from tests.fixtures.future_workflow import FUTURE_PATCH, FuturePurchaseApprovalWorkflow

RECORDING = os.environ.get("RECORD_HISTORIES", "")
BY_NAME = {p.name: p for p in PATHS}


@pytest_asyncio.fixture(scope="module")
async def regenerated(
    dev_env: WorkflowEnvironment,
    time_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, WorkflowHistory]]:
    yield await record(PATHS, dev_env, time_env, tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", list(BY_NAME))
def test_current_code_issues_the_recorded_commands(
    regenerated: dict[str, WorkflowHistory], name: str
) -> None:
    if RECORDING:
        print(save(name, regenerated[name], force=RECORDING == "force"))
        return
    problem = drift(name, committed(name), regenerated[name])
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def test_every_current_history_is_a_recorded_path() -> None:
    names = {p.stem.removeprefix(CURRENT) for p in HISTORIES.glob(f"{CURRENT}*.json")}
    assert names <= set(BY_NAME), (
        f"{sorted(names - set(BY_NAME))}: no such path in tests/corpus/paths.py; "
        "delete the file or add the path"
    )


async def invalid_product_on(
    workflow: type, dev_env: WorkflowEnvironment, time_env: WorkflowEnvironment, tmp_path: Path
) -> tuple[WorkflowHistory, str | None]:
    """The invalid-product path (the quickest) recorded on `workflow`, and the gate's verdict."""
    histories = await record(
        [BY_NAME["invalid-product"]], dev_env, time_env, tmp_path, workflows=[workflow]
    )
    history = histories["invalid-product"]
    return history, drift("invalid-product", committed("invalid-product"), history)


async def test_gate_refuses_a_change_without_a_patch(
    dev_env: WorkflowEnvironment, time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    history, problem = await invalid_product_on(
        DriftedPurchaseApprovalWorkflow, dev_env, time_env, tmp_path
    )

    assert problem is not None
    assert "no new patch id marks the change" in problem
    assert "+timer" in problem  # the diff shows the extra command
    assert "add a Patch(" in problem and RECORD_COMMAND in problem
    corpus = copy_of_the_corpus(tmp_path)
    with pytest.raises(AssertionError, match="no new patch id"):
        save("invalid-product", history, directory=corpus)  # and will not record it
    assert current_file("invalid-product", corpus).read_bytes() == (
        current_file("invalid-product").read_bytes()
    )


async def test_gate_asks_to_re_record_after_a_new_patch_and_keeps_the_old_history(
    dev_env: WorkflowEnvironment, time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    history, problem = await invalid_product_on(
        FuturePurchaseApprovalWorkflow, dev_env, time_env, tmp_path
    )

    assert problem is not None
    assert f"records patch {FUTURE_PATCH}" in problem and RECORD_COMMAND in problem
    assert "no new patch id" not in problem
    # What `make histories` then does: the new history becomes current, the old one is kept.
    corpus = copy_of_the_corpus(tmp_path)
    save("invalid-product", history, directory=corpus)
    assert current_file("invalid-product", corpus).read_text() == history.to_json()
    kept = corpus / f"before-{FUTURE_PATCH}-invalid-product.json"
    assert kept.read_text() == current_file("invalid-product").read_text()


def copy_of_the_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "histories"
    shutil.copytree(HISTORIES, corpus)
    return corpus
