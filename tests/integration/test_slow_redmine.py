"""A slow Redmine, behind a proxy that delays or holds every call: a slash command or a button is answered
within 2 s ("working on it") and its result comes later; past a bounded queue the person is told at once that
Redmine is slow, and nothing waits silently (issue 33, point 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.mattermost.commands import classic_surface, work_queue
from app_integration.adapters.mattermost.commands.work_queue import WorkQueue
from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import build_bridge
from tests.conftest import RedmineInfo, bridge_settings
from tests.fault_proxy import FaultProxy
from tests.mattermost_payloads import slash_form, slash_headers
from tests.waiting import wait_for

HOOK = "/hooks/commands/" + "s" * 26


@pytest.fixture
def proxy(redmine: RedmineInfo) -> Iterator[FaultProxy]:
    where = urlsplit(redmine.url)
    with FaultProxy(where.hostname or "127.0.0.1", where.port or 80, delay=2.5) as proxy:
        yield proxy


@pytest.fixture
def slow_client(proxy: FaultProxy, redmine: RedmineInfo, emulator: Any, tmp_path: Path) -> Iterator[FlaskClient]:
    settings = bridge_settings(proxy.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path)
    bridge = build_bridge(settings, None)
    bridge.users.sync_map(bridge.chat)
    app = create_app(settings, bridge)
    with app.test_client() as client:
        yield client


def ask(client: FlaskClient, emulator: Any, username: str, text: str) -> dict[str, Any]:
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    form = slash_form(emulator.user(username), text, channel, emulator.url + HOOK)
    answer: dict[str, Any] = client.post("/slash", data=form, headers=slash_headers()).get_json()
    return answer


def test_a_slow_redmine_gets_working_on_it_then_the_result(
    slow_client: FlaskClient, proxy: FaultProxy, emulator: Any
) -> None:
    proxy.mode = "delay"  # every Redmine call takes 2.5 s: more than the 2 s a command may keep Mattermost waiting
    assert ask(slow_client, emulator, "bob", "tickets_for_me")["text"] == classic_surface.WORKING
    wait_for(lambda: emulator.hook_replies, timeout=60)
    assert "Open tickets assigned to you" in emulator.hook_replies[-1]["text"]


def test_past_the_queue_the_person_is_told_redmine_is_slow(
    slow_client: FlaskClient, proxy: FaultProxy, emulator: Any
) -> None:
    """One command at work and one waiting (a queue of one): a third is refused at once, in words; when Redmine
    answers again both admitted commands deliver their results."""
    web = slow_client.application.extensions["bridge.web"]
    web.work = WorkQueue(threads=1, waiting=1)
    proxy.mode = "hang"  # Redmine holds every call
    assert ask(slow_client, emulator, "bob", "tickets_for_me")["text"] == classic_surface.WORKING
    assert ask(slow_client, emulator, "alice", "tickets_for_me")["text"] == classic_surface.WORKING
    assert ask(slow_client, emulator, "carol", "tickets_for_me")["text"] == work_queue.SLOW_NOW
    assert web.work.admitted == 2
    proxy.mode = "pass"
    wait_for(lambda: len(emulator.hook_replies) >= 2, timeout=60)
    texts = [reply["text"] for reply in emulator.hook_replies]
    assert len(texts) == 2 and all("Open tickets assigned to you" in text for text in texts), texts
    wait_for(lambda: web.work.admitted == 0)
    # With room again, the next command is admitted.
    assert ask(slow_client, emulator, "carol", "tickets_for_me")["text"] != work_queue.SLOW_NOW
