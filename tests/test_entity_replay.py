"""Entity workflows keep their workflow type names and replay their recorded histories.

An installation's entities (flags, imported history, ops audit) run for months: a new build
must find them by type name and replay their histories. tests/entity_histories/ holds, kept as
recorded: `*-before-entities-package`, by the code that had the classes in workflows/ (named by
class name, before `@workflow.defn(name=...)`) and changed them with start + Update; and
`*-update-with-start`, by entities/client.py (the Update arrives with the start);
`review-rules-changes-and-revert`: the rules entity started, changed, reverted and queried;
`review-rules-shadow-set-stop-promote`: candidate rules put in shadow, a refused repeat, stopped,
another candidate, queried as a review does, promoted (a new version);
`delegations-set-replace-end`: a delegation set, replaced and ended, with refused changes
(recorded by tests/integration/test_delegation.py with RECORD_ENTITY_HISTORY=<file>).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import _Definition

from bot.worker import CONTROL_WORKFLOWS
from entities.delegations import DelegationsWorkflow
from entities.feature_flags import FeatureFlagsWorkflow
from entities.imported_history import ImportedHistoryWorkflow
from entities.ops_audit import OpsAuditWorkflow
from entities.review_rules import ReviewRulesWorkflow

HISTORIES = sorted((Path(__file__).parent / "entity_histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


# The names running workflows on existing installations carry: never change them.
TYPE_NAMES = {
    FeatureFlagsWorkflow: "FeatureFlagsWorkflow",
    ImportedHistoryWorkflow: "ImportedHistoryWorkflow",
    OpsAuditWorkflow: "OpsAuditWorkflow",
    ReviewRulesWorkflow: "ReviewRulesWorkflow",
    DelegationsWorkflow: "DelegationsWorkflow",
}


@pytest.mark.parametrize("cls", list(TYPE_NAMES), ids=lambda c: c.__name__)
def test_entity_type_name_is_fixed(cls: type) -> None:
    definition = _Definition.must_from_class(cls)
    assert definition.name == TYPE_NAMES[cls]
    assert cls in CONTROL_WORKFLOWS


def test_every_entity_has_a_recorded_history() -> None:
    starts = [load(h).events[0] for h in HISTORIES]
    types = {e.workflow_execution_started_event_attributes.workflow_type.name for e in starts}
    assert types == set(TYPE_NAMES.values())


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_entity_history_replays_on_current_code(path: Path) -> None:
    replayer = Replayer(workflows=list(TYPE_NAMES), data_converter=pydantic_data_converter)
    await replayer.replay_workflow(load(path))
