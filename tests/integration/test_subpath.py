"""A Mattermost installed under a subpath (https://host/mattermost): REST and the websocket both keep it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.adapters.runtime.wiring import build_bridge
from mattermost_server.emulator import MattermostEmulator
from tests.conftest import RedmineInfo, bridge_settings
from tests.waiting import wait_for


@pytest.fixture
def under_subpath(shared: Path) -> Iterator[Any]:
    emulator = MattermostEmulator(base_path="/mattermost").start()
    people = [emulator.add_user(name) for name in ("alice", "bob")]
    emulator.add_channel("town-square", [emulator.bot, *people])
    yield emulator
    emulator.stop()
    assert emulator.spec_errors == []


def test_rest_and_websocket_keep_the_subpath(
    under_subpath: Any, redmine: RedmineInfo, tmp_path: Path, seeded: dict[str, int]
) -> None:
    emulator = under_subpath
    assert requests.get(emulator.url.removesuffix("/mattermost") + "/api/v4/system/ping", timeout=5).status_code == 404
    settings = bridge_settings(redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path)
    assert settings.websocket_url == emulator.url.replace("http://", "ws://") + "/api/v4/websocket"
    bridge = build_bridge(settings, None)
    assert bridge.chat.bot().username == "redmine"  # REST under the subpath
    listener = PostListener(bridge, emulator.websocket_url, backoff=Backoff(0.05, 0.2)).start()
    try:
        wait_for(emulator.connected)
        channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
        post = emulator.post_as("alice", channel, f"#t{seeded['public']}")
        wait_for(lambda: f"[#t{seeded['public']}](" in emulator.posts[post["id"]]["message"])
    finally:
        listener.stop()
    assert all(r.path.startswith("/api/v4/") for r in emulator.requests)  # seen inside the mount
