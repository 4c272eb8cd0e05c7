"""How fast the bridge recovers: a websocket outage ended to the missed post linked (a resume, or a fresh
connection and a REST backfill), and outbox delivery latency while a long poll runs on its own thread."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from app_integration.adapters import notification_runner
from app_integration.adapters.listener.post_listener import PostListener
from app_integration.core.events import Delivery
from mattermost_server.emulator import wait_for as _wait


@dataclass(frozen=True)
class Recovery:
    outage_s: float
    how: str  # what the server gave the reconnect: lossless, replayed or fresh (then a REST backfill)
    recovery_s: float  # from the outage's end to the post made during it linked


def outage_recovery(bridge: Any, emulator: Any, issue_id: int, seconds: float, stale_after: float) -> Recovery:
    """With the production backoff (3 s doubling to 300 s, jittered). `stale_after` is the emulator's reaper
    (web_hub.go: 5 minutes), shortened so that a 35 s outage shows the fresh-connection path."""
    emulator.hub.stale_after = stale_after
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    listener = PostListener(bridge, emulator.websocket_url).start()
    try:
        _wait(emulator.connected)
        warm = emulator.post_as("alice", channel, f"warm #t{issue_id}")
        _wait(lambda: f"[#t{issue_id}](" in emulator.posts[warm["id"]]["message"])
        with emulator.outage():
            during = emulator.post_as("alice", channel, f"during the outage #t{issue_id}")
            time.sleep(seconds)
        ended = time.monotonic()
        _wait(lambda: f"[#t{issue_id}](" in emulator.posts[during["id"]]["message"], timeout=seconds + 400)
        return Recovery(seconds, emulator.hub.registrations[-1], time.monotonic() - ended)
    finally:
        listener.stop()
        emulator.hub.stale_after = 300.0


@dataclass(frozen=True)
class DeliveryUnderPoll:
    poll_s: float
    samples: int
    p50_ms: float
    p95_ms: float


def delivery_during_long_poll(bridge: Any, emulator: Any, poll_seconds: float, samples: int) -> DeliveryUnderPoll:
    """One poll cycle held for `poll_seconds` (what reading 1,000 changed issues costs at Redmine's pace) while
    DMs are queued in the outbox twice a second: the time from each enqueue to Mattermost having it."""
    polling = threading.Event()
    release = threading.Event()

    def long_poll(services: Any, state: Any) -> Any:
        polling.set()
        release.wait(poll_seconds)
        return None

    namespace = vars(notification_runner)  # the runner calls poll_once through its module
    original = namespace["poll_once"]
    namespace["poll_once"] = long_poll
    runner = notification_runner.NotificationRunner(bridge, poll_seconds=3600.0).start()
    bob = emulator.user("bob")["id"]
    latencies = []
    try:
        _wait(polling.is_set)
        for n in range(samples):
            text = f"during the poll {n} {time.time_ns()}"
            queued = time.monotonic()
            bridge.notifications.enqueue([Delivery(f"bench:{queued}:{n}", f"dm:{bob}", 1, text)])
            _wait(_arrived(emulator, text), timeout=30)
            latencies.append(time.monotonic() - queued)
            time.sleep(0.5)
        assert not release.is_set()  # every sample was taken while the poll still ran
    finally:
        release.set()
        runner.stop()
        namespace["poll_once"] = original
    ordered = sorted(latencies)
    return DeliveryUnderPoll(
        poll_seconds,
        len(ordered),
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
    )


def _arrived(emulator: Any, text: str) -> Any:
    return lambda: any(p["message"] == text for p in emulator.dm_posts("bob"))
