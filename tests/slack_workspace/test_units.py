"""Small pieces: the directory loader, Slack-style ids, and the command-line entry point."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from aiohttp import ClientSession

from slack_workspace.directory import DirectoryError, load_directory
from slack_workspace.ids import IdMaker, TsClock

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_directory_loads_people(directory_file: Path) -> None:
    people = load_directory(directory_file)
    assert [p.slack_id for p in people] == ["UALICE", "UCARLOS", "UHELEN"]
    alice = people[0]
    assert (alice.name, alice.manager, alice.department) == (
        "Alice Smith",
        "UCARLOS",
        "Engineering",
    )
    assert alice.username == "alice.smith"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("people: [{slack_id: UA}]", "name"),
        ("people: [{slack_id: UA, name: A}, {slack_id: UA, name: B}]", "appears twice"),
        ("people: [unclosed", "not valid YAML"),
    ],
)
def test_directory_problems_are_explained(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(text)
    with pytest.raises(DirectoryError, match=problem):
        load_directory(path)


def test_ts_values_are_unique_and_increasing_even_in_the_same_microsecond() -> None:
    clock = TsClock(now=lambda: 1732780000.0001)
    values = [clock.next() for _ in range(3)]
    assert values == ["1732780000.000100", "1732780000.000101", "1732780000.000102"]


def test_ids_have_slack_prefixes() -> None:
    ids = IdMaker()
    assert ids.next("D") == "D00000001"
    assert ids.next("D") == "D00000002"
    assert ids.next("V") == "V00000001"


async def test_command_line_prints_what_the_bot_needs(directory_file: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "slack_workspace",
        "--directory",
        str(directory_file),
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    assert proc.stdout is not None
    try:
        lines: dict[str, str] = {}
        async with asyncio.timeout(8):
            while "SLACK_SIGNING_SECRET" not in lines:
                line = (await proc.stdout.readline()).decode().strip()
                assert line, "the process ended early"
                key, sep, value = line.partition("=")
                if sep:
                    lines[key.strip()] = value
                elif line.startswith("Local Slack workspace:"):
                    lines["base"] = line.split()[3].rstrip("/")
        assert lines["SLACK_BOT_TOKEN"].startswith("xoxb-")
        assert len(lines["SLACK_SIGNING_SECRET"]) == 32
        assert lines["SLACK_API_URL"] == lines["base"] + "/api/"
        async with ClientSession() as http:
            answer = await http.post(
                lines["SLACK_API_URL"] + "auth.test",
                headers={"Authorization": f"Bearer {lines['SLACK_BOT_TOKEN']}"},
            )
            assert (await answer.json())["ok"] is True
    finally:
        proc.terminate()
        await proc.wait()
