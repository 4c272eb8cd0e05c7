"""Identity by Mattermost user id: the operator's map becomes links on first start, a rename keeps the link,
and a freed username gives its next holder nothing. Against the real Redmine and the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.core.models import ChatUser
from tests.conftest import RedmineInfo, bridge_settings
from tests.mattermost_payloads import slash_form, slash_headers


def app_info(client: FlaskClient, user: dict[str, Any], channel: str) -> str:
    reply = client.post("/slash", data=slash_form(user, "app_info", channel), headers=slash_headers()).get_json()
    return str(reply["text"])


def test_the_map_becomes_links_by_user_id_on_first_start(client: FlaskClient, bridge: Bridge, emulator: Any) -> None:
    links = {link.chat_user_id: link for link in bridge.store.all_links()}
    for name in ("alice", "bob", "carol"):
        link = links[emulator.user(name)["id"]]
        assert (link.redmine_login, link.method, link.map_username) == (name, "map", name)
    assert emulator.user("ghost")["id"] not in links  # no Redmine account: nothing to link
    alice = links[emulator.user("alice")["id"]]
    assert bridge.users.chat_user_for(alice.redmine_user_id) == emulator.user("alice")["id"]  # the reverse


def test_a_rename_keeps_the_link_and_the_freed_name_gives_nothing(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    alice = emulator.user("alice")
    alice["username"] = "alice.anders"  # she renames herself
    assert "linked to Redmine login `alice`" in app_info(client, alice, channel)
    newcomer = emulator.add_user("alice")  # someone else takes the freed name
    emulator.channels[channel]["members"].add(newcomer["id"])
    reply = app_info(client, newcomer, channel)
    assert "is not linked to Redmine" in reply and "`alice`" not in reply.split("not linked")[1]


def test_a_map_link_follows_the_operators_map(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, bridge: Bridge, channel: str
) -> None:
    """Editing the map still works as it always did: the stored link follows an entry changed or removed."""
    carol = emulator.user("carol")
    assert bridge.users.redmine_login(ChatUser(carol["id"], "carol")) == "carol"
    changed = bridge_settings(
        redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, user_map="alice=alice,carol=bob"
    )
    again = build_bridge(changed, None)  # a restart with the edited map, on the same store
    assert again.users.redmine_login(ChatUser(carol["id"], "carol")) == "bob"
    assert again.users.redmine_login(ChatUser(emulator.user("bob")["id"], "bob")) is None  # removed from the map
    assert again.store.link_for(emulator.user("bob")["id"]) is None
