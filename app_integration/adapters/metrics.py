"""The bridge's Prometheus metrics, defined in one place, and their exposition.

Under gunicorn (and under `run`, where the listener is a second process) every process writes its samples
into PROMETHEUS_MULTIPROC_DIR and `/metrics` adds them up: `prepare_multiprocess` sets that directory before
prometheus_client is first imported, which is when the library decides how it keeps values. Gauges that
only the leading listener sets are kept per live process and read as their maximum.
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client import multiprocess as _multiprocess

from app_integration.adapters.metrics_dir import MULTIPROC_ENV

# The text format every Prometheus version reads; what generate_latest writes for these names.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Commands answer in tens of milliseconds to tens of seconds (a batch); a Redmine call in milliseconds to
# its read timeout.
_COMMAND_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60)
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

COMMANDS = Counter(
    "bridge_commands_total", "Commands answered, by name, surface and outcome.", ("command", "surface", "outcome")
)
COMMAND_SECONDS = Histogram(
    "bridge_command_seconds", "How long a command took to answer.", ("command", "surface"), buckets=_COMMAND_BUCKETS
)
REDMINE_CALLS = Counter(
    "bridge_redmine_calls_total",
    "Redmine requests by kind (read, create, update) and HTTP status (or timeout, unreachable, busy).",
    ("kind", "status"),
)
REDMINE_SECONDS = Histogram(
    "bridge_redmine_call_seconds", "A Redmine request's latency.", ("kind",), buckets=_CALL_BUCKETS
)
REDMINE_WAIT_SECONDS = Histogram(
    "bridge_redmine_bound_wait_seconds",
    "Time a Redmine request waited for a slot under REDMINE_MAX_CALLS.",
    buckets=_CALL_BUCKETS,
)
REDMINE_WINDOW = Gauge(
    "bridge_redmine_call_window",
    "Redmine requests this process lets run at once now: REDMINE_MAX_CALLS, narrowed while Redmine struggles.",
    multiprocess_mode="livesum",
)
REDMINE_IN_FLIGHT = Gauge("bridge_redmine_calls_in_flight", "Redmine requests under way.", multiprocess_mode="livesum")
WORK_WAITING = Gauge(
    "bridge_web_work_waiting", "Commands waiting for a worker after 'working on it'.", multiprocess_mode="livesum"
)
WORK_REFUSED = Counter("bridge_web_work_refused_total", "Commands refused because the work queue was full.")
OUTBOX_DEPTH = Gauge("bridge_outbox_depth", "Deliveries waiting in the outbox.", multiprocess_mode="livemax")
OUTBOX_OLDEST = Gauge(
    "bridge_outbox_oldest_age_seconds", "Age of the oldest waiting delivery.", multiprocess_mode="livemax"
)
OUTBOX_DELIVERED = Counter("bridge_outbox_delivered_total", "Deliveries posted into Mattermost.")
OUTBOX_RETRIES = Counter("bridge_outbox_retries_total", "Deliveries put back for a later try.")
OUTBOX_DROPS = Counter("bridge_outbox_drops_total", "Deliveries given up, by reason.", ("reason",))
FEED_LAG = Gauge(
    "bridge_feed_lag_seconds", "Now minus the feed's cursor, after the last cycle.", multiprocess_mode="livemax"
)
FEED_EVENTS = Histogram(
    "bridge_feed_cycle_events", "Events found in one feed cycle.", buckets=(0, 1, 5, 10, 50, 100, 500, 1000)
)
FEED_SECONDS = Histogram(
    "bridge_feed_cycle_seconds", "One feed cycle's duration.", buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
)
FEED_CALLS = Histogram(
    "bridge_feed_cycle_redmine_calls", "Redmine requests in one feed cycle.", buckets=(1, 2, 5, 10, 50, 100, 500, 1000)
)
LEADER = Gauge("bridge_leader", "1 while this replica leads (listens and delivers).", multiprocess_mode="livemax")
LEADER_EPOCH = Gauge("bridge_leader_epoch", "The fencing epoch of the current lead.", multiprocess_mode="livemax")
TAKEOVERS = Counter("bridge_leader_takeovers_total", "Times this replica took the lead.")
RECONNECTS = Counter("bridge_listener_reconnects_total", "Websocket connections opened after the first.")
RESUMES = Counter(
    "bridge_listener_resumes_total", "How each reconnect went: resumed, replayed, or fresh (a gap).", ("how",)
)
BACKFILLED = Counter("bridge_listener_backfilled_posts_total", "Posts read over REST after a gap.")


def observe_command(command: str, surface: str, outcome: str, seconds: float) -> None:
    COMMANDS.labels(command, surface, outcome).inc()
    COMMAND_SECONDS.labels(command, surface).observe(seconds)


def _registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def exposition() -> bytes:
    """The text format, summed over every process of this tree when they share a directory."""
    return bytes(generate_latest(_registry()))


def serve_on_loopback(port: int) -> None:
    """METRICS_PORT: the same text on 127.0.0.1 only, for a scraper on this host, with no token."""
    start_http_server(port, addr="127.0.0.1", registry=_registry())


def process_exited(pid: int) -> None:
    """A worker's live gauges stop counting when it exits (gunicorn's child_exit)."""
    if os.environ.get(MULTIPROC_ENV):
        _multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
