"""Self-service linking against the real Redmine: by email with a confirm button, by a personal API key kept
encrypted and dropped once Redmine refuses it; every step for the person who clicked, and nobody else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from mattermost_server.emulator import trigger_id
from tests.conftest import RedmineInfo, bridge_settings
from tests.mattermost_payloads import dialog_submission, refused_click, slash_form, slash_headers


@pytest.fixture(autouse=True)
def vouching_server(emulator: Any) -> None:
    """These tests run against a server that verifies every change of address (not the default): there,
    Mattermost vouches for a verified address, and linking by email works."""
    emulator.require_email_verification = True


@pytest.fixture
def frank(emulator: Any, channel: str) -> dict[str, Any]:
    """In Redmine, but in no operator map: he links himself."""
    user = emulator.add_user("frank")
    emulator.channels[channel]["members"].add(user["id"])
    return user


def slash(client: FlaskClient, user: dict[str, Any], text: str, channel: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.post(
        "/slash", data=slash_form(user, text, channel), headers=slash_headers()
    ).get_json()
    return answer


def buttons(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    attachments = answer.get("attachments") or answer.get("update", {}).get("props", {}).get("attachments", [])
    return {a["name"]: a for attachment in attachments for a in attachment["actions"]}


def click(client: FlaskClient, user: dict[str, Any], button: dict[str, Any], channel: str) -> Any:
    body = {
        "user_id": user["id"],
        "channel_id": channel,
        "context": button["integration"]["context"],
        "trigger_id": trigger_id(user["id"]),
    }
    return client.post("/actions", json=body)


def set_status(redmine: RedmineInfo, user_id: int, status: int) -> None:
    requests.put(
        f"{redmine.url}/users/{user_id}.json",
        json={"user": {"status": status}},
        headers={"X-Redmine-API-Key": redmine.admin_key},
        timeout=10,
    ).raise_for_status()


def test_link_by_email_after_a_confirm(
    client: FlaskClient,
    emulator: Any,
    bridge: Bridge,
    channel: str,
    frank: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    assert "not linked" in slash(client, frank, "tickets_for_me", channel)["text"]
    offer = buttons(slash(client, frank, "connect", channel))
    assert set(offer) == {"Link by my email", "Enter my Redmine API key"}
    preview = click(client, frank, offer["Link by my email"], channel).get_json()
    assert preview["update"]["message"] == "Link to Redmine user Frank Free (frank)?"
    done = click(client, frank, buttons(preview)["Confirm"], channel).get_json()
    assert done["update"] == {
        "message": "Linked: Redmine login `frank`, by your matching email.",
        "props": {"attachments": []},
    }
    link = bridge.store.link_for(frank["id"])
    assert link is not None and (link.redmine_login, link.method, link.sealed_key) == ("frank", "email", None)
    assert "by your matching email; Redmine accepts it" in slash(client, frank, "whoami", channel)["text"]
    assert "assigned to you" in slash(client, frank, "tickets_for_me", channel)["text"]  # acted as frank
    assert "Unlinked" in slash(client, frank, "disconnect", channel)["text"]
    assert bridge.store.link_for(frank["id"]) is None
    assert frank["email"] not in caplog.text  # no address in any log line


def test_a_key_dialog_opened_for_one_person_links_no_one_else(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, frank: dict[str, Any], redmine: RedmineInfo
) -> None:
    click(client, frank, buttons(slash(client, frank, "connect", channel))["Enter my Redmine API key"], channel)
    opened = emulator.dialogs[-1]
    bob = emulator.user("bob")
    forged = dialog_submission(opened, bob, channel, {"api_key": redmine.seed["frank_key"]})  # frank's state
    assert client.post("/dialog", json=forged).status_code == 401
    bob_link = bridge.store.link_for(bob["id"])
    assert bob_link is not None and (bob_link.redmine_login, bob_link.method) == ("bob", "map")


def test_the_apps_surface_says_where_the_buttons_are(client: FlaskClient, emulator: Any, channel: str) -> None:
    from tests.mattermost_payloads import apps_call, apps_headers

    erin = emulator.user("erin")
    body = apps_call("apps_call_command.json", erin, channel, path="/connect")
    reply = client.post("/connect", json=body, headers=apps_headers(erin["id"])).get_json()
    assert reply["type"] == "ok" and "`/integration_with_redmine connect`" in reply["text"]


def test_an_address_two_accounts_share_is_never_matched(client: FlaskClient, emulator: Any, channel: str) -> None:
    twin = emulator.add_user("twin")
    twin["email"] = "twins@example.org"
    answer = click(client, twin, buttons(slash(client, twin, "connect", channel))["Link by my email"], channel)
    assert "Several Redmine accounts share your email address" in answer.get_json()["ephemeral_text"]


def test_no_one_can_use_another_persons_buttons(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, frank: dict[str, Any]
) -> None:
    preview = click(client, frank, buttons(slash(client, frank, "connect", channel))["Link by my email"], channel)
    confirm = buttons(preview.get_json())["Confirm"]
    bob = emulator.user("bob")
    assert refused_click(click(client, bob, confirm, channel))  # signed for frank alone
    assert bridge.store.link_for(frank["id"]) is None
    bob_link = bridge.store.link_for(bob["id"])
    assert bob_link is not None and bob_link.redmine_login == "bob"  # untouched


def test_a_hidden_email_is_not_guessed(client: FlaskClient, emulator: Any, channel: str, frank: dict[str, Any]) -> None:
    emulator.show_email_address = False
    emulator.bot["roles"] = "system_user"
    answer = click(client, frank, buttons(slash(client, frank, "connect", channel))["Link by my email"], channel)
    assert "does not show the bridge your email" in answer.get_json()["ephemeral_text"]


def test_a_personal_key_links_acts_and_goes_once_redmine_refuses_it(
    client: FlaskClient,
    emulator: Any,
    bridge: Bridge,
    channel: str,
    frank: dict[str, Any],
    redmine: RedmineInfo,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = redmine.seed["frank_key"]
    assert (
        click(
            client, frank, buttons(slash(client, frank, "connect", channel))["Enter my Redmine API key"], channel
        ).get_json()
        == {}
    )
    opened = emulator.dialogs[-1]
    [field] = opened["dialog"]["elements"]
    assert field["subtype"] == "password"
    wrong = client.post("/dialog", json=dialog_submission(opened, frank, channel, {"api_key": "0" * 40}))
    assert wrong.get_json()["errors"] == {"api_key": "Redmine does not accept this key"}
    assert client.post("/dialog", json=dialog_submission(opened, frank, channel, {"api_key": key})).status_code == 200
    link = bridge.store.link_for(frank["id"])
    assert link is not None and link.method == "key" and link.sealed_key and key not in link.sealed_key
    assert "assigned to you" in slash(client, frank, "tickets_for_me", channel)["text"]  # acted as frank
    set_status(redmine, redmine.seed["users"]["frank"], 3)  # locked: Redmine refuses his key from now on
    try:
        for _ in range(2):
            slash(client, frank, "tickets_for_me", channel)
        refused = [p for p in emulator.dm_posts("frank") if "refused your personal API key" in p["message"]]
        assert len(refused) == 1  # one DM, not one per failed call
        assert bridge.store.link_for(frank["id"]) is None
    finally:
        set_status(redmine, redmine.seed["users"]["frank"], 1)
    assert key not in caplog.text


def test_with_impersonation_off_only_personal_keys_act(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, channel: str
) -> None:
    settings = bridge_settings(
        redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, redmine_impersonation=False
    )
    with create_app(settings, build_bridge(settings, None)).test_client() as client:
        answer = slash(client, emulator.user("alice"), "tickets_for_me", channel)
    assert "acts only with personal API keys" in answer["text"]


def test_redmine_answers_a_locked_accounts_key_as_anonymous(redmine: RedmineInfo) -> None:
    """Why the bridge confirms a personal key with /users/current.json: elsewhere, a refused key is not a 401."""
    headers = {"X-Redmine-API-Key": redmine.seed["frank_key"]}
    set_status(redmine, redmine.seed["users"]["frank"], 3)
    try:
        listing = requests.get(f"{redmine.url}/issues.json", headers=headers, timeout=10)
        current = requests.get(f"{redmine.url}/users/current.json", headers=headers, timeout=10)
    finally:
        set_status(redmine, redmine.seed["users"]["frank"], 1)
    assert listing.status_code == 200 and current.status_code == 401


def test_operators_list_links_and_rotate_keys(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, frank: dict[str, Any], redmine: RedmineInfo
) -> None:
    import io

    from cryptography.fernet import Fernet
    from pydantic import SecretStr

    from app_integration.adapters.runtime.operator_commands import list_users, rotate_keys
    from tests.conftest import LINK_KEY

    click(client, frank, buttons(slash(client, frank, "connect", channel))["Enter my Redmine API key"], channel)
    opened = emulator.dialogs[-1]
    client.post("/dialog", json=dialog_submission(opened, frank, channel, {"api_key": redmine.seed["frank_key"]}))
    slash(client, emulator.user("erin"), "tickets_for_me", channel)  # erin is in no map and has no link
    out = io.StringIO()
    assert list_users(bridge.settings, None, out) == 0
    text = out.getvalue()
    assert "frank" in text and "by key" in text and "@erin" in text and redmine.seed["frank_key"] not in text
    newest = Fernet.generate_key().decode()
    settings = bridge.settings.model_copy(update={"link_encryption_keys": SecretStr(f"{newest},{LINK_KEY}")})
    assert rotate_keys(settings, None, io.StringIO()) == 0
    sealed = bridge.store.link_for(frank["id"]).sealed_key  # type: ignore[union-attr]
    assert Fernet(newest.encode()).decrypt(sealed.encode()).decode() == redmine.seed["frank_key"]  # type: ignore[union-attr]


def offer_email_link(client: FlaskClient, user: dict[str, Any], channel: str) -> str:
    answer = click(client, user, buttons(slash(client, user, "connect", channel))["Link by my email"], channel)
    return str(answer.get_json().get("ephemeral_text") or answer.get_json())


@pytest.mark.parametrize("sign_in", ["", "email"])
def test_an_address_mattermost_does_not_vouch_for_links_no_one(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, sign_in: str
) -> None:
    """Typing the Redmine admin's address into one's profile once linked that account as `admin`."""
    mallory = emulator.add_user("mallory")
    emulator.channels[channel]["members"].add(mallory["id"])
    mallory.update(email="frank@example.org", email_verified=False, auth_service=sign_in)
    assert "has not verified your email address" in offer_email_link(client, mallory, channel)
    mallory["email_verified"] = True
    emulator.require_email_verification = False  # the server's default: a change of address is not verified
    assert "without verifying it" in offer_email_link(client, mallory, channel)
    assert bridge.store.link_for(mallory["id"]) is None


def test_a_directory_sign_in_is_vouched_for_even_where_changes_are_not_verified(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str, frank: dict[str, Any]
) -> None:
    emulator.require_email_verification = False
    frank["auth_service"] = "ldap"  # the address comes from the directory; nobody types it
    assert "Link to Redmine user Frank Free (frank)?" in offer_email_link(client, frank, channel)


def test_a_redmine_administrator_is_never_linked_by_email(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    root = emulator.add_user("root")
    emulator.channels[channel]["members"].add(root["id"])
    root["email"] = "admin@example.net"  # the seeded Redmine admin's, verified and vouched for
    assert "administrator is never linked by email" in offer_email_link(client, root, channel)
    assert bridge.store.link_for(root["id"]) is None


def test_one_redmine_account_one_person(
    client: FlaskClient,
    emulator: Any,
    bridge: Bridge,
    channel: str,
    frank: dict[str, Any],
    redmine: RedmineInfo,
    tmp_path: Path,
) -> None:
    """frank stores his key; frank2 (same address) tries to link the same account by email and is refused, and
    frank hears of it. A key left linked twice from before serves only the person who stored it."""
    click(client, frank, buttons(slash(client, frank, "connect", channel))["Enter my Redmine API key"], channel)
    body = dialog_submission(emulator.dialogs[-1], frank, channel, {"api_key": redmine.seed["frank_key"]})
    assert client.post("/dialog", json=body).status_code == 200
    twin = emulator.add_user("frank2")
    emulator.channels[channel]["members"].add(twin["id"])
    twin["email"] = frank["email"]
    preview = click(client, twin, buttons(slash(client, twin, "connect", channel))["Link by my email"], channel)
    confirm = click(client, twin, buttons(preview.get_json())["Confirm"], channel)
    assert "linked to another Mattermost account already" in str(confirm.get_json())
    assert bridge.store.link_for(twin["id"]) is None
    assert any("tried to link your Redmine account" in p["message"] for p in emulator.dm_posts("frank"))

    # A second link made before this rule: with impersonation off, frank2 gets no use of frank's key.
    from app_integration.core.models import UserLink

    held = bridge.store.link_for(frank["id"])
    assert held is not None
    bridge.store.save_link(UserLink(twin["id"], held.redmine_user_id, "frank", "email", held.linked_at))
    settings = bridge_settings(
        redmine.url, redmine.admin_key, emulator.url, emulator.bot_token, tmp_path, redmine_impersonation=False
    )
    with create_app(settings, build_bridge(settings, None)).test_client() as keyless:
        assert "acts only with personal API keys" in slash(keyless, twin, "tickets_for_me", channel)["text"]
        assert "assigned to you" in slash(keyless, frank, "tickets_for_me", channel)["text"]
    import io

    from app_integration.adapters.runtime.operator_commands import list_users

    listing = io.StringIO()
    assert list_users(bridge.settings, None, listing) == 0
    assert "SHARED by 2 accounts" in listing.getvalue()


def test_a_step_button_is_bound_to_the_post_it_was_put_on(
    client: FlaskClient, emulator: Any, channel: str, frank: dict[str, Any], bridge: Bridge
) -> None:
    """A flow's next buttons replace the post the click came from, so they are signed for that post too: the
    Confirm button replayed from another post is refused."""
    shown_on, elsewhere = "p" * 26, "q" * 26
    offer = buttons(slash(client, frank, "connect", channel))["Link by my email"]
    first = {**click_body(frank, offer, channel), "post_id": shown_on}
    confirm = buttons(client.post("/actions", json=first).get_json())["Confirm"]
    replayed = {**click_body(frank, confirm, channel), "post_id": elsewhere}
    assert refused_click(client.post("/actions", json=replayed))
    assert bridge.store.link_for(frank["id"]) is None
    right = {**click_body(frank, confirm, channel), "post_id": shown_on}
    assert "Linked: Redmine login `frank`" in str(client.post("/actions", json=right).get_json())


def click_body(user: dict[str, Any], button: dict[str, Any], channel: str) -> dict[str, Any]:
    return {
        "user_id": user["id"],
        "channel_id": channel,
        "context": button["integration"]["context"],
        "trigger_id": trigger_id(user["id"]),
    }
