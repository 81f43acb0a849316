"""Process settings, from the environment (prefix PURCHASEBOT_). Documented in the README.

Temporal connection settings are NOT here: they come from the SDK's environment configuration
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS ...), see `workflows.client`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PURCHASEBOT_", extra="ignore")

    rules: Path = Path("rules.yaml")
    directory: Path = Path("directory.yaml")
    catalog: Path = Path("catalog.yaml")
    data_dir: Path = Path(".data")
    task_queue: str = "purchase-approval-task-queue"
    # Seconds the stand-in store takes to confirm an order it has already taken: a window for
    # fault-injection tests (a worker killed mid-order). Zero in normal use.
    order_confirmation_delay: float = 0.0

    @property
    def orders_db(self) -> Path:
        return self.data_dir / "orders.db"

    @property
    def notifications_db(self) -> Path:
        return self.data_dir / "notifications.db"

    @property
    def temporal_db(self) -> Path:
        return self.data_dir / "temporal.db"
