"""What a patch of a workflow is: shared by every workflow that patches its commands, and by the
tools that read their lists (`purchasebot patches`, the replay gates, the README's tables)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Patch:
    """A change to the commands a workflow emits, put behind `workflow.patched(id)` so that
    workflows started by older code replay on their own path."""

    id: str
    description: str
