"""Configuration files: refused with file, field path and reason; reloaded without a restart;
a broken edit never replaces the last good version."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appconfig.files import ConfigFileError, ReloadingFile, load_yaml_model
from domain.review_rules import RulesFile

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    # Make the change visible even within one mtime tick.
    os.utime(path, ns=(bump * 1_000_000_000, bump * 1_000_000_000))


def test_invalid_file_names_file_field_and_reason(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("defaults:\n  max_amount: -5\n")
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(rules, RulesFile)
    message = str(caught.value)
    assert str(rules) in message and "defaults.max_amount" in message


def test_not_yaml_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("defaults: [unclosed\n")
    with pytest.raises(ConfigFileError, match="not valid YAML"):
        load_yaml_model(rules, RulesFile)


def test_reload_picks_up_changes_and_keeps_last_good_on_errors(tmp_path: Path) -> None:
    original = (REPO / "rules.yaml").read_text()
    rules = tmp_path / "rules.yaml"
    write(rules, original, 1)
    watched = ReloadingFile(rules, RulesFile)
    first = watched.get()
    assert first.value.defaults.max_amount == 500

    write(rules, original.replace("max_amount: 500", "max_amount: 450", 1), 2)
    second = watched.get()
    assert second.value.defaults.max_amount == 450 and second.version != first.version

    write(rules, "defaults:\n  max_amount: lots\n", 3)
    assert watched.get() == second
    assert watched.last_error is not None and "max_amount" in str(watched.last_error)

    write(rules, original, 4)
    assert watched.get().version == first.version and watched.last_error is None


def test_a_process_does_not_start_on_a_broken_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("unknown_section: {}\n")
    with pytest.raises(ConfigFileError, match="unknown_section"):
        ReloadingFile(rules, RulesFile)
