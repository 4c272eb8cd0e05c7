"""The Apps framework surface end to end, with the apps plugin's payload shapes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.web.app_factory import create_app
from app_integration.adapters.wiring import Bridge
from tests.mattermost_payloads import apps_call, apps_headers, fixture


@pytest.fixture
def client(bridge: Bridge) -> Iterator[FlaskClient]:
    with create_app(bridge.settings, bridge).test_client() as client:
        yield client


@pytest.fixture
def channel(emulator: Any) -> str:
    return next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")


def call(client: FlaskClient, emulator: Any, username: str, path: str, channel: str, **kwargs: Any) -> Any:
    user = emulator.user(username)
    name = kwargs.pop("fixture_name", "apps_call_command.json")
    body = apps_call(name, user, channel, path=path, **kwargs)
    response = client.post(path, json=body, headers=apps_headers(user["id"]))
    assert response.status_code == 200
    return response.get_json()


def test_the_manifest_is_served_with_root_url_and_jwt(client: FlaskClient) -> None:
    manifest = client.get("/manifest.json").get_json()
    assert manifest["app_id"] == "redmine-mattermost-bridge"
    assert manifest["http"] == {"root_url": "http://bridge.test:8090", "use_jwt": True}
    assert client.get("/static/redmine.png").status_code == 200


def test_bindings_come_from_the_registry(client: FlaskClient, emulator: Any, channel: str) -> None:
    alice = emulator.user("alice")
    body = apps_call("apps_bindings_call.json", alice, channel)
    data = client.post("/bindings", json=body, headers=apps_headers(alice["id"])).get_json()
    [command] = data["data"]
    assert command["location"] == "/command"
    [top] = command["bindings"]
    assert top["label"] == "integration_with_redmine"
    paths = {b["label"]: b["submit"]["path"] for b in top["bindings"]}
    assert paths["tickets_for_me"] == "/tickets_for_me" and paths["tasks_for_me"] == "/tickets_for_me"
    assert paths["create_ticket_by_form"] == "/create_ticket_by_form" and paths["new_tasks"] == "/create_tickets"


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
    )
    assert reply["type"] == "error"
    assert set(reply["data"]["errors"]) == {"start_date", "estimated_time"}


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
    assert reply["type"] == "ok" and "Created 2 ticket(s)" in reply["text"]
    subjects = {i.subject for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject}
    assert subjects == {f"Write {tag}", f"Book {tag}"}


def test_the_original_create_issues_path_still_works(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert call(client, emulator, "alice", "/create_issues", channel)["type"] == "form"


def test_install_and_ping(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert call(client, emulator, "alice", "/install", channel)["type"] == "ok"
    assert call(client, emulator, "alice", "/ping", channel) == {"type": "ok"}
