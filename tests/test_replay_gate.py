"""The replay gate: every committed history must replay on the current workflow code, and every
history recorded with a patch's marker must FAIL on the code from before that patch.

tests/histories/ holds histories recorded by several generations of the code (see
tests/corpus/corpus.py): `current-*` by the current code (checked against it by the drift
gate, tests/test_replay_drift.py; re-recorded with `make histories`), and older generations
kept as recorded. Which patches a history carries is read from its marker events, not from
its file name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.corpus.commands import patch_markers
from tests.corpus.corpus import CURRENT, HISTORIES, load
from tests.corpus.paths import PATHS
from tests.fixtures.frozen import CODE_BEFORE_PATCH
from workflows.purchase_approval import PATCHES, PurchaseApprovalWorkflow

README = HISTORIES.parents[1] / "README.md"
FILES = sorted(HISTORIES.glob("*.json"))
# Parsed once: each history is replayed by several tests (parsing took a quarter of the time).
LOADED = {path: load(path) for path in FILES}
MARKERS = {path: patch_markers(LOADED[path]) for path in FILES}
# Every (history, patch) pair where the history holds the patch's marker.
WITH_PATCH = [(path, patch) for path in FILES for patch in sorted(MARKERS[path])]


def test_corpus_covers_every_path_and_generation() -> None:
    names = {h.stem for h in FILES}
    assert {f"{CURRENT}{p.name}" for p in PATHS} <= names
    original = {"manual-approved", "manual-rejected", "cancelled", "approval-timeout"}
    assert {f"original-{p}" for p in original | {"invalid-product"}} <= names
    assert {f"review-v1-{p}" for p in original | {"auto-approved"}} <= names


def test_every_patch_has_frozen_code_from_before_it_and_histories_with_it() -> None:
    for patch in PATCHES:
        assert patch.id in CODE_BEFORE_PATCH, (
            f"no frozen code from before patch {patch.id}: add it to tests/fixtures/frozen.py"
        )
        assert any(patch.id in markers for markers in MARKERS.values()), (
            f"no committed history holds the marker of {patch.id}: run `make histories`"
        )


def test_readme_lists_every_patch_as_the_code_does() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `")]
    listed = [row for row in rows if any(f"| `{p.id}` |" in row for p in PATCHES)]
    assert listed == [f"| `{p.id}` | {p.description} |" for p in PATCHES], (
        "README's patch table must list PATCHES of workflows/purchase_approval.py, in order"
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[PurchaseApprovalWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(LOADED[path])


@pytest.mark.parametrize(
    ("path", "patch"), WITH_PATCH, ids=[f"{p.stem}-without-{patch}" for p, patch in WITH_PATCH]
)
async def test_patched_history_fails_on_code_from_before_the_patch(path: Path, patch: str) -> None:
    """Proof that the gate can fail: rolling back to the code from before `patch` would break
    every request whose history holds its marker.

    How it breaks depends on what follows the marker. Core reports the unexpected marker as a
    NondeterminismError naming the patch when the next thing it matches is a command; when
    local-activity markers follow in the same workflow task, their results are resolved
    first, and the old code fails its workflow task decoding a result meant for another
    activity (e.g. the flags evaluation's result as the review's). Both leave the request
    stuck, and `purchasebot replay` counts both as failures."""
    assert patch in CODE_BEFORE_PATCH, f"{path.name} holds {patch!r}: no frozen code before it"
    replayer = Replayer(
        workflows=[CODE_BEFORE_PATCH[patch]], data_converter=pydantic_data_converter
    )
    with pytest.raises((NondeterminismError, RuntimeError)) as failed:
        await replayer.replay_workflow(LOADED[path])
    if isinstance(failed.value, NondeterminismError):
        assert patch in str(failed.value)
    else:
        assert "Workflow activation completion failed" in str(failed.value)
