"""The listener's cost per event, and the time from a post to its link (section 4 of the report)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import requests

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.runtime.wiring import Bridge


# 4. The listener ---------------------------------------------------------------------------------------
@dataclass
class ListenerResult:
    kind: str
    events: int
    events_per_second_per_core: float
    cpu_us_per_event: float


def listener_events(bridge: Bridge, emulator: Any, count: int, matching: bool) -> ListenerResult:
    listener = PostListener(bridge, emulator.websocket_url)
    listener._bot_id = emulator.bot["id"]
    channel = next(c for c in emulator.channels.values() if c["name"] == "town-square")
    alice = emulator.user("alice")
    messages = []
    for n in range(count):
        text = f"status update {n}: see #t1 and #t2" if matching else f"status update {n}: nothing to link here"
        post = (
            emulator.post_as("alice", channel["id"], text)
            if matching
            else {
                "id": f"p{n:025d}",
                "user_id": alice["id"],
                "channel_id": channel["id"],
                "message": text,
                "type": "",
                "props": {},
                "root_id": "",
                "create_at": 1,
            }
        )
        messages.append(
            {
                "event": "posted",
                "seq": n + 1,
                "data": {"channel_type": "O", "sender_name": "@alice", "post": json.dumps(post)},
            }
        )
    cpu = time.thread_time()
    for message in messages:
        listener.handle(message)
    used = time.thread_time() - cpu
    per_event = used / count
    return ListenerResult(
        "matching (2 refs)" if matching else "non-matching",
        count,
        1 / per_event if per_event else float("inf"),
        per_event * 1e6,
    )


def post_to_link(
    emulator: Any, listener: PostListener, redmine_url: str, admin_key: str, samples: int, issue_id: int
) -> tuple[list[float], list[float]]:
    """Seconds from a post to its link, and one raw Redmine round trip of the same lookup, `samples` each."""
    channel = next(c for c in emulator.channels.values() if c["name"] == "town-square")
    latencies: list[float] = []
    for n in range(samples):
        started = time.perf_counter()
        post = emulator.post_as("alice", channel["id"], f"sample {n} #t{issue_id}")
        deadline = started + 10
        while "](" not in emulator.posts[post["id"]]["message"] and time.perf_counter() < deadline:
            time.sleep(0.0005)
        latencies.append(time.perf_counter() - started)
    session = requests.Session()
    headers = {"X-Redmine-API-Key": admin_key, "X-Redmine-Switch-User": "alice"}
    raw: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        session.get(
            f"{redmine_url}/issues.json",
            params={"issue_id": str(issue_id), "status_id": "*"},
            headers=headers,
            timeout=10,
        ).raise_for_status()
        raw.append(time.perf_counter() - started)
    return latencies, raw
