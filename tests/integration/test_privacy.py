"""Whose eyes, against the real Redmine: who owns a subscription, what a private channel's post becomes, what a
channel may be shown of a ticket, and where a signed form may be submitted. Every rule is checked in what
Redmine answered (core/privacy.py states them)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import requests
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.updates.change_feed import poll_once
from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine, channel_named, cycle, texts
from tests.integration.surface_support import click, slash
from tests.integration.test_posts_into_tickets import TEXT_FILE, attachments_of, post_with_files
from tests.integration.test_subscription_dialogs import subscribe_by_dialog
from tests.integration.test_ticket_cards import buttons
from tests.mattermost_payloads import apps_call, apps_headers, dialog_submission, fixture


def admin_issue(redmine: RedmineInfo, issue_id: int) -> dict[str, Any]:
    found: dict[str, Any] = requests.get(
        f"{redmine.url}/issues/{issue_id}.json", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=15
    ).json()["issue"]
    return found


# 1. Whoever saves a subscription owns it ------------------------------------------------------------------------
def test_whoever_saves_a_subscription_owns_it_and_the_channel_is_told(
    client: FlaskClient, bridge: Bridge, emulator: Any, redmine: RedmineInfo
) -> None:
    """alice (Manager in demo) sees its private tickets; bob (Developer) does not. bob, a channel admin, edits
    alice's subscription: from then on the channel hears what bob may see, never a private ticket of alice's."""
    tag = uuid.uuid4().hex[:6]
    room = channel_named(emulator, f"eyes-{tag}", kind="P")
    emulator.channels[room]["admins"] = {emulator.user(n)["id"]: "channel_admin" for n in ("alice", "bob")}
    assert subscribe_by_dialog(client, emulator, "alice", room, event_created=True).status_code == 200
    [saved] = bridge.subscriptions.list_subscriptions(room)
    assert saved.owner_id == emulator.user("alice")["id"]

    assert slash(client, emulator, "bob", f"subscribe {saved.id}", room) == {}
    opened = emulator.dialogs[-1]
    assert "@alice" in opened["dialog"]["introduction_text"]  # saving makes it bob's, and the form says so
    submission = {"projects": "demo", "status": "any", "event_created": True}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user("bob"), room, submission))
    assert answer.status_code == 200 and not (answer.get_json() or {}).get("errors")
    [edited] = bridge.subscriptions.list_subscriptions(room)
    assert edited.owner_id == emulator.user("bob")["id"]
    told = texts(emulator, room)[-1]
    assert told.startswith(f"@bob changed this channel's subscription #{saved.id}") and "Demo" in told
    listed = slash(client, emulator, "alice", "subscriptions", room)["text"]
    assert "as @bob sees it" in listed

    bridge.users.sync_map(bridge.chat)
    poll_once(bridge.services, bridge.store)
    time.sleep(1.05)  # Redmine's clock has whole seconds: the changes below come after the feed's cursor
    hidden = f"Alice's private plan {tag}"
    shown = f"Everyone's plan {tag}"
    Redmine(redmine).create("alice", "demo", hidden, is_private=True, assigned_to_id=Redmine(redmine).user_id("alice"))
    Redmine(redmine).create("alice", "demo", shown)
    cycle(bridge)
    heard = "\n".join(texts(emulator, room))
    assert shown in heard and hidden not in heard


# 2. A private channel's post waits for Redmine's word that the ticket is private --------------------------------
def _form_from_post(client: FlaskClient, emulator: Any, person: str, room: str, post_id: str) -> dict[str, Any]:
    assert slash(client, emulator, person, f"create_ticket_by_form {post_id}", room) == {}
    opened: dict[str, Any] = emulator.dialogs[-1]
    return opened


def test_a_private_channels_post_goes_in_only_once_redmine_shows_the_ticket_private(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    """bob's Developer role may make his own tickets private, but the company's workflow makes Private read-only
    for Developers in New, and Redmine drops it without a word: the post's text and file never reach Redmine,
    and the neutral ticket made to ask is withdrawn. alice (Manager) gets the private ticket with both."""
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"board-{tag}", kind="P")
    post = post_with_files(emulator, room, "carol", f"Salary plan {tag}", {"salaries.txt": TEXT_FILE})
    values = {"projects": "handbook", "trackers": "1", "subject": f"Salaries {tag}", "status": "1", "priority": "2"}
    values["description"] = f"Secret numbers {tag}"
    rm = Redmine(company_redmine)

    opened = _form_from_post(company_client, emulator, "bob", room, post["id"])
    user = emulator.user("bob")
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, values)).get_json() or {}
    assert "did not keep the ticket private" in answer["errors"]["visible_ok"], answer
    assert rm.search(f"Salaries {tag}") == []
    newest = rm._call("admin", "GET", "/issues.json?project_id=handbook&status_id=*&sort=id:desc&limit=5")["issues"]
    assert all(tag not in (i["subject"] + str(i.get("description"))) for i in newest)
    assert not [i for i in newest if i["subject"] == "A ticket from Mattermost"], "the neutral ticket was left"

    opened = _form_from_post(company_client, emulator, "alice", room, post["id"])
    user = emulator.user("alice")
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, values)).get_json() or {}
    assert not answer.get("errors"), answer
    issue = rm.find(f"Salaries {tag}")
    shown = admin_issue(company_redmine, issue)
    assert shown["is_private"] is True and tag in shown["description"]
    assert attachments_of(company_redmine, issue) == {"salaries.txt": TEXT_FILE}


def test_a_person_who_agreed_gets_the_public_ticket_with_the_post(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"ok-{tag}", kind="P")
    post = post_with_files(emulator, room, "carol", f"Poster {tag}", {"poster.txt": TEXT_FILE})
    values = {"projects": "handbook", "trackers": "1", "subject": f"Poster {tag}", "status": "1", "priority": "2"}
    values["visible_ok"] = True  # type: ignore[assignment]
    opened = _form_from_post(company_client, emulator, "bob", room, post["id"])
    answer = company_client.post("/dialog", json=dialog_submission(opened, emulator.user("bob"), room, values))
    assert not (answer.get_json() or {}).get("errors")
    issue = Redmine(company_redmine).find(f"Poster {tag}")
    assert admin_issue(company_redmine, issue)["is_private"] is False
    assert attachments_of(company_redmine, issue) == {"poster.txt": TEXT_FILE}


# 3. "A public project" is not "everyone" -----------------------------------------------------------------------
def _share(client: FlaskClient, emulator: Any, room: str, issue_id: int) -> str:
    card = slash(client, emulator, "alice", f"ticket {issue_id}", room)
    answer = click(client, emulator, "alice", room, buttons(card)["Share in channel"]).get_json()
    return str(answer["update"]["message"])


def test_share_asks_what_redmine_lets_outsiders_see(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    """handbook: Redmine's defaults, everyone may see. acme: its non-members' role may not view issues.
    intranet: Anonymous may not, and this Redmine answers people who are not logged in: a public channel, read
    by anyone in the team, may not be shown it; a private one may."""
    issues = company_redmine.seed["company"]["issues"]
    tag = uuid.uuid4().hex[:6]
    public_room = channel_named(emulator, f"open-{tag}")
    private_room = channel_named(emulator, f"closed-{tag}", kind="P")
    assert "Shared in this channel" in _share(company_client, emulator, public_room, issues["handbook"])
    for room in (public_room, private_room):
        refused = _share(company_client, emulator, room, issues["acme_bug"])
        assert refused.startswith("Not shared") and "Acme Support" in refused
    assert _share(company_client, emulator, public_room, issues["intranet"]).startswith("Not shared")
    assert "Shared in this channel" in _share(company_client, emulator, private_room, issues["intranet"])
    shown = "\n".join(texts(emulator, public_room) + texts(emulator, private_room))
    assert "printer jams" not in shown and "handbook issue" in shown and "intranet issue" in shown


def test_a_public_channel_may_not_subscribe_a_project_outsiders_cannot_see(
    company_client: FlaskClient, company_bridge: Bridge, emulator: Any
) -> None:
    room = channel_named(emulator, "pub-" + uuid.uuid4().hex[:6])
    emulator.team_admins.add(emulator.user("alice")["id"])
    answer = subscribe_by_dialog(company_client, emulator, "alice", room, projects="acme")
    assert "private channel" in answer.get_json()["errors"]["projects"]
    assert company_bridge.subscriptions.list_subscriptions(room) == []
    assert subscribe_by_dialog(company_client, emulator, "alice", room, projects="handbook").status_code == 200
    assert len(company_bridge.subscriptions.list_subscriptions(room)) == 1


# 4. The Apps form's state is bound to its channel ---------------------------------------------------------------
def test_an_apps_form_opened_in_one_channel_cannot_be_submitted_in_another(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    user = emulator.user("alice")
    opened = client.post(
        "/create_ticket_by_form",
        json=apps_call("apps_call_command.json", user, channel, path="/create_ticket_by_form"),
        headers=apps_headers(user["id"]),
    ).get_json()
    state = opened["form"]["submit"]["state"]
    other = channel_named(emulator, "elsewhere-" + uuid.uuid4().hex[:6])
    values = fixture("apps_call_form_submit_create_ticket_by_form.json")["values"]
    values.update(subject=f"Moved form {uuid.uuid4().hex[:8]}", mattermost_user=None)
    for room, status in ((other, 401), (channel, 200)):
        body = apps_call(
            "apps_call_form_submit_create_ticket_by_form.json",
            user,
            room,
            path="/create_ticket_by_form_submit",
            values=values,
            state=state,
        )
        answer = client.post("/create_ticket_by_form_submit", json=body, headers=apps_headers(user["id"]))
        assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["type"] == "ok" and values["subject"] in answer.get_json()["text"]
