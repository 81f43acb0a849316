"""Build ids are unique per code without anyone remembering a flag."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appconfig import build
from appconfig.build import SOURCE_PACKAGES, default_build_id, source_hash


def copy_sources(to: Path) -> Path:
    for package in SOURCE_PACKAGES:
        shutil.copytree(
            build.ROOT / package, to / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return to


def test_the_source_hash_follows_the_code_and_nothing_else(tmp_path: Path) -> None:
    tree = copy_sources(tmp_path / "a")
    same = source_hash(tree)
    (tree / "bot" / "__pycache__").mkdir(exist_ok=True)
    (tree / "bot" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    (tree / "README.txt").write_text("not code")
    assert source_hash(tree) == same, "only the packages' Python files count"
    (tree / "workflows" / "names.py").write_text(
        (tree / "workflows" / "names.py").read_text() + "\n# changed\n"
    )
    assert source_hash(tree) != same
    assert source_hash(copy_sources(tmp_path / "b")) == same, "same code, same hash"


def test_without_git_the_build_id_is_the_version_and_the_source_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_git(*args: str) -> str:
        raise FileNotFoundError("git")

    monkeypatch.setattr(build, "_git", no_git)
    assert default_build_id().endswith(f"-{source_hash()}")


def test_in_a_checkout_the_commit_names_the_build_and_changed_code_adds_its_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {"rev-parse": "1dbfbd15d6", "status": ""}
    monkeypatch.setattr(build, "_git", lambda *args: answers[args[0]])
    assert default_build_id().endswith("+1dbfbd15d6")
    answers["status"] = " M bot/cli.py"
    assert default_build_id().endswith(f"+1dbfbd15d6.{source_hash()}")


def test_the_cli_prints_the_build_id(tmp_path: Path) -> None:
    env = {"PURCHASEBOT_BUILD_ID": "given-build", "PURCHASEBOT_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "purchasebot"), "build-id"],
        capture_output=True, text=True, check=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.stdout.strip() == "given-build"
