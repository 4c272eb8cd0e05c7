"""`channel_settings` (issue 31, point 3): a channel admin sets the channel's default project, which the forms
and batches typed there start with, and how its `#t` references are linked; nobody else may."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.events import ChannelDefaults
from tests.conftest import RedmineInfo
from tests.integration.feed_support import channel_named
from tests.integration.listener_support import linked, start
from tests.integration.surface_support import slash
from tests.mattermost_payloads import dialog_submission
from tests.waiting import wait_for


def save(client: FlaskClient, emulator: Any, username: str, channel: str, **values: str) -> Any:
    count = len(emulator.dialogs)
    assert slash(client, emulator, username, "channel_settings", channel) == {}
    assert len(emulator.dialogs) == count + 1
    opened = emulator.dialogs[-1]
    return client.post("/dialog", json=dialog_submission(opened, emulator.user(username), channel, values))


def defaults_of(emulator: Any, name: str) -> dict[str, Any]:
    return {e["name"]: e.get("default") for e in emulator.dialogs[-1]["dialog"]["elements"] if e["name"] == name}


def test_only_a_channel_admin_may_and_the_forms_start_with_the_project(
    client: FlaskClient, bridge: Bridge, emulator: Any
) -> None:
    channel = channel_named(emulator, "c-" + uuid.uuid4().hex[:6])
    assert "channel admin" in slash(client, emulator, "bob", "channel_settings", channel)["text"]
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    assert save(client, emulator, "alice", channel, project="ops", link_mode="card").status_code == 200
    saved = bridge.subscriptions.channel_defaults(channel)
    assert (saved.project, saved.link_mode) == ("ops", "card")
    told = [p["message"] for p in emulator.posts_in(channel) if p["user_id"] == emulator.bot["id"]]
    assert told and told[-1].startswith("@alice changed this channel's settings: default project `ops`")

    assert slash(client, emulator, "carol", "create_tickets", channel) == {}  # the batch form
    assert defaults_of(emulator, "option") == {"option": "ops"}
    assert slash(client, emulator, "carol", "create_ticket_by_form", channel) == {}
    assert defaults_of(emulator, "projects") == {"projects": "ops"}
    other = channel_named(emulator, "d-" + uuid.uuid4().hex[:6])
    assert slash(client, emulator, "carol", "create_ticket_by_form", other) == {}
    assert defaults_of(emulator, "projects") == {"projects": None}  # another channel: nothing chosen


def test_a_project_the_admin_cannot_see_is_refused(client: FlaskClient, bridge: Bridge, emulator: Any) -> None:
    channel = channel_named(emulator, "e-" + uuid.uuid4().hex[:6], kind="P")
    emulator.channels[channel]["admins"] = {emulator.user("carol")["id"]: "channel_admin"}
    answer = save(client, emulator, "carol", channel, project="secret", link_mode="-").get_json()
    assert answer["errors"]["project"] == "Not found or not visible to you"
    assert bridge.subscriptions.channel_defaults(channel).project is None


def test_a_channel_that_turned_links_off_gets_none(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, seeded: dict[str, int]
) -> None:
    listener, bridge = start(redmine, emulator, tmp_path)
    try:
        quiet = channel_named(emulator, "q-" + uuid.uuid4().hex[:6])
        bridge.subscriptions.save_channel_defaults(quiet, ChannelDefaults(None, "off"), emulator.user("alice")["id"])
        loud = channel_named(emulator, "l-" + uuid.uuid4().hex[:6])
        hushed = emulator.post_as("alice", quiet, f"no link here #t{seeded['public']}")
        heard = emulator.post_as("alice", loud, f"a link here #t{seeded['public']}")
        wait_for(lambda: linked(emulator, heard["id"], seeded["public"]))
        wait_for(listener.settled)
        assert not linked(emulator, hushed["id"], seeded["public"])
    finally:
        listener.stop()
