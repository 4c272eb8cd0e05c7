"""Prometheus metrics: their names and labels, that work moves them, and that `/metrics` shows them only to a
scraper holding METRICS_TOKEN (or on loopback), summed over gunicorn's workers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from app_integration.adapters import metrics
from app_integration.adapters.runtime import listener_process
from app_integration.adapters.runtime.update_runner import UpdateRunner
from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import Bridge
from app_integration.adapters.store.leadership import Leadership
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.core.events import Delivery
from mattermost_server.emulator import new_id
from tests.conftest import LINK_KEY, SIGNING_KEY, SLASH_TOKEN, USER_MAP, RedmineInfo
from tests.mattermost_payloads import slash_form, slash_headers
from tests.metric_samples import sample

TOKEN = "metrics-token-" + "m" * 20
# Every metric the README promises, with its labels.
EXPECTED = {
    "bridge_commands": ("command", "surface", "outcome"),
    "bridge_command_seconds": ("command", "surface"),
    "bridge_redmine_calls": ("kind", "status"),
    "bridge_redmine_call_seconds": ("kind",),
    "bridge_redmine_bound_wait_seconds": (),
    "bridge_redmine_calls_in_flight": (),
    "bridge_redmine_call_window": (),
    "bridge_outbox_depth": (),
    "bridge_outbox_oldest_age_seconds": (),
    "bridge_outbox_delivered": (),
    "bridge_outbox_retries": (),
    "bridge_outbox_drops": ("reason",),
    "bridge_feed_lag_seconds": (),
    "bridge_feed_cycle_events": (),
    "bridge_feed_cycle_seconds": (),
    "bridge_feed_cycle_redmine_calls": (),
    "bridge_leader": (),
    "bridge_leader_epoch": (),
    "bridge_leader_takeovers": (),
    "bridge_listener_reconnects": (),
    "bridge_listener_resumes": ("how",),
    "bridge_listener_backfilled_posts": (),
    "bridge_web_work_waiting": (),
    "bridge_web_work_refused": (),
}


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_every_metric_is_exposed_with_its_labels() -> None:
    found = families(metrics.exposition().decode())
    assert set(EXPECTED) <= set(found), set(EXPECTED) - set(found)
    defined = {
        value._name.removesuffix("_total"): tuple(value._labelnames)
        for value in vars(metrics).values()
        if hasattr(value, "_labelnames") and hasattr(value, "_name")
    }
    assert defined == EXPECTED


def test_metrics_are_not_served_without_a_token(client: Any) -> None:
    assert client.get("/metrics").status_code == 404


def test_a_scraper_needs_the_token_and_a_command_moves_its_counters(
    bridge: Bridge, emulator: Any, channel: str
) -> None:
    settings = bridge.settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    with create_app(settings, bridge).test_client() as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401  # no scheme
        before = families(scrape(client))
        answered = client.post(
            "/slash", data=slash_form(emulator.user("alice"), "app_info", channel), headers=slash_headers()
        )
        assert answered.status_code == 200
        after = families(scrape(client))
    ok = {"command": "app_info", "surface": "slash", "outcome": "ok"}
    assert value(after, "bridge_commands", ok) == value(before, "bridge_commands", ok) + 1
    timed = {"command": "app_info", "surface": "slash"}
    assert (
        value(after, "bridge_command_seconds", timed, "_count")
        == value(before, "bridge_command_seconds", timed, "_count") + 1
    )
    read = {"kind": "read", "status": "200"}
    assert value(after, "bridge_redmine_calls", read) > value(before, "bridge_redmine_calls", read)


def scrape(client: Any) -> str:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return str(answer.get_data(as_text=True))


def value(found: dict[str, Any], family: str, labels: dict[str, str], suffix: str = "_total") -> float:
    if family not in found:
        return 0.0
    name = family + suffix
    return sum(s.value for s in found[family].samples if s.name == name and s.labels == labels)


def test_a_refused_command_counts_as_its_error(client: Any, emulator: Any, channel: str) -> None:
    """erin has no Redmine account mapped: the command answers with a message, and counts as NotMapped."""
    before = sample("bridge_commands_total", command="tickets_for_me", surface="slash", outcome="NotMapped")
    client.post("/slash", data=slash_form(emulator.user("erin"), "tickets_for_me", channel), headers=slash_headers())
    after = sample("bridge_commands_total", command="tickets_for_me", surface="slash", outcome="NotMapped")
    assert after == before + 1


def test_the_outbox_and_the_feed_report_their_rounds(bridge: Bridge, emulator: Any) -> None:
    alice = emulator.user("alice")
    runner = UpdateRunner(bridge, 0)
    runner.poll()  # the feed's first cycle marks where it starts
    assert sample("bridge_feed_lag_seconds") >= 0
    cycles = sample("bridge_feed_cycle_seconds_count")
    runner.poll()
    assert sample("bridge_feed_cycle_seconds_count") == cycles + 1
    assert sample("bridge_feed_cycle_redmine_calls_sum") > 0
    # The server answers a post into a channel it does not know with 403, as into one the bot is not in:
    # api4/post.go checks create_post on the channel before anything else.
    sent, refused = sample("bridge_outbox_delivered_total"), sample("bridge_outbox_drops_total", reason="not_allowed")
    bridge.outbox.enqueue(
        [
            Delivery(f"m:{new_id()}", f"dm:{alice['id']}", 1, "a DM for alice"),
            Delivery(f"m:{new_id()}", new_id(), 1, "into a channel that does not exist", "card"),
        ]
    )
    runner.deliver()
    assert sample("bridge_outbox_delivered_total") == sent + 1
    assert sample("bridge_outbox_drops_total", reason="not_allowed") == refused + 1
    assert sample("bridge_outbox_depth") == 0 and sample("bridge_outbox_oldest_age_seconds") == 0


def test_leading_sets_the_leader_gauges(tmp_path: Path) -> None:
    store = BridgeStore(f"sqlite:///{tmp_path / 'lead.sqlite3'}", 24)
    store.migrate()
    lead = Leadership(store.engine, "listener", lease_seconds=10)
    takeovers = sample("bridge_leader_takeovers_total")
    assert listener_process._wait_for_the_lead(lead, threading.Event())
    assert sample("bridge_leader") == 1 and sample("bridge_leader_epoch") == lead.epoch >= 1
    assert sample("bridge_leader_takeovers_total") == takeovers + 1
    lead.release()


def test_gunicorn_workers_add_up_and_the_loopback_port_needs_no_token(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, channel: str
) -> None:
    """Two workers, each answering some of the commands: /metrics shows their sum (multiprocess mode), on the
    bind address with the token and on METRICS_PORT without one."""
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "REDMINE_URL": redmine.url,
        "ADMIN_REDMINE_KEY_API": redmine.admin_key,
        "MATTERMOST_URL": emulator.url,
        "REDMINE_MATTERMOST_BRIDGE_APP_TOKEN": emulator.bot_token,
        "MATTERMOST_SLASH_TOKENS": SLASH_TOKEN,
        "REQUEST_SIGNING_KEY": SIGNING_KEY,
        "LINK_ENCRYPTION_KEYS": LINK_KEY,
        "USER_MAP": USER_MAP,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}",
        "PYTHON_BOT_APP_PORT": str(port),
        "BIND_HOST": "127.0.0.1",
        "WEB_WORKERS": "2",
        "WEB_THREADS": "2",
        "METRICS_TOKEN": TOKEN,
        "METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "samples"),
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app_integration", "--env-file", os.devnull, "serve"],  # the environment alone
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", server)
        session = requests.Session()
        for _ in range(8):
            form = slash_form(emulator.user("alice"), "app_info", channel)
            # A new connection each time, so both workers take some.
            assert requests.post(f"{url}/slash", data=form, headers=slash_headers(), timeout=30).ok
        by_token = session.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        loopback = session.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert session.get(f"{url}/metrics", timeout=10).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
    ok = {"command": "app_info", "surface": "slash", "outcome": "ok"}
    for text in (by_token.text, loopback.text):
        assert value(families(text), "bridge_commands", ok) == 8
    pids = {p.name.split("_")[-1] for p in (tmp_path / "samples").glob("counter_*.db")}
    assert len(pids) >= 1


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail("serve exited: " + (server.stderr.read(3000).decode() if server.stderr else ""))
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.RequestException:
            time.sleep(0.2)
    pytest.fail("serve did not answer within 60 s")
