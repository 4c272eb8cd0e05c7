"""Subscriptions made and edited through the dialog: who may, what a public channel may follow, and an edit
that keeps what it did not change."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from mattermost_server.emulator import trigger_id
from tests.integration.feed_support import channel_named
from tests.integration.surface_support import slash
from tests.mattermost_payloads import dialog_submission


def subscribe_by_dialog(client: FlaskClient, emulator: Any, username: str, channel: str, **values: Any) -> Any:
    count = len(emulator.dialogs)
    assert slash(client, emulator, username, "subscribe", channel) == {}
    assert len(emulator.dialogs) == count + 1
    opened = emulator.dialogs[-1]
    submission = {"projects": "demo", "subprojects": True, "status": "any"}
    submission.update({f"event_{k}": True for k in ("created", "status", "note")})
    submission.update(values)
    return client.post("/dialog", json=dialog_submission(opened, emulator.user(username), channel, submission))


def test_only_a_channel_admin_may_subscribe_and_the_dialog_saves_it(
    client: FlaskClient, bridge: Bridge, emulator: Any
) -> None:
    channel = channel_named(emulator, "s-" + uuid.uuid4().hex[:6])
    refused = slash(client, emulator, "bob", "subscribe", channel)
    assert "channel admin" in refused["text"]
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    assert subscribe_by_dialog(client, emulator, "alice", channel).status_code == 200
    [saved] = bridge.subscriptions.list_subscriptions(channel)
    assert (saved.owner_id, saved.project_name, saved.events) == (
        emulator.user("alice")["id"],
        "Demo",
        frozenset({"created", "status", "note"}),
    )
    listed = slash(client, emulator, "alice", "subscriptions", channel)
    labels = [a["name"] for a in listed["attachments"][0]["actions"]]
    assert labels == [f"Edit #{saved.id}", f"Remove #{saved.id}"]
    assert "channel admin" in slash(client, emulator, "bob", f"unsubscribe {saved.id}", channel)["text"]
    assert "Removed" in slash(client, emulator, "alice", f"unsubscribe {saved.id}", channel)["text"]
    assert bridge.subscriptions.list_subscriptions(channel) == []


def test_a_public_channel_cannot_subscribe_a_project_that_is_not_public(
    client: FlaskClient, bridge: Bridge, emulator: Any
) -> None:
    channel = channel_named(emulator, "q-" + uuid.uuid4().hex[:6])
    emulator.team_admins.add(emulator.user("alice")["id"])  # a team admin may, without being a channel admin
    answer = subscribe_by_dialog(client, emulator, "alice", channel, projects="secret")
    assert "private channel" in answer.get_json()["errors"]["projects"]
    assert bridge.subscriptions.list_subscriptions(channel) == []


def test_notification_toggles_are_buttons_per_person(client: FlaskClient, bridge: Bridge, emulator: Any) -> None:
    channel = channel_named(emulator, "n-" + uuid.uuid4().hex[:6])
    shown = slash(client, emulator, "bob", "notifications", channel)
    buttons = shown["attachments"][0]["actions"]
    assert buttons[0]["name"] == "Assigned to me: on"
    body = {
        "user_id": emulator.user("bob")["id"],
        "channel_id": channel,
        "context": buttons[0]["integration"]["context"],
    }
    updated = client.post("/actions", json=body).get_json()["update"]
    assert "Assigned to me: **off**" in updated["message"]
    assert not bridge.subscriptions.prefs(emulator.user("bob")["id"]).wants("assigned")
    assert bridge.subscriptions.prefs(emulator.user("alice")["id"]).wants("assigned")


# Redmine 7 webhooks ------------------------------------------------------------------------------------------------


def open_edit_form(client: FlaskClient, emulator: Any, channel: str) -> dict[str, Any]:
    """alice clicks Edit on the channel's first subscription; the dialog that opens."""
    listed = slash(client, emulator, "alice", "subscriptions", channel)
    edit = next(a for a in listed["attachments"][0]["actions"] if a["name"].startswith("Edit"))
    body = {
        "user_id": emulator.user("alice")["id"],
        "channel_id": channel,
        "context": edit["integration"]["context"],
        "trigger_id": trigger_id(emulator.user("alice")["id"]),
    }
    assert client.post("/actions", json=body).get_json() == {}
    opened: dict[str, Any] = emulator.dialogs[-1]
    return opened


def test_a_subscription_is_edited_through_its_button(client: FlaskClient, bridge: Bridge, emulator: Any) -> None:
    channel = channel_named(emulator, "x-" + uuid.uuid4().hex[:6])
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    subscribe_by_dialog(client, emulator, "alice", channel)
    opened = open_edit_form(client, emulator, channel)
    defaults = {e["name"]: e.get("default") for e in opened["dialog"]["elements"]}
    assert (defaults["projects"], defaults["event_note"], defaults["event_priority"]) == ("demo", "true", "false")
    submission = {"projects": "demo", "subprojects": False, "status": "open", "event_priority": True}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, submission))
    assert answer.status_code == 200
    [saved] = bridge.subscriptions.list_subscriptions(channel)
    assert (saved.events, saved.open_only, saved.with_subprojects) == (frozenset({"priority"}), True, False)


@pytest.mark.parametrize("who", ["mine", "bob"])
def test_saving_an_unchanged_subscription_keeps_its_assignee_filter(
    client: FlaskClient, bridge: Bridge, emulator: Any, who: str
) -> None:
    """The edit form shows the filter ("only mine", or the person), so saving it as shown changes nothing."""
    bridge.users.sync_map(bridge.chat)
    channel = channel_named(emulator, "f-" + uuid.uuid4().hex[:6])
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    chosen = {"mine": True} if who == "mine" else {"assignee": emulator.user("bob")["id"]}
    assert subscribe_by_dialog(client, emulator, "alice", channel, **chosen).status_code == 200
    [before] = bridge.subscriptions.list_subscriptions(channel)
    assert before.assignee_id is not None
    opened = open_edit_form(client, emulator, channel)
    as_shown = {e["name"]: e.get("default") for e in opened["dialog"]["elements"]}
    submission = {k: (v == "true" if v in ("true", "false") else v) for k, v in as_shown.items() if v is not None}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, submission))
    assert answer.status_code == 200
    [after] = bridge.subscriptions.list_subscriptions(channel)
    assert after.assignee_id == before.assignee_id and after.events == before.events
