"""The one way this product connects to Temporal.

Connection settings come from the SDK's environment configuration (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, or a TOML profile), so the same code runs
against the embedded dev server, a self-hosted cluster or Temporal Cloud.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

DEFAULT_ADDRESS = "127.0.0.1:7233"


async def connect(address: str | None = None, *, wait_seconds: float = 0) -> Client:
    """`wait_seconds`: keep retrying that long. A server that has just started accepts TCP
    connections a moment before it answers RPCs."""
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await Client.connect(**config, data_converter=pydantic_data_converter)
        except RuntimeError:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.2)
