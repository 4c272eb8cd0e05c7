"""The Apps framework surface end to end, with the apps plugin's payload shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from tests.mattermost_payloads import anonymous_apps_headers, apps_call, apps_headers, bindings_call, fixture


def call(client: FlaskClient, emulator: Any, username: str, path: str, channel: str, **kwargs: Any) -> Any:
    user = emulator.user(username)
    name = kwargs.pop("fixture_name", "apps_call_command.json")
    status = kwargs.pop("status", 200)
    body = apps_call(name, user, channel, path=path, **kwargs)
    response = client.post(path, json=body, headers=apps_headers(user["id"]))
    assert response.status_code == status
    return response.get_json()


def test_the_manifest_is_served_with_root_url_and_jwt(client: FlaskClient) -> None:
    manifest = client.get("/manifest.json").get_json()
    assert manifest["app_id"] == "redmine-mattermost-bridge"
    assert manifest["http"] == {"root_url": "http://bridge.test:8090", "use_jwt": True}
    assert client.get("/static/redmine.png").status_code == 200


def test_bindings_come_from_the_registry(client: FlaskClient, emulator: Any, channel: str) -> None:
    body = bindings_call(channel)
    # The apps plugin calls /bindings without expand: no acting user in the body, none in the JWT.
    response = client.post("/bindings", json=body, headers=anonymous_apps_headers())
    assert response.status_code == 200
    command, post_menu = response.get_json()["data"]
    assert command["location"] == "/command" and post_menu["location"] == "/post_menu"
    assert [b["submit"]["path"] for b in post_menu["bindings"]] == ["/post_create_ticket", "/post_attach"]
    groups = {b["label"]: b for b in command["bindings"]}
    assert {"integration_with_redmine", "redmine", "tickets_for_me", "my_tickets", "create_tickets"} <= set(groups)
    for trigger in ("integration_with_redmine", "redmine"):  # the 2024 version's `/redmine <cmd>` too
        paths = {b["label"]: b["submit"]["path"] for b in groups[trigger]["bindings"]}
        assert paths["tickets_for_me"] == "/tickets_for_me" and paths["tasks_for_me"] == "/tickets_for_me"
        assert paths["create_ticket_by_form"] == "/create_ticket_by_form" and paths["new_tasks"] == "/create_tickets"
    assert groups["tickets_for_me"]["submit"]["path"] == "/tickets_for_me"  # the original's top-level command


def test_calls_that_never_act_accept_a_jwt_naming_nobody(client: FlaskClient, channel: str) -> None:
    for path in ("/ping", "/install", "/bindings"):
        response = client.post(path, json=bindings_call(channel), headers=anonymous_apps_headers())
        assert response.status_code == 200, path
    expired = client.post("/ping", json={}, headers=anonymous_apps_headers(expires_in=-10))
    assert expired.status_code == 401
    unsigned = client.post("/ping", json={})
    assert unsigned.status_code == 401


def test_a_call_that_acts_still_needs_its_acting_user(client: FlaskClient, emulator: Any, channel: str) -> None:
    body = bindings_call(channel)
    response = client.post("/tickets_for_me", json=body, headers=anonymous_apps_headers())
    assert response.status_code == 401


def test_the_body_cannot_rename_the_acting_user(client: FlaskClient, emulator: Any, channel: str) -> None:
    alice, bob = emulator.user("alice"), emulator.user("bob")
    body = apps_call("apps_call_command.json", alice, channel, path="/app_info")
    body["context"]["acting_user"]["username"] = "bob"
    reply = client.post("/app_info", json=body, headers=apps_headers(alice["id"])).get_json()
    assert "linked to Redmine login `alice`" in reply["text"] and "`bob`" not in reply["text"]
    assert bob["id"] not in str(reply)


def test_a_top_level_command_takes_its_argument(client: FlaskClient, emulator: Any, channel: str) -> None:
    alice = emulator.user("alice")
    tag = uuid.uuid4().hex[:8]
    body = apps_call("apps_call_command.json", alice, channel, path="/create_tickets")
    body["raw_command"] = f"/create_tickets demo\n1. Top-level {tag} @bob"
    reply = client.post("/create_tickets", json=body, headers=apps_headers(alice["id"])).get_json()
    assert reply["type"] == "ok" and "Created 1 ticket" in reply["text"], reply


def test_junk_bodies_get_400_without_a_traceback(
    client: FlaskClient, emulator: Any, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    alice = emulator.user("alice")
    for junk in (b"[1, 2]", b"[" * 100_000, b'{"context": 5}', b'{"context": {"acting_user": []}}'):
        response = client.post(
            "/app_info", data=junk, content_type="application/json", headers=apps_headers(alice["id"])
        )
        assert response.status_code == 400, junk[:20]
    assert "Traceback" not in caplog.text


def test_app_info(client: FlaskClient, emulator: Any, channel: str) -> None:
    reply = call(client, emulator, "alice", "/app_info", channel)
    assert reply["type"] == "ok" and "linked to Redmine login `alice`" in reply["text"]


def test_tickets_for_me_sends_a_dm(client: FlaskClient, emulator: Any, channel: str) -> None:
    reply = call(client, emulator, "bob", "/tickets_for_me", channel)
    assert reply["type"] == "ok" and "direct message" in reply["text"]
    assert "Open tickets assigned to you" in emulator.dm_posts("bob")[-1]["props"]["attachments"][0]["title"]


def test_the_ticket_form_and_its_submit(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    form = call(client, emulator, "alice", "/create_ticket_by_form", channel)
    assert form["type"] == "form"
    fields = {f["name"]: f for f in form["form"]["fields"]}
    values = fixture("apps_call_form_submit_create_ticket_by_form.json")["values"]
    assert set(fields) == set(values)
    assert fields["priority"]["value"] == {"label": "Normal", "value": "2"}
    state = form["form"]["submit"]["state"]
    subject = f"Apps form {uuid.uuid4().hex[:8]}"
    values.update(
        subject=subject,
        start_date=f"{dt.date.today():%d.%m.%y}",
        end_date="30.12.27",
        estimated_time="2,5",
        mattermost_user={"label": "bob", "value": emulator.user("bob")["id"]},
    )
    reply = call(
        client,
        emulator,
        "alice",
        "/create_ticket_by_form_submit",
        channel,
        fixture_name="apps_call_form_submit_create_ticket_by_form.json",
        values=values,
        state=state,
    )
    assert reply["type"] == "ok" and subject in reply["text"]
    [issue] = [i for i in bridge.gateway.authored_issues("alice", 100).issues if i.subject == subject]
    assert issue.tracker.name == "Feature" and issue.due_date == dt.date(2027, 12, 30)
    again = call(
        client,
        emulator,
        "alice",
        "/create_ticket_by_form_submit",
        channel,
        fixture_name="apps_call_form_submit_create_ticket_by_form.json",
        values=values,
        state=state,
    )
    assert again["text"] == reply["text"]
    assert len([i for i in bridge.gateway.authored_issues("alice", 100).issues if i.subject == subject]) == 1


def test_form_errors_come_back_per_field(client: FlaskClient, emulator: Any, channel: str) -> None:
    form = call(client, emulator, "alice", "/create_ticket_by_form", channel)
    values = fixture("apps_call_form_submit_create_ticket_by_form.json")["values"]
    values.update(start_date="31.02.27", estimated_time="lots", mattermost_user=None)
    reply = call(
        client,
        emulator,
        "alice",
        "/create_ticket_by_form_submit",
        channel,
        fixture_name="apps_call_form_submit_create_ticket_by_form.json",
        values=values,
        state=form["form"]["submit"]["state"],
    )
    assert reply["type"] == "error"
    assert set(reply["data"]["errors"]) == {"start_date", "estimated_time"}


def test_a_submit_needs_the_forms_own_signed_state(client: FlaskClient, emulator: Any, channel: str) -> None:
    """Anyone may call any path of the app through the Apps plugin: a submit without the state the bridge signed
    for that person and form is refused, and so is a step meant for a button (`ticket_take`)."""
    values = fixture("apps_call_form_submit_create_ticket_by_form.json")["values"]
    for state in (None, {"idempotency_key": "k", "argument": ""}, {"sig": "forged"}):
        reply = call(
            client,
            emulator,
            "alice",
            "/create_ticket_by_form_submit",
            channel,
            fixture_name="apps_call_form_submit_create_ticket_by_form.json",
            values=values,
            state=state,
            status=401,
        )
        assert reply["type"] == "error"
    taken = call(client, emulator, "alice", "/ticket_take", channel)
    assert taken["type"] == "error" and "button" in taken["text"]


def test_create_tickets_submit_with_the_fixture_values(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    form = call(client, emulator, "alice", "/create_tickets", channel)
    assert [f["name"] for f in form["form"]["fields"]] == ["option", "message"]
    tag = uuid.uuid4().hex[:8]
    values = fixture("apps_call_form_submit_create_tickets.json")["values"]
    values["message"] = (
        values["message"].replace("Write the report", f"Write {tag}").replace("Book the room", f"Book {tag}")
    )
    reply = call(
        client,
        emulator,
        "alice",
        "/create_tickets_submit",
        channel,
        fixture_name="apps_call_form_submit_create_tickets.json",
        values=values,
        state=form["form"]["submit"]["state"],
    )
    assert reply["type"] == "ok" and "Created 2 tickets" in reply["text"]
    subjects = {i.subject for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject}
    assert subjects == {f"Write {tag}", f"Book {tag}"}


def test_the_original_create_issues_path_still_works(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert call(client, emulator, "alice", "/create_issues", channel)["type"] == "form"


def test_install_and_ping(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert call(client, emulator, "alice", "/install", channel)["type"] == "ok"
    assert call(client, emulator, "alice", "/ping", channel) == {"type": "ok"}


def test_the_post_menu_opens_the_forms_for_the_post_it_was_opened_on(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    """Where the Apps framework runs, *Create a ticket* and *Add to a ticket* sit on every post's menu."""
    post = emulator.post_as("carol", channel, "The printer jams again\nOn every second page.")
    bob = emulator.user("bob")
    for path, title in (("/post_create_ticket", "Ticket from a post"), ("/post_attach", "Add to a ticket")):
        call = apps_call("apps_call_command.json", bob, channel, path=path)
        call["context"]["post"] = {"id": post["id"]}
        answer = client.post(path, json=call, headers=apps_headers(bob["id"])).get_json()
        assert answer["type"] == "form" and answer["form"]["title"] == title, answer
    hidden = emulator.add_channel("hidden-room", [emulator.bot, emulator.user("alice")], "P")
    secret = emulator.post_as("alice", hidden["id"], "not for bob")
    call = apps_call("apps_call_command.json", bob, channel, path="/post_attach")
    call["context"]["post"] = {"id": secret["id"]}
    answer = client.post("/post_attach", json=call, headers=apps_headers(bob["id"])).get_json()
    assert answer["type"] == "error" and "cannot read its channel" in answer["text"]
