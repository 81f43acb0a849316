"""The committed replay corpus (tests/histories/) and the drift verdict.

Files are `<generation>-<path>.json`. `current-*` is what the current code records (checked by
the drift gate, rewritten by `make histories`); every other generation is kept as recorded: it
stands for requests that older code started and that the current code must still replay
(`original-*`: before any patch; `review-v1-*`: before `review-flags-v1`; `before-<patch>-*`:
the `current-*` histories `make histories` set aside when a new patch appeared).
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

from tests.corpus.commands import command_sequence, patch_markers, sequence_diff

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
CURRENT = "current-"
RECORD_COMMAND = "make histories"
PATCH_LIST = "PATCHES in workflows/purchase_approval.py"


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def current_file(name: str, directory: Path = HISTORIES) -> Path:
    return directory / f"{CURRENT}{name}.json"


def committed(name: str, directory: Path = HISTORIES) -> WorkflowHistory | None:
    path = current_file(name, directory)
    return load(path) if path.exists() else None


def new_patches(old: WorkflowHistory, new: WorkflowHistory) -> set[str]:
    return patch_markers(new) - patch_markers(old)


def drift(name: str, old: WorkflowHistory | None, new: WorkflowHistory) -> str | None:
    """None when the current code issues, on path `name`, the commands of the committed
    history; otherwise what differs and what to do about it."""
    where = current_file(name).relative_to(HISTORIES.parents[1])  # as the developer sees it
    if old is None:
        return (
            f"Path {name!r} has no committed history ({where}): record it with `{RECORD_COMMAND}`."
        )
    before, after = command_sequence(old), command_sequence(new)
    if before == after:
        return None
    diff = sequence_diff(before, after)
    added = new_patches(old, new)
    if added:
        return (
            f"Path {name!r}: the current code records patch {', '.join(sorted(added))}, which "
            f"the committed history {where} predates.\n{diff}\n"
            f"Re-record the corpus with `{RECORD_COMMAND}` (the committed history is kept as "
            f"the generation before the patch) and commit tests/histories/."
        )
    return (
        f"Path {name!r}: the current code issues other commands than the committed history "
        f"{where}, and no new patch id marks the change:\n{diff}\n"
        "Requests already running would replay their history on this code and fail with a "
        "nondeterminism error. What to do:\n"
        "  1. freeze the workflow as it was, as the code before your patch: copy "
        "workflows/purchase_approval.py and workflows/purchase/ from before your change to a "
        "package under tests/fixtures/ (README: 'Changing what the workflow does') and add it "
        "to CODE_BEFORE_PATCH in tests/fixtures/frozen.py;\n"
        f"  2. add a Patch(id, description) to {PATCH_LIST} and emit the new commands only "
        "under `if workflow.patched(<patch>.id):`;\n"
        f"  3. re-record the corpus with `{RECORD_COMMAND}` and commit tests/histories/.\n"
        "(If only the recorded scenario changed, not the workflow, "
        f"`RECORD_HISTORIES=force {RECORD_COMMAND}` overwrites the history.)\n"
        "See README.md, 'The replay gate and the corpus'."
    )


def save(
    name: str, new: WorkflowHistory, *, force: bool = False, directory: Path = HISTORIES
) -> str:
    """Record the current code's history of path `name`; say what was done.

    A committed history with the same commands is left as it is (the diff shows only the paths
    that changed; `force` rewrites it). One that predates a new patch is kept as
    `before-<patch>-<name>.json`. Drift without a new patch raises AssertionError, unless
    `force`."""
    old = committed(name, directory)
    target = current_file(name, directory)
    note = "recorded"
    if old is not None:
        added = new_patches(old, new)
        if added:
            kept = directory / f"before-{'+'.join(sorted(added))}-{name}.json"
            target.rename(kept)
            note = f"recorded; the previous history is kept as {kept.name}"
        elif drift(name, old, new) is None and not force:
            return f"{target.name}: unchanged (same commands)"
        elif not force:
            raise AssertionError(drift(name, old, new))
    directory.mkdir(exist_ok=True)
    target.write_text(new.to_json())
    return f"{target.name}: {note}"
