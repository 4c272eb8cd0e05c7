"""Health, readiness and the per-command log line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from tests.conftest import RedmineInfo, bridge_settings
from tests.mattermost_payloads import slash_form, slash_headers


def test_ready_when_store_redmine_and_mattermost_answer(bridge: Bridge) -> None:
    client = create_app(bridge.settings, bridge).test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"store": "ok", "redmine": "ok", "mattermost": "ok"}


def test_not_ready_when_redmine_is_down(emulator: Any, tmp_path: Path) -> None:
    settings = bridge_settings(
        "http://127.0.0.1:9", "k", emulator.url, emulator.bot_token, tmp_path, redmine_connect_timeout=0.5
    )
    client = create_app(settings, build_bridge(settings, None)).test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.get_json()["checks"]
    assert checks["redmine"].startswith("failing") and checks["mattermost"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_each_command_logs_who_what_round_trips_and_latency(
    bridge: Bridge, emulator: Any, redmine: RedmineInfo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app_integration.web")
    bridge.users.sync_map(bridge.chat)  # as `serve` does once at start: the map's accounts are known
    client = create_app(bridge.settings, bridge).test_client()
    channel = next(iter(emulator.channels))
    client.post("/slash", data=slash_form(emulator.user("bob"), "tickets_for_me", channel), headers=slash_headers())
    [record] = [r for r in caplog.records if r.getMessage() == "command"]
    fields = record.__dict__
    assert fields["user"] == "bob" and fields["command"] == "tickets_for_me" and fields["outcome"] == "ok"
    assert fields["redmine_round_trips"] == 1 and fields["latency_ms"] > 0 and len(fields["request_id"]) == 12


def read_only(bridge: Bridge) -> Any:
    """Every new connection to the store refuses writes, as a full disk or a read-only file does. (The tests run
    as root, whom file modes do not stop, so SQLite is told instead.) Returns the listener, to remove it."""
    from sqlalchemy import event

    def refuse_writes(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = ON")

    event.listen(bridge.store.engine, "connect", refuse_writes)
    bridge.store.engine.dispose()
    return refuse_writes


def writable_again(bridge: Bridge, listener: Any) -> None:
    from sqlalchemy import event

    event.remove(bridge.store.engine, "connect", listener)
    bridge.store.engine.dispose()


def test_not_ready_when_the_store_cannot_write(bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    from app_integration.adapters.runtime import health

    monkeypatch.setattr(health, "READY_CACHE_SECONDS", 0.0)
    client = create_app(bridge.settings, bridge).test_client()
    assert client.get("/readyz").status_code == 200
    refusing = read_only(bridge)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["store"].startswith("failing")
    writable_again(bridge, refusing)
    assert client.get("/readyz").status_code == 200


def test_a_post_the_store_could_not_record_is_handled_once_it_can(
    bridge: Bridge, emulator: Any, seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_integration.adapters.mattermost.posts import post_listener
    from app_integration.adapters.mattermost.posts.post_listener import PostListener
    from app_integration.adapters.mattermost.posts.websocket_client import Backoff
    from tests.waiting import wait_for

    monkeypatch.setattr(post_listener, "RETRY_SECONDS", 0.5)
    listener = PostListener(bridge, emulator.websocket_url, backoff=Backoff(0.05, 0.2)).start()
    try:
        wait_for(lambda: listener.stream.position.connection_id)
        channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
        refusing = read_only(bridge)
        post = emulator.post_as("alice", channel, f"while the disk is full #t{seeded['public']}")
        wait_for(lambda: listener._deferred)  # heard, not recorded, kept
        assert f"[#t{seeded['public']}](" not in emulator.posts[post["id"]]["message"]
        writable_again(bridge, refusing)
        wait_for(lambda: f"[#t{seeded['public']}](" in emulator.posts[post["id"]]["message"])
        assert emulator.posts[post["id"]]["message"].count(f"[#t{seeded['public']}](") == 1
    finally:
        listener.stop()
