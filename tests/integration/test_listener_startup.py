"""The listener's start when Mattermost refuses its token or is not there yet."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.adapters.runtime.listener_process import wait_for_mattermost
from app_integration.adapters.runtime.wiring import build_bridge
from app_integration.core.errors import ChatTokenRefused
from tests.conftest import bridge_settings
from tests.unit.test_startup import cli


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_token_ends_with_one_line_naming_the_setting(emulator: Any, tmp_path: Path) -> None:
    env = tmp_path / "bridge.env"
    env.write_text(
        "REDMINE_URL=http://127.0.0.1:9\nADMIN_REDMINE_KEY_API=key\n"
        f"MATTERMOST_URL={emulator.url}\nREDMINE_MATTERMOST_BRIDGE_APP_TOKEN=wrong-token\n"
        f"MATTERMOST_WEBSOCKET_URL={emulator.websocket_url}\nDATABASE_URL=sqlite:///{tmp_path / 's.sqlite3'}\n"
    )
    done = cli("listen", "--env-file", str(env))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if "REDMINE_MATTERMOST_BRIDGE_APP_TOKEN" in line]
    assert line.startswith("The listener cannot start: Mattermost refused the bot's token")


def test_a_refused_token_is_told_apart_from_an_outage(emulator: Any, tmp_path: Path) -> None:
    settings = bridge_settings("http://127.0.0.1:9", "k", emulator.url, "wrong-token", tmp_path)
    with pytest.raises(ChatTokenRefused):
        wait_for_mattermost(build_bridge(settings, None), threading.Event(), Backoff(0.01, 0.02), attempts=3)


def test_an_unreachable_mattermost_is_retried_with_a_line_per_attempt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = bridge_settings("http://127.0.0.1:9", "k", f"http://127.0.0.1:{closed_port()}", "t", tmp_path)
    bridge = build_bridge(settings, None)
    caplog.set_level(logging.WARNING)
    ready = wait_for_mattermost(bridge, threading.Event(), Backoff(0.01, 0.02), attempts=3)
    assert ready is False
    attempts = [r.getMessage() for r in caplog.records if "Mattermost is not answering" in r.getMessage()]
    assert [a.split("attempt ")[1].split(",")[0] for a in attempts] == ["1", "2", "3"]


def test_the_listener_starts_once_mattermost_comes_up(emulator: Any, tmp_path: Path) -> None:
    settings = bridge_settings("http://127.0.0.1:9", "k", emulator.url, emulator.bot_token, tmp_path)
    bridge = build_bridge(settings, None)
    emulator.refuse_rest = True  # answers 503, as a Mattermost that is starting up does
    stopped = threading.Event()
    threading.Timer(0.3, lambda: setattr(emulator, "refuse_rest", False)).start()
    assert wait_for_mattermost(bridge, stopped, Backoff(0.05, 0.1), attempts=200) is True
