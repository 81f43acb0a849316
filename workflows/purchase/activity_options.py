"""How long each kind of activity of the purchase workflow may take, and how it is retried."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.notifications import UNDELIVERABLE

# Short, local steps run as local activities: no extra round trip through the server's
# task queue, which is what makes the auto-approved path faster than a plain workflow.
VALIDATION_TIMEOUT = timedelta(seconds=30)
REVIEW_TIMEOUT = timedelta(minutes=5)
REVIEW_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=100),
    maximum_attempts=3,
)
# Ordering and Slack are the outside world: regular activities, retried by the server, so a
# crashed worker's step is picked up by another one. The order heartbeats so a dead worker is
# noticed in seconds, not after the whole start-to-close timeout.
ORDER_TIMEOUT = timedelta(minutes=2)
ORDER_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
NOTIFY_TIMEOUT = timedelta(seconds=30)
# Since NOTIFY_PATCH: each message is one short activity; Slack's trouble is retried after the
# delay Slack asks for (else this backoff), at most MESSAGE_RETRY.maximum_attempts times (about
# 10 minutes); a message that can never be delivered is not retried at all.
MESSAGE_TIMEOUT = timedelta(seconds=10)
MESSAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=8,
    non_retryable_error_types=[UNDELIVERABLE],
)
LOOKUP_RETRY = RetryPolicy(maximum_attempts=3)
