"""The replay gate: every committed history must replay on the current workflow code.

tests/histories/ holds histories of every path recorded by three generations of the code:
- `original-*`: the pre-patch code (tests/fixtures/original_workflow.py), always manual;
- `review-v1-*`: the code with `automated-review-v1` but before `review-flags-v1` (kept as
  recorded: they stand for requests in flight when the flags were introduced);
- `patched-*`: the current code.
Re-record the current code's with `RECORD_HISTORIES=1 .venv/bin/pytest tests/integration`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.fixtures.original_workflow import OriginalPurchaseApprovalWorkflow
from workflows.purchase_approval import PurchaseApprovalWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
# These patched paths ran the automated review, so their history holds the patch marker.
THROUGH_THE_PATCH = [
    h for h in HISTORIES if h.stem.startswith("patched-") and "invalid" not in h.stem
]


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_corpus_covers_every_path_for_both_codes() -> None:
    names = {h.stem for h in HISTORIES}
    for path in [
        "manual-approved",
        "manual-rejected",
        "cancelled",
        "approval-timeout",
        "invalid-product",
        "waiting-for-approval",
    ]:
        assert f"original-{path}" in names and f"patched-{path}" in names, path
    assert {"patched-auto-approved", "patched-review-failed-manual"} <= names
    assert {"review-v1-auto-approved", "review-v1-manual-approved"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_history_replays_on_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[PurchaseApprovalWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(load(path))


@pytest.mark.parametrize("path", THROUGH_THE_PATCH, ids=lambda p: p.stem)
async def test_patched_history_fails_on_original_code(path: Path) -> None:
    """Proof that the gate can fail: rolling back to the pre-patch code would break these."""
    replayer = Replayer(
        workflows=[OriginalPurchaseApprovalWorkflow], data_converter=pydantic_data_converter
    )
    with pytest.raises(NondeterminismError, match="automated-review-v1"):
        await replayer.replay_workflow(load(path))
