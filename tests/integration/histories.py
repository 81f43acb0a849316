"""Recording workflow histories for the replay gate.

`RECORD_HISTORIES=1 make test` (or pytest) rewrites tests/histories/*.json from the scenarios
that call `save_history`; normal runs only replay the committed files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from temporalio.client import Client

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


class HasClient(Protocol):
    client: Client


async def save_history(world: HasClient, workflow_id: str, name: str) -> None:
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await world.client.get_workflow_handle(workflow_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())
