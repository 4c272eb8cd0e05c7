"""Health, readiness and the per-command log line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.web.app_factory import create_app
from app_integration.adapters.wiring import Bridge, build_bridge
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
    client = create_app(bridge.settings, bridge).test_client()
    channel = next(iter(emulator.channels))
    client.post("/slash", data=slash_form(emulator.user("bob"), "tickets_for_me", channel), headers=slash_headers())
    [record] = [r for r in caplog.records if r.getMessage() == "command"]
    fields = record.__dict__
    assert fields["user"] == "bob" and fields["command"] == "tickets_for_me" and fields["outcome"] == "ok"
    assert fields["redmine_round_trips"] == 1 and fields["latency_ms"] > 0 and len(fields["request_id"]) == 12
