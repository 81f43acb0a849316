"""The build id of this worker: package version plus git commit when running from a checkout."""

from __future__ import annotations

import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_build_id() -> str:
    try:
        base = version("purchasebot")
    except PackageNotFoundError:
        base = "0.0.0"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base  # an installed image has no checkout: the version is the build
    return f"{base}+{commit}" if commit else base
