"""Answers that take longer than Mattermost waits: through response_url, else a DM, and a dialog answered in
time while the work goes on; and a Redmine that is down, said plainly."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.mattermost.commands import classic_surface, web_context
from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import Bridge
from tests.integration.surface_support import batch_lines, issues_with, open_dialog
from tests.mattermost_payloads import dialog_submission, slash_form, slash_headers
from tests.waiting import wait_for


def test_slow_work_answers_through_response_url(
    client: FlaskClient, emulator: Any, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_context, "NEW_SERVER_DEADLINE", 0.0)
    form = slash_form(emulator.user("bob"), "tickets_for_me", channel, f"{emulator.url}/hooks/commands/{HOOK_ID}")
    reply = client.post("/slash", data=form, headers=slash_headers()).get_json()
    assert reply["text"] == classic_surface.WORKING
    wait_for(lambda: emulator.hook_replies, timeout=20)
    assert "Open tickets assigned to you" in emulator.hook_replies[-1]["text"]
    assert emulator.hook_replies[-1]["authorization"] is None  # a hook gets no token


HOOK_ID = "h" * 26


def test_a_response_url_that_fails_falls_back_to_a_dm(
    client: FlaskClient, emulator: Any, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_context, "NEW_SERVER_DEADLINE", 0.0)
    emulator.hook_status = 500
    before = len(emulator.dm_posts("bob"))
    form = slash_form(emulator.user("bob"), "tickets_for_me", channel, f"{emulator.url}/hooks/commands/{HOOK_ID}")
    assert client.post("/slash", data=form, headers=slash_headers()).get_json()["text"] == classic_surface.WORKING
    wait_for(lambda: len(emulator.dm_posts("bob")) > before + 1, timeout=20)  # the list's DM, then the answer
    assert emulator.hook_replies and "Open tickets assigned to you" in emulator.dm_posts("bob")[-1]["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/hooks/../api/v4/users/{user}/tokens",
        "/hooks/%2e%2e/api/v4/users/{user}/tokens",
        "/hooks/commands/{user}/../../../api/v4/users/{user}/tokens",
        "/hooks/commands/..%2Fapi",
        "/api/v4/users/{user}/tokens",
    ],
)
def test_a_response_url_is_only_the_exact_hook(
    client: FlaskClient, emulator: Any, channel: str, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A forged response_url aimed at the API gets nothing: the answer goes by DM, and no request reaches it."""
    monkeypatch.setattr(web_context, "NEW_SERVER_DEADLINE", 0.0)
    bob = emulator.user("bob")
    before = len(emulator.dm_posts("bob"))
    form = slash_form(bob, "tickets_for_me", channel, emulator.url + path.format(user=bob["id"]))
    assert client.post("/slash", data=form, headers=slash_headers()).get_json()["text"] == classic_surface.WORKING
    wait_for(lambda: len(emulator.dm_posts("bob")) > before + 1, timeout=20)
    assert not [r for r in emulator.requests if "tokens" in r.path or "/hooks/" in r.path]


def test_a_slow_batch_answers_its_dialog_in_time_and_reports_by_dm(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redmine stalls mid-batch: the submit answers within Mattermost's deadline, and the DM that follows says
    line by line what Redmine holds."""
    monkeypatch.setattr(classic_surface, "SUBMIT_DEADLINE", 1.0)
    create = bridge.gateway.create_issue

    def stalling(login: str, draft: Any, *rest: Any) -> Any:
        time.sleep(1.5)
        return create(login, draft, *rest)

    monkeypatch.setattr(bridge.gateway, "create_issue", stalling)
    opened = open_dialog(client, emulator, "alice", "create_tickets", channel)
    tag = uuid.uuid4().hex[:8]
    body = dialog_submission(opened, emulator.user("alice"), channel, {"option": "demo", "message": batch_lines(tag)})
    started = time.monotonic()
    assert client.post("/dialog", json=body).status_code == 200
    assert time.monotonic() - started < 1.5 + 1.0  # answered at the deadline, not after the batch
    told = [e["post"]["message"] for e in emulator.ephemerals if e["user_id"] == emulator.user("alice")["id"]]
    assert told[-1] == classic_surface.STILL_WORKING
    report = wait_for(
        lambda: [p["message"] for p in emulator.dm_posts("alice") if p["message"].startswith("Created 3 tickets")],
        timeout=30,
    )
    created = [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject]
    assert len(created) == 3 and all(f"/issues/{i.id})" in report[-1] for i in created)


def test_a_refused_result_dm_keeps_the_form_from_creating_twice(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticket is made, then the DM with it is refused: the reply still says it, and a second submit of the
    same form makes nothing more."""
    from app_integration.core.errors import ChatRefused

    def refused(*_: Any, **__: Any) -> None:
        raise ChatRefused("refused", "403 api.context.permissions.app_error")

    monkeypatch.setattr(bridge.chat, "send_direct", refused)
    opened = open_dialog(client, emulator, "alice", "create_ticket_by_form", channel)
    subject = f"Undelivered {uuid.uuid4().hex[:8]}"
    submission = {"projects": "demo", "trackers": "1", "subject": subject, "status": "1", "priority": "2"}
    body = dialog_submission(opened, emulator.user("alice"), channel, submission)
    assert client.post("/dialog", json=body).status_code == 200
    assert client.post("/dialog", json=body).status_code == 200
    assert len(issues_with(bridge, "alice", subject)) == 1


def test_redmine_down_is_a_clear_message(emulator: Any, tmp_path: Any, channel: str) -> None:
    from app_integration.adapters.runtime.wiring import build_bridge
    from tests.conftest import bridge_settings

    settings = bridge_settings(
        "http://127.0.0.1:9",
        "key",
        emulator.url,
        emulator.bot_token,
        tmp_path,
        redmine_connect_timeout=0.5,
        redmine_read_timeout=0.5,
    )
    app = create_app(settings, build_bridge(settings, None))
    with app.test_client() as down:
        form = slash_form(emulator.user("alice"), "tickets_for_me", channel)
        reply = down.post("/slash", data=form, headers=slash_headers())
    assert reply.status_code == 200
    assert "Redmine is unavailable" in reply.get_json()["text"]
