"""The listener's websocket client connects, authenticated at the upgrade, with the lowest websockets release
the bridge declares: on 13.x `connect(additional_headers=...)` raised TypeError and the stream's thread died
without a word. `make test-lowest` runs this on that release."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from typing import Any

from app_integration.adapters.mattermost.posts.websocket_client import EventStream
from mattermost_server.emulator import MattermostEmulator


def test_the_stream_connects_and_hears_hello_and_a_post() -> None:
    emulator = MattermostEmulator(validate=False).start()
    alice = emulator.add_user("alice")
    channel = emulator.add_channel("town-square", [emulator.bot, alice])
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    gaps: list[int] = []
    stream = EventStream(emulator.websocket_url, emulator.bot_token, events, lambda: gaps.append(1))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    runner = threading.Thread(target=loop.run_until_complete, args=(stream.run(stop),), daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 15
        while not stream.position.connection_id and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.position.connection_id and stream.connects == 1 and not stream.refused
        assert emulator.upgrade_auth == [True]  # the token went with the upgrade itself
        emulator.post_as("alice", channel["id"], "hello there")
        posted = next(e for e in iter(lambda: events.get(timeout=10), None) if e.get("event") == "posted")
        assert "hello there" in posted["data"]["post"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        runner.join(timeout=10)
        emulator.stop()
