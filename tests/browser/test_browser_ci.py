"""CI must run the browser tests: with CI=true a missing Chromium is a failure, not a skip."""

from __future__ import annotations

import os

import pytest

from tests.browser.test_browser_flow import CHROMIUM, MISSING

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")


@pytest.mark.skipif(not IN_CI, reason="only CI must have a browser")
def test_ci_has_chromium() -> None:
    assert CHROMIUM.exists(), f"CI=true and {MISSING}"
