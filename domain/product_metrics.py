"""The product's own Prometheus metrics, named once. They are recorded through Temporal's
metric meter (the workflow's, the activity's or the client runtime's), so the SDK's one
Prometheus exporter serves them beside its own runtime metrics; the workflow's meter records
nothing while a history replays."""

from __future__ import annotations

from temporalio.common import MetricMeter

REQUESTS = "purchasebot_requests"
REVIEW_DURATION = "purchasebot_review_duration_seconds"
REVIEW_CONFIDENCE = "purchasebot_review_confidence"
FLAGGED_AUTO_APPROVALS = "purchasebot_flagged_auto_approvals"
SLACK_API_ERRORS = "purchasebot_slack_api_errors"
ROLLOUT_PERCENTAGE = "purchasebot_rollout_percentage"

# Histogram buckets that fit each measure (the exporter's defaults are for milliseconds).
BUCKETS: dict[str, list[float]] = {
    REVIEW_DURATION: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    REVIEW_CONFIDENCE: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0],
}


def request_closed(meter: MetricMeter, department: str, outcome: str, review_path: str) -> None:
    meter.create_counter(REQUESTS, "Requests closed, by department, outcome and review path").add(
        1, {"department": department, "outcome": outcome, "review_path": review_path}
    )


def reviewed(meter: MetricMeter, seconds: float, confidence: float) -> None:
    meter.create_histogram_float(REVIEW_DURATION, "Automated review step", "s").record(seconds)
    meter.create_histogram_float(REVIEW_CONFIDENCE, "Automated review confidence").record(
        confidence
    )


def auto_approval_flagged(meter: MetricMeter) -> None:
    meter.create_counter(FLAGGED_AUTO_APPROVALS, "Auto-approvals flagged as wrong").add(1)


def slack_api_error(meter: MetricMeter, error: str) -> None:
    meter.create_counter(SLACK_API_ERRORS, "Slack Web API calls that failed").add(
        1, {"error": error}
    )


def rollout_percentage(
    meter: MetricMeter, deployment: str, build_id: str, role: str, percent: float
) -> None:
    """The share (0-100) of new requests the deployment routes to `build_id` as its `role`
    (`current` or `ramping`); 0 for a build that no longer has that role."""
    meter.create_gauge_float(
        ROLLOUT_PERCENTAGE, "Share of new requests routed to a build (0-100), by role"
    ).set(percent, {"deployment": deployment, "build_id": build_id, "role": role})
