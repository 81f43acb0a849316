"""The one way this product connects to Temporal.

Connection settings come from the SDK's environment configuration (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, or a TOML profile), so the same code runs
against the embedded dev server, a self-hosted cluster or Temporal Cloud.
"""

from __future__ import annotations

import asyncio
import os
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

DEFAULT_ADDRESS = "127.0.0.1:7233"


class TemporalUnreachable(Exception):
    """No Temporal server answered at the configured address; the message names it."""


def configured_address() -> str:
    """Where `connect()` goes: TEMPORAL_ADDRESS, a profile's address, or the local default."""
    return str(ClientConfig.load_client_connect_config().get("target_host") or DEFAULT_ADDRESS)


async def connect(
    address: str | None = None, *, wait_seconds: float = 0, runtime: Runtime | None = None
) -> Client:
    """`wait_seconds`: keep retrying that long. A server that has just started accepts TCP
    connections a moment before it answers RPCs. Raises TemporalUnreachable."""
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await Client.connect(
                **config, data_converter=pydantic_data_converter, runtime=runtime
            )
        except RuntimeError as err:
            if time.monotonic() >= deadline:
                raise TemporalUnreachable(unreachable_message(config["target_host"])) from err
            await asyncio.sleep(0.2)


def unreachable_message(address: str) -> str:
    if os.environ.get("TEMPORAL_ADDRESS") or os.environ.get("TEMPORAL_PROFILE"):
        return (
            f"The Temporal server at {address} cannot be reached. Is it running, and is that "
            "the right address (TEMPORAL_ADDRESS / your profile)?"
        )
    return (
        f"The Temporal server at {address} cannot be reached. Is `make run` (purchasebot up) "
        "running? For another server, set TEMPORAL_ADDRESS."
    )
