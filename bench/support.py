"""What every benchmark here needs: free loopback ports and its own embedded dev server."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.dev_server import EmbeddedTemporal


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@asynccontextmanager
async def dev_server(data_dir: Path) -> AsyncIterator[EmbeddedTemporal]:
    port, ui_port = free_ports(2)
    server = EmbeddedTemporal(data_dir / "temporal.db", port=port, ui_port=ui_port)
    try:
        try:
            await server.start()
        except BaseException:
            log = data_dir / "temporal-server.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-15:]
                print("dev server log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
            raise
        yield server
    finally:
        await server.stop()
