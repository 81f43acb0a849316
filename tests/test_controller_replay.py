"""The rollout controller's replay gate, as tests/test_replay_gate.py and test_replay_drift.py
are the purchase workflow's: a controller runs for months, so every history it recorded must
replay on the current code, a history holding a patch's marker must FAIL on the code from before
that patch, and the current code must issue the committed commands on every scenario.

tests/controller_histories/: `current-*` recorded by the current code (re-record with
`make controller-histories`), `v1-*` and `v0-*` by the frozen code from before the patches
(tests/fixtures/controller_v*_workflow.py), kept as recorded.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.corpus.commands import command_sequence, patch_markers, sequence_diff
from tests.corpus.controller_scenarios import HISTORIES, SCENARIOS, history_file, record
from tests.fixtures.controller_v0_workflow import ControllerV0Workflow
from tests.fixtures.controller_v1_workflow import ControllerV1Workflow
from workflows.rollout_controller import (
    CHECK_ERRORS_COUNT,
    CONTROLLER_PATCHES,
    DEPARTMENT_ROLLOUT,
    ROLLBACK_BEFORE_ALERT,
    ROLLBACK_TO_HEALTHY,
    RolloutControllerWorkflow,
)

RECORDING = os.environ.get("RECORD_CONTROLLER_HISTORIES", "")
README = Path(__file__).resolve().parents[1] / "README.md"
CODE = {
    "current": RolloutControllerWorkflow,
    "v1": ControllerV1Workflow,
    "v0": ControllerV0Workflow,
}
# The frozen code from before each patch of the controller.
CODE_BEFORE_PATCH: dict[str, type] = {
    CHECK_ERRORS_COUNT.id: ControllerV0Workflow,
    ROLLBACK_BEFORE_ALERT.id: ControllerV1Workflow,
    ROLLBACK_TO_HEALTHY.id: ControllerV1Workflow,
    DEPARTMENT_ROLLOUT.id: ControllerV1Workflow,
}
FILES = sorted(HISTORIES.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


MARKERS = {path: patch_markers(load(path)) for path in FILES}
WITH_PATCH = [(path, patch) for path in FILES for patch in sorted(MARKERS[path])]


def test_every_scenario_of_every_generation_is_recorded() -> None:
    expected = {history_file(g, n) for g, names in SCENARIOS.items() for n in names}
    missing = sorted(p.name for p in expected - set(FILES))
    assert not missing, f"not recorded: {missing}; run `make controller-histories`"


def test_every_patch_has_frozen_code_from_before_it_and_histories_with_it() -> None:
    for patch in CONTROLLER_PATCHES:
        assert patch.id in CODE_BEFORE_PATCH, f"no frozen code from before {patch.id}"
        assert any(patch.id in markers for markers in MARKERS.values()), (
            f"no committed controller history holds the marker of {patch.id}"
        )


def test_readme_lists_every_controller_patch() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    listed = [r for r in rows if any(f"| `{p.id}` |" in r for p in CONTROLLER_PATCHES)]
    assert listed == [f"| `{p.id}` | {p.description} |" for p in CONTROLLER_PATCHES], (
        "README's controller patch table must list CONTROLLER_PATCHES, in order"
    )


def replayer(workflow: type) -> Replayer:
    return Replayer(workflows=[workflow], data_converter=pydantic_data_converter)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
async def test_controller_history_replays_on_current_code(path: Path) -> None:
    await replayer(RolloutControllerWorkflow).replay_workflow(load(path))


@pytest.mark.parametrize(
    ("path", "patch"), WITH_PATCH, ids=[f"{p.stem}-without-{patch}" for p, patch in WITH_PATCH]
)
async def test_patched_history_fails_on_controller_code_from_before_the_patch(
    path: Path, patch: str
) -> None:
    """Proof that the gate can fail: rolling the control worker back to the code from before
    `patch` would leave every controller whose history holds its marker stuck."""
    with pytest.raises((NondeterminismError, RuntimeError)):
        await replayer(CODE_BEFORE_PATCH[patch]).replay_workflow(load(path))


# Updates added without a patch (new handlers change no earlier command): a history holding one
# fails on code without its handler, as controllers that took one would if the control worker
# went back to such code. The frozen v1 code has none of them.
NEW_UPDATES = {"apply_monitor_settings": "monitor-settings-change"}


@pytest.mark.parametrize(("update", "scenario"), NEW_UPDATES.items())
async def test_history_with_a_new_update_fails_on_code_without_its_handler(
    update: str, scenario: str
) -> None:
    history = load(history_file("current", scenario))
    assert update in history.to_json()
    with pytest.raises(NondeterminismError):
        await replayer(ControllerV1Workflow).replay_workflow(history)


@pytest_asyncio.fixture(scope="module")
async def regenerated(dev_env: WorkflowEnvironment) -> dict[str, WorkflowHistory]:
    """Every scenario run again: by the current code, and (when recording) by the frozen code
    for the generations not recorded yet."""
    wanted = [
        (generation, name)
        for generation, names in SCENARIOS.items()
        for name in names
        if generation == "current" or (RECORDING and not history_file(generation, name).exists())
    ]
    histories = await asyncio.gather(*(record(dev_env.client, CODE[g], g, n) for g, n in wanted))
    return {history_file(g, n).stem: h for (g, n), h in zip(wanted, histories, strict=True)}


async def test_current_controller_issues_the_recorded_commands(
    regenerated: dict[str, WorkflowHistory],
) -> None:
    if RECORDING:
        HISTORIES.mkdir(exist_ok=True)
        for stem, history in regenerated.items():
            (HISTORIES / f"{stem}.json").write_text(history.to_json())
        return
    problems = []
    for stem, history in regenerated.items():
        path = HISTORIES / f"{stem}.json"
        if not path.exists():
            problems.append(f"{path.name} is not recorded: run `make controller-histories`")
            continue
        before, after = command_sequence(load(path)), command_sequence(history)
        if before != after:
            problems.append(
                f"{path.name}: the controller now issues other commands. Put the change behind "
                "a new patch in CONTROLLER_PATCHES (freeze the code before it in "
                "tests/fixtures/), keep this file as `<generation>-*` and re-record with "
                f"`make controller-histories`.\n{sequence_diff(before, after)}"
            )
    assert not problems, "\n\n".join(problems)
