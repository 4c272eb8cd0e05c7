"""How fast the bridge recovers: a websocket outage ended to the missed post linked (a resume, or a fresh
connection and a REST backfill), and outbox delivery latency while a long poll runs on its own thread."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.runtime import update_runner
from app_integration.core.events import Delivery, Subscription
from tests.waiting import wait_for as _wait


@dataclass(frozen=True)
class Recovery:
    outage_s: float
    how: str  # what the server gave the reconnect: lossless, replayed or fresh (then a REST backfill)
    recovery_s: float  # from the outage's end to the post made during it linked


def outage_recovery(bridge: Any, emulator: Any, issue_id: int, seconds: float, stale_after: float) -> Recovery:
    """With the production backoff (3 s doubling to 8 s, jittered). `stale_after` is the emulator's reaper
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

    namespace = vars(update_runner)  # the runner calls poll_once through its module
    original = namespace["poll_once"]
    namespace["poll_once"] = long_poll
    runner = update_runner.UpdateRunner(bridge, poll_seconds=3600.0).start()
    bob = emulator.user("bob")["id"]
    latencies = []
    try:
        _wait(polling.is_set)
        for n in range(samples):
            text = f"during the poll {n} {time.time_ns()}"
            queued = time.monotonic()
            bridge.outbox.enqueue([Delivery(f"bench:{queued}:{n}", f"dm:{bob}", 1, text)])
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


@dataclass(frozen=True)
class RealPoll:
    issues: int
    poll_s: float  # the one cycle that read them all
    calls: int  # Redmine requests in that cycle
    delivered: int
    p50_ms: float  # from a card's row entering the outbox to the card in Mattermost
    p95_ms: float
    during_poll: int  # cards delivered while the cycle was still reading


def delivery_during_real_poll(
    factory: Callable[..., Any], redmine_url: str, admin_key: str, emulator: Any, issues: int
) -> RealPoll:
    """`issues` new issues in one subscribed project, read by one real poll cycle (one read per issue), while
    the delivery thread posts their cards as the cycle queues them."""
    from benchmarks.feed_bench import started
    from benchmarks.limits_bench import direct_creates

    bridge = started(factory())
    owner = emulator.user("alice")
    channel = emulator.add_channel(f"long-poll-{time.time_ns()}", [emulator.bot, owner], kind="P")["id"]
    demo = bridge.gateway.project("alice", "demo").id
    bridge.subscriptions.add_subscription(Subscription(channel, owner["id"], demo, "Demo"))
    direct_creates(redmine_url, admin_key, issues, 4, f"poll{time.time_ns()}")
    time.sleep(1.1)  # Redmine's clock has whole seconds
    queued: dict[int, float] = {}
    enqueue = bridge.outbox.enqueue

    def noting(deliveries: Any) -> int:
        for delivery in deliveries:
            if delivery.target == channel:
                queued.setdefault(delivery.issue_id, time.time())
        return int(enqueue(deliveries))

    bridge.outbox.enqueue = noting  # type: ignore[method-assign]
    runner = update_runner.UpdateRunner(bridge, poll_seconds=3600.0)
    calls_before = _feed_calls()
    begun = time.monotonic()
    runner.start()
    try:
        _wait(lambda: runner.cycles >= 1, timeout=900, step=0.2)
        poll_s = time.monotonic() - begun
        poll_ended = time.time()
        _wait(lambda: len(_cards(emulator, channel)) >= len(queued), timeout=600, step=0.2)
    finally:
        runner.stop()
    arrived = _cards(emulator, channel)
    latencies = sorted(arrived[i] - queued[i] for i in arrived if i in queued)
    return RealPoll(
        issues,
        poll_s,
        int(_feed_calls() - calls_before),
        len(latencies),
        statistics.median(latencies) * 1000,
        latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] * 1000,
        sum(1 for i, at in arrived.items() if at <= poll_ended),
    )


def _cards(emulator: Any, channel: str) -> dict[int, float]:
    """Issue id -> when its card reached Mattermost (the server's create_at)."""
    found: dict[int, float] = {}
    for post in emulator.posts_in(channel):
        if post.get("root_id"):
            continue
        match = re.search(r"/issues/(\d+)", post["message"])
        if match:
            found.setdefault(int(match.group(1)), post["create_at"] / 1000)
    return found


def _feed_calls() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("bridge_feed_cycle_redmine_calls_sum") or 0.0
