"""A form must open before its trigger_id expires: 3 s on Mattermost 7.x and 8.x, the integration timeout
(30 s by default) from 9.0. The bridge reads the server's version and keeps to the right deadline, on the
slash path and on a button's."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.mattermost.commands import classic_surface
from app_integration.adapters.runtime.wiring import Bridge
from mattermost_server.emulator import trigger_id
from tests.mattermost_payloads import slash_form, slash_headers
from tests.waiting import wait_for

SLOW = 3.3  # seconds Redmine takes to list projects: past a 3 s trigger, well within 30 s


@pytest.fixture
def slow_redmine(bridge: Bridge, monkeypatch: pytest.MonkeyPatch) -> None:
    visible = bridge.gateway.visible_projects

    def slowly(login: str) -> Any:
        time.sleep(SLOW)
        return visible(login)

    monkeypatch.setattr(bridge.gateway, "visible_projects", slowly)


def late_notices(emulator: Any, username: str) -> list[str]:
    return [p["message"] for p in emulator.dm_posts(username) if p["message"] == classic_surface.FORM_TOO_LATE]


def test_on_8x_a_slow_form_says_so_instead_of_failing_silently(
    client: FlaskClient, emulator: Any, channel: str, slow_redmine: None
) -> None:
    emulator.version = "8.1.4"
    form = slash_form(emulator.user("alice"), "create_tickets", channel)
    reply = client.post("/slash", data=form, headers=slash_headers()).get_json()
    assert reply["text"] == classic_surface.WORKING
    wait_for(lambda: late_notices(emulator, "alice"), timeout=15)
    assert emulator.dialogs == [] and emulator.expired_triggers == []


def test_on_9x_the_same_form_still_opens(client: FlaskClient, emulator: Any, channel: str, slow_redmine: None) -> None:
    """Answered within 2 s ("working on it"), and the form opens when it is ready: the trigger lives 30 s."""
    emulator.version = "9.11.6"
    form = slash_form(emulator.user("alice"), "create_tickets", channel)
    assert client.post("/slash", data=form, headers=slash_headers()).get_json()["text"] == classic_surface.WORKING
    wait_for(lambda: emulator.dialogs, timeout=15)
    assert len(emulator.dialogs) == 1 and emulator.expired_triggers == [] and not late_notices(emulator, "alice")


def test_a_button_form_keeps_the_deadline_too(
    client: FlaskClient, emulator: Any, channel: str, bridge: Bridge, slow_redmine: None
) -> None:
    emulator.version = "8.1.4"
    reply = client.post(
        "/slash", data=slash_form(emulator.user("bob"), "app_info", channel), headers=slash_headers()
    ).get_json()
    actions = reply["attachments"][0]["actions"]
    button = next(a for a in actions if a["integration"]["context"]["action"] == "create_tickets")
    body = {
        "user_id": emulator.user("bob")["id"],
        "channel_id": channel,
        "context": button["integration"]["context"],
        "trigger_id": trigger_id(emulator.user("bob")["id"]),
    }
    answer = client.post("/actions", json=body).get_json()
    assert answer["ephemeral_text"] == classic_surface.WORKING  # answered without waiting for Redmine
    wait_for(lambda: late_notices(emulator, "bob"), timeout=15)
    assert emulator.dialogs == [] and emulator.expired_triggers == []


@pytest.mark.parametrize(("site", "trusted"), [("localhost", True), ("evil.localhost.example", False)])
def test_late_answers_go_to_the_site_urls_hooks_and_no_other_host(
    client: FlaskClient, emulator: Any, channel: str, monkeypatch: pytest.MonkeyPatch, site: str, trusted: bool
) -> None:
    """Mattermost builds response_url from its Site URL, which behind a proxy is not MATTERMOST_URL."""
    from app_integration.adapters.mattermost.commands import web_context

    monkeypatch.setattr(web_context, "NEW_SERVER_DEADLINE", 0.0)
    port = emulator.url.rsplit(":", 1)[1]
    emulator.site_url = f"http://localhost:{port}"
    hook = f"http://{site}:{port}/hooks/commands/{'k' * 26}"
    form = slash_form(emulator.user("bob"), "tickets_for_me", channel, hook)
    assert client.post("/slash", data=form, headers=slash_headers()).get_json()["text"] == classic_surface.WORKING
    if trusted:
        wait_for(lambda: emulator.hook_replies)
        assert "Open tickets assigned to you" in emulator.hook_replies[-1]["text"]
    else:
        wait_for(lambda: any("Open tickets assigned to you" in p["message"] for p in emulator.dm_posts("bob")))
        assert emulator.hook_replies == []
