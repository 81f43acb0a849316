"""The build id of this worker, unique per code without anyone remembering a flag.

From a git checkout: the package version plus the commit, plus a hash of the source when the
code differs from that commit. Without git (an installed image): the version plus a hash of the
source tree. Two different codes never share a build id, and the same code always gets the same.
"""

from __future__ import annotations

import hashlib
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The packages whose code a worker runs (configuration files are versioned separately, by
# content hash in every review).
SOURCE_PACKAGES = ("activities", "appconfig", "bot", "domain", "entities", "workflows")
HASH_LENGTH = 10


def source_hash(root: Path = ROOT) -> str:
    """A hash of every Python file of the worker's packages under `root`, by relative path."""
    digest = hashlib.sha256()
    for package in SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:HASH_LENGTH]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=5, check=True
    ).stdout.strip()


def default_build_id() -> str:
    try:
        base = version("purchasebot")
    except PackageNotFoundError:
        base = "0.0.0"
    try:
        commit = _git("rev-parse", "--short=10", "HEAD")
        changed = _git("status", "--porcelain", "--", *SOURCE_PACKAGES)
    except (OSError, subprocess.SubprocessError):
        return f"{base}-{source_hash()}"  # no checkout (an image): the code itself names it
    if not commit:
        return f"{base}-{source_hash()}"
    return f"{base}+{commit}.{source_hash()}" if changed else f"{base}+{commit}"
