"""Process settings, from the environment (prefix PURCHASEBOT_). Documented in the README.

Temporal connection settings are NOT here: they come from the SDK's environment configuration
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS ...), see `workflows.client`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLACK_API_DEFAULT = "https://slack.com/api/"


class RunMode(StrEnum):
    """`production` refuses stand-ins and fault injection; `demo` (make run, make second-build,
    the tests) allows them: notifications recorded without Slack, orders refused or delayed."""

    PRODUCTION = "production"
    DEMO = "demo"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PURCHASEBOT_", extra="ignore")

    rules: Path = Path("rules.yaml")
    directory: Path = Path("directory.yaml")
    catalog: Path = Path("catalog.yaml")
    # Initial feature flags, read once when the flags entity is first created.
    flags: Path = Path("flags.yaml")
    data_dir: Path = Path(".data")
    task_queue: str = "purchase-approval-task-queue"
    # Long-lived entity workflows (imported history, flags, ops audit, rollout controller) run on
    # an unversioned queue: they must never be pinned to one worker build.
    control_task_queue: str = "purchasebot-control"
    # Worker Deployment (Worker Versioning). Empty deployment name: an unversioned worker.
    deployment_name: str = "purchasebot"
    # The deployment monitor. Every process applies them to the running rollout controller at
    # its start (the last to start wins). Unset: the monitor's own default, defined once on
    # `Thresholds` (domain/rollout_models.py), which also bounds them (MONITOR_FIELDS below).
    monitor_interval_seconds: float | None = None
    monitor_min_sample: int | None = None
    monitor_failure_limit: int | None = None
    monitor_window_seconds: float | None = None
    monitor_min_decision_sample: int | None = None
    # The approval journey: when an approver who has not decided is reminded (days after they
    # were due to decide: filing, for the manager; `1,4` in the environment; empty: never).
    # Read by each request when it starts waiting (it keeps that plan to the end).
    reminder_after_days: Annotated[tuple[float, ...], NoDecode] = (1.0, 4.0)
    # ...and when it moves to the approver's own manager (0: never).
    escalate_after_days: float = Field(default=5.0, ge=0)
    mode: RunMode = RunMode.PRODUCTION
    # Seconds the stand-in store takes to confirm an order it has already taken: a window for
    # fault-injection tests (a worker killed mid-order). Zero in normal use.
    order_confirmation_delay: float = 0.0
    # Fault injection: the stand-in store refuses every order, so requests on this worker's
    # build fail (to watch the deployment monitor roll a bad build back).
    fail_orders: bool = False
    # Liveness (/livez) and readiness (/readyz) of a worker process; 0: not served. The bot
    # serves them on its own port.
    health_port: int = 0
    # A worker's Prometheus metrics (`/metrics`: the SDK's runtime metrics and the product's);
    # 0: not served. The bot serves them at `/metrics` on its own port.
    metrics_port: int = 0

    # Slack. Without a bot token, `purchasebot up` starts the local Slack workspace instead.
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=SLACK_API_DEFAULT, validation_alias="SLACK_API_URL")
    port: int = Field(default=3000, validation_alias="PORT")
    # Where the bot listens: every interface (a container); `up` keeps to 127.0.0.1.
    host: str = Field(default="0.0.0.0", validation_alias="HOST")
    # Where approval requests go: the manager's DM (empty) or one approvals channel.
    approvals_channel: str = ""
    # Where rollout alerts and refused ops commands go.
    ops_channel: str = "purchasing-ops"
    local_slack_port: int = 3100
    # The Slack app manifest: the local workspace grants the app exactly these scopes.
    slack_manifest: Path = Path("manifest.yaml")
    # The embedded Temporal dev server of `purchasebot up` (when TEMPORAL_ADDRESS is not set).
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    # Worker build id; empty means the package version plus the git commit.
    build_id: str = ""
    # HTTP API tokens (`token:role[:name]`, comma-separated) and/or a file of them, one a line.
    # Neither set: every API call is refused with 401. See the README, "The HTTP API".
    api_tokens: SecretStr | None = None
    api_tokens_file: Path | None = None
    # The web dashboard (`/dashboard`). Where people's browsers reach the bot, for the login
    # links `/purchase dashboard` sends; empty: http://127.0.0.1:<PORT>.
    public_url: str = ""
    # Signs login links and dashboard sessions; every bot replica needs the same one. Unset:
    # derived from SLACK_SIGNING_SECRET (shared by replicas already), else random per process.
    web_secret: SecretStr | None = None

    @field_validator("reminder_after_days", mode="before")
    @classmethod
    def _days_list(cls, value: object) -> object:
        """`1,4` (the environment) or a sequence of numbers."""
        if isinstance(value, str):
            return tuple(float(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("reminder_after_days")
    @classmethod
    def _positive_days(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(days <= 0 for days in value):
            raise ValueError("every reminder must be more than 0 days after the request")
        return tuple(sorted(value))

    def fault_injection(self) -> list[str]:
        """The fault-injection settings in force, by environment variable name."""
        active = {
            "fail_orders": self.fail_orders,
            "order_confirmation_delay": self.order_confirmation_delay != 0,
        }
        return [env_name(field) for field, on in active.items() if on]

    @property
    def monitor_overrides(self) -> dict[str, float]:
        """The monitor settings that are set, under their `Thresholds` field names."""
        named = {field: getattr(self, name) for field, name in MONITOR_FIELDS.items()}
        return {name: value for name, value in named.items() if value is not None}

    @property
    def orders_db(self) -> Path:
        return self.data_dir / "orders.db"

    @property
    def notifications_db(self) -> Path:
        return self.data_dir / "notifications.db"

    @property
    def dashboard_snapshot(self) -> Path:
        """The dashboard projection's rows, so a restarted bot need not read every request."""
        return self.data_dir / "dashboard-projection.db"

    @property
    def temporal_db(self) -> Path:
        return self.data_dir / "temporal.db"


def env_name(field: str) -> str:
    """The environment variable a Settings field is read from (an alias such as `PORT` is its
    own name)."""
    return field if field.isupper() else f"PURCHASEBOT_{field.upper()}"


# The monitor settings: `Thresholds` field -> the Settings field (PURCHASEBOT_<upper case>).
MONITOR_FIELDS = {
    "check_interval_seconds": "monitor_interval_seconds",
    "min_sample": "monitor_min_sample",
    "failure_limit": "monitor_failure_limit",
    "window_seconds": "monitor_window_seconds",
    "min_decision_sample": "monitor_min_decision_sample",
}
MONITOR_ENV = {field: env_name(name) for field, name in MONITOR_FIELDS.items()}


def settings_problems(err: ValidationError) -> str:
    """What a person reads when a setting cannot be used: each setting by the name it is set
    under (never its value: it may be a secret), what is wrong, and what to do."""
    lines = []
    for problem in err.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "?"
        lines.append(f"  {env_name(field)}: {problem['msg']}")
    return (
        "A setting cannot be used:\n" + "\n".join(lines) + "\n"
        "Fix it in the environment (or the .env file) and start again."
    )
