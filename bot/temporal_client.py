"""The one way this product connects to Temporal.

Connection settings come from the SDK's environment configuration (TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, or a TOML profile), so the same code runs
against the embedded dev server, a self-hosted cluster or Temporal Cloud.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

DEFAULT_ADDRESS = "127.0.0.1:7233"


async def connect(address: str | None = None) -> Client:
    config = ClientConfig.load_client_connect_config()
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    return await Client.connect(**config, data_converter=pydantic_data_converter)
