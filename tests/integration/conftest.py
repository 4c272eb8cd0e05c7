"""Fixtures the integration tests share: people changing things in the real Redmine, a bridge whose change
feed has started, and the listener's bot in either role."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.updates.change_feed import load_cursor, poll_once
from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine
from tests.integration.listener_support import ROLES, start


@pytest.fixture
def rm(redmine: RedmineInfo) -> Redmine:
    return Redmine(redmine)


@pytest.fixture
def feed_bridge(bridge: Bridge) -> Bridge:
    """A bridge whose map is claimed and whose feed has started (its cursor set at Redmine's newest change)."""
    bridge.users.sync_map(bridge.chat)
    poll_once(bridge.services, bridge.store)
    assert load_cursor(bridge.store) is not None
    time.sleep(1.05)  # Redmine's clock has whole seconds: the changes below come after the cursor's
    return bridge


# The listener's tests (see listener_support): the bot in either role, and a listener started for it.
@pytest.fixture(params=sorted(ROLES))
def bot_role(request: pytest.FixtureRequest, emulator: Any) -> Iterator[str]:
    role: str = request.param
    emulator.bot["roles"] = ROLES[role][0]
    yield role
    refused = [(r.method, r.path) for r in emulator.requests if r.status == 403]
    assert len(refused) == len(set(refused)) and len([p for _, p in refused if p.endswith("/ephemeral")]) <= 1, (
        f"a request was refused more than once: {refused}"
    )


@pytest.fixture
def listener(redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> Iterator[PostListener]:
    running, _ = start(redmine, emulator, tmp_path)
    yield running
    running.stop()
