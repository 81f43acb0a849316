"""The local workspace's page shows the emoji the product writes, as Slack does: every
`:shortcode:` in the product's code is in the vendored map (slack_workspace/static/emoji.js)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EMOJI_JS = REPO / "slack_workspace" / "static" / "emoji.js"
PRODUCT = ("activities", "appconfig", "bot", "domain", "entities", "workflows")
SHORTCODE = re.compile(r"(?<![\w:]):([a-z0-9_+-]+):(?![\w:])")


def vendored() -> dict[str, str]:
    entries = re.findall(r'^  ("[^"]+"): ("[^"]+"),$', EMOJI_JS.read_text(encoding="utf-8"), re.M)
    return {json.loads(key): json.loads(value) for key, value in entries}


def product_shortcodes() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for code in SHORTCODE.findall(line):
                    found.setdefault(code, f"{path.relative_to(REPO)}:{lineno}")
    return found


def test_every_shortcode_the_product_writes_is_shown_as_emoji() -> None:
    emoji = vendored()
    used = product_shortcodes()
    assert "rotating_light" in used  # the scan sees the ops alerts' shortcodes
    missing = {code: where for code, where in used.items() if code not in emoji}
    assert missing == {}


def test_the_map_holds_emoji_not_text() -> None:
    emoji = vendored()
    assert len(emoji) > 150
    assert emoji["rotating_light"] == "\N{POLICE CARS REVOLVING LIGHT}"
    assert [code for code, char in emoji.items() if not char or char.isascii()] == []
