"""Without Chromium the browser test is skipped on a developer's machine, but FAILS with
CI=true: CI cannot go green without it. Runs the browser tests in a child pytest whose
Chromium path does not exist (without CI=true it reports "2 skipped", as it always did)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BROWSER_TESTS = [HERE / "test_browser_ci.py", HERE / "test_browser_flow.py"]


def run_browser_test(ci: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(BROWSER_TEST_CHROMIUM="/nonexistent/chromium", CI=ci)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, BROWSER_TESTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=HERE.parents[1],
    )


def test_missing_chromium_fails_in_ci() -> None:
    shown = run_browser_test(ci="true")
    assert "1 failed, 1 skipped" in shown.stdout, shown.stdout + shown.stderr
    assert shown.returncode == 1, shown.stdout
    assert "CI=true and /nonexistent/chromium is missing" in shown.stdout
