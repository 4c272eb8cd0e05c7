"""Regression tests for the hardening issue, on the web surfaces: identity comes from the verified
user id only, malformed bodies get 400, buttons answer in a button's shape, and no id taken from a
request reaches a Mattermost API path unchecked."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from app_integration.adapters.mattermost.commands.request_verification import StateSigner
from app_integration.adapters.runtime.wiring import Bridge
from tests.conftest import SIGNING_KEY
from tests.mattermost_payloads import dialog_submission, slash_form, slash_headers


def open_dialog(client: FlaskClient, emulator: Any, username: str, command: str, channel: str) -> dict[str, Any]:
    before = len(emulator.dialogs)
    response = client.post(
        "/slash", data=slash_form(emulator.user(username), command, channel), headers=slash_headers()
    )
    assert response.status_code == 200 and len(emulator.dialogs) == before + 1
    opened: dict[str, Any] = emulator.dialogs[-1]
    return opened


def test_slash_acts_as_the_user_id_whatever_user_name_says(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    form = slash_form(emulator.user("alice"), f"create_tickets demo\n1. Forged {tag} @bob", channel)
    form["user_name"] = "carol"
    reply = client.post("/slash", data=form, headers=slash_headers()).get_json()
    assert "Created 1 ticket" in reply["text"], reply
    [issue] = [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject]
    assert issue.author.name == "Alice Anders"
    assert [i for i in bridge.gateway.authored_issues("carol", 100).issues if tag in i.subject] == []


def test_a_dialog_acts_as_its_user_id_and_the_state_carries_no_name(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    opened = open_dialog(client, emulator, "alice", "create_tickets", channel)
    state = StateSigner(SIGNING_KEY, 60).verify("dialog", opened["dialog"]["state"], emulator.user("alice")["id"])
    assert set(state) == {"cmd", "key", "uid", "cid", "arg"}  # who acts is the verified id, never a name
    tag = uuid.uuid4().hex[:8]
    body = dialog_submission(opened, emulator.user("alice"), channel, {"option": "demo", "message": f"Dlg {tag} @bob"})
    body["user_name"] = "carol"
    assert client.post("/dialog", json=body).status_code == 200
    [issue] = [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject]
    assert issue.author.name == "Alice Anders"


def test_an_unknown_or_malformed_user_id_is_refused(client: FlaskClient, emulator: Any, channel: str) -> None:
    for user_id in ("me", "../teams", "a" * 26):
        form = slash_form(emulator.user("alice"), "app_info", channel)
        form["user_id"] = user_id
        assert client.post("/slash", data=form, headers=slash_headers()).status_code == 401, user_id


@pytest.mark.parametrize("assignee", ["me", "../teams", "../../system/ping", "x" * 30])
def test_a_submitted_assignee_never_becomes_an_api_path(
    client: FlaskClient, emulator: Any, channel: str, assignee: str
) -> None:
    opened = open_dialog(client, emulator, "alice", "create_ticket_by_form", channel)
    submission = {
        "projects": "demo",
        "trackers": "1",
        "subject": "Path probe",
        "status": "1",
        "priority": "2",
        "mattermost_user": assignee,
    }
    before = len(emulator.requests)
    reply = client.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, submission))
    assert "mattermost_user" in reply.get_json()["errors"]
    paths = [r.path for r in emulator.requests[before:]]
    assert not any("teams" in p or p.endswith("/users/me") or "system/ping" in p for p in paths), paths


@pytest.mark.parametrize(
    ("path", "junk"),
    [
        ("/dialog", b"[1, 2, 3]"),
        ("/dialog", b"[" * 50_000 + b"]" * 50_000),
        ("/dialog", b'{"user_id": 5, "state": []}'),
        ("/dialog", b"{not json"),
        ("/actions", b'{"user_id": "x", "context": 5}'),
        ("/actions", b'"just a string"'),
    ],
)
def test_malformed_bodies_are_refused_with_no_traceback(
    client: FlaskClient, path: str, junk: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """400, but a button's answer is a 200 with text: Mattermost shows a button's answer on 200 only."""
    response = client.post(path, data=junk, content_type="application/json")
    assert response.status_code == (200 if path == "/actions" else 400)
    if path == "/actions":
        assert response.get_json()["ephemeral_text"]
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_a_well_formed_but_unsigned_click_is_refused_in_a_buttons_shape(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    body = {"user_id": emulator.user("alice")["id"], "channel_id": channel, "context": {"sig": "forged"}}
    response = client.post("/actions", json=body)
    assert response.status_code == 200 and "could not be verified" in response.get_json()["ephemeral_text"]
    assert set(response.get_json()) == {"ephemeral_text", "skip_slack_parsing"}


def test_a_button_error_comes_back_as_ephemeral_text(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    reply = client.post(
        "/slash", data=slash_form(emulator.user("erin"), "app_info", channel), headers=slash_headers()
    ).get_json()
    button = next(
        a for a in reply["attachments"][0]["actions"] if a["integration"]["context"]["action"] == "my_tickets"
    )
    body = {"user_id": emulator.user("erin")["id"], "channel_id": channel, "context": button["integration"]["context"]}
    answer = client.post("/actions", json=body).get_json()
    assert set(answer) == {"ephemeral_text", "skip_slack_parsing"} and "not linked" in answer["ephemeral_text"]


def test_a_chunked_body_over_the_cap_gets_413(client: FlaskClient, bridge: Bridge) -> None:
    """Over a real socket: a chunked body has no Content-Length for the cap to read in advance."""
    cap = bridge.settings.max_body_bytes
    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def chunks() -> Iterator[bytes]:
        for _ in range(cap // 1024 + 8):
            yield b"x" * 1024

    try:
        response = requests.post(
            f"http://127.0.0.1:{server.server_port}/dialog",
            data=chunks(),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert response.status_code == 413


def test_a_date_mid_line_is_kept_and_the_reply_counts_the_lines(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    tag = uuid.uuid4().hex[:8]
    lines = f"1. Report {tag} @bob 22.12.27 urgent\n2. Minutes {tag} @carol 23.12.27.\n3. Room {tag} @bob"
    form = slash_form(emulator.user("alice"), f"create_tickets demo\n{lines}", channel)
    reply = client.post("/slash", data=form, headers=slash_headers()).get_json()
    assert "Created 3 tickets in `demo` from the 3 lines read" in reply["text"]
    due = {i.subject: i.due_date for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject}
    assert due == {
        f"Report {tag} urgent": dt.date(2027, 12, 22),
        f"Minutes {tag}": dt.date(2027, 12, 23),
        f"Room {tag}": None,
    }


def test_a_nul_byte_is_refused_with_its_line(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    tag = uuid.uuid4().hex[:8]
    form = slash_form(
        emulator.user("alice"), f"create_tickets demo\n1. Fine {tag} @bob\n2. Bad\x00 {tag} @bob", channel
    )
    reply = client.post("/slash", data=form, headers=slash_headers()).get_json()
    assert "line 2: holds a control character" in reply["text"]
    assert [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject] == []


def test_the_lines_field_holds_every_line_the_parser_takes(client: FlaskClient, emulator: Any, channel: str) -> None:
    opened = open_dialog(client, emulator, "alice", "create_tickets", channel)
    [lines] = [e for e in opened["dialog"]["elements"] if e["name"] == "message"]
    assert lines["type"] == "textarea" and lines["max_length"] >= 100 * 255


@pytest.mark.parametrize("command", ["create_ticket_by_form", "create_tickets"])
def test_every_form_field_has_help_text(client: FlaskClient, emulator: Any, channel: str, command: str) -> None:
    opened = open_dialog(client, emulator, "alice", command, channel)
    assert all(e.get("help_text") for e in opened["dialog"]["elements"]), opened["dialog"]["elements"]
    assert emulator.spec_errors == []  # the emulator checks each dialog as the server's Dialog.IsValid does
