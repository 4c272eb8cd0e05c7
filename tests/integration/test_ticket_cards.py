"""Ticket cards and their buttons, end to end against the real Redmine: each action is made as the person
who clicks, the card shows the new state, the workflow decides what is offered, and a double click acts once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from tests.conftest import RedmineInfo
from tests.integration.surface_support import click, slash
from tests.mattermost_payloads import dialog_submission, refused_click


def buttons(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    attachments = answer.get("attachments") or answer.get("update", {}).get("props", {}).get("attachments", [])
    return {a["name"]: a for attachment in attachments for a in attachment["actions"]}


def redmine_issue(redmine: RedmineInfo, issue_id: int) -> dict[str, Any]:
    found: dict[str, Any] = requests.get(
        f"{redmine.url}/issues/{issue_id}.json",
        params={"include": "journals"},
        headers={"X-Redmine-API-Key": redmine.admin_key},
        timeout=15,
    ).json()["issue"]
    return found


@pytest.fixture
def fresh_issue(redmine: RedmineInfo) -> int:
    headers = {"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "alice"}
    body = {"issue": {"project_id": "demo", "subject": f"Card {uuid.uuid4().hex[:8]}", "description": "Details"}}
    answer = requests.post(f"{redmine.url}/issues.json", json=body, headers=headers, timeout=15)
    answer.raise_for_status()
    return int(answer.json()["issue"]["id"])


def test_the_card_is_read_as_the_caller(
    client: FlaskClient, emulator: Any, channel: str, seeded: dict[str, int], fresh_issue: int
) -> None:
    card = slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)
    assert card["response_type"] == "ephemeral"
    assert "Project: Demo" in card["text"] and "Status: **New**" in card["text"] and "> Details" in card["text"]
    assert {"Comment", "Status", "Take it", "Assign", "Log time", "Close", "Watch", "Share in channel"} <= set(
        buttons(card)
    )
    hidden = slash(client, emulator, "bob", f"view #{seeded['secret']}", channel)
    assert hidden["text"] == f"Ticket #{seeded['secret']} is not found, or you cannot see it."
    assert "attachments" not in hidden


def test_the_status_dialog_offers_only_what_the_workflow_allows_and_refuses_the_rest(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo, fresh_issue: int
) -> None:
    card = slash(client, emulator, "bob", f"ticket {fresh_issue}", channel)
    assert click(client, emulator, "bob", channel, buttons(card)["Status"]).get_json() == {}
    opened = emulator.dialogs[-1]
    options = {o["text"] for o in next(e for e in opened["dialog"]["elements"] if e["name"] == "status")["options"]}
    assert "In Progress" in options and "Rejected" not in options and "New" not in options  # a Developer's workflow
    forged = dialog_submission(opened, emulator.user("bob"), channel, {"status": "6"})
    assert "status" in client.post("/dialog", json=forged).get_json()["errors"]
    chosen = dialog_submission(opened, emulator.user("bob"), channel, {"status": "2", "notes": "on it"})
    assert client.post("/dialog", json=chosen).status_code == 200
    issue = redmine_issue(redmine, fresh_issue)
    assert issue["status"]["name"] == "In Progress" and issue["journals"][-1]["user"]["name"] == "Bob Brown"
    assert "Status: **In Progress**" in emulator.ephemerals[-1]["post"]["message"]


def test_a_double_click_closes_once_and_the_card_follows(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo, fresh_issue: int
) -> None:
    card = slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)
    first = click(client, emulator, "alice", channel, buttons(card)["Close"]).get_json()
    second = click(client, emulator, "alice", channel, buttons(card)["Close"]).get_json()
    assert first == second and "Status: **Closed**" in first["update"]["message"]
    assert "Reopen" in buttons(first)
    journals = redmine_issue(redmine, fresh_issue)["journals"]
    assert len([j for j in journals if any(d["name"] == "status_id" for d in j["details"])]) == 1


def test_a_button_works_only_for_the_person_it_was_shown_to(
    client: FlaskClient, emulator: Any, channel: str, fresh_issue: int
) -> None:
    card = slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)
    assert refused_click(click(client, emulator, "bob", channel, buttons(card)["Close"]))
    forged = dict(buttons(card)["Close"])
    context = dict(forged["integration"]["context"])
    context["sig"] = context["sig"][:-2] + ("AA" if not context["sig"].endswith("AA") else "BB")
    forged["integration"] = {**forged["integration"], "context": context}
    assert refused_click(click(client, emulator, "alice", channel, forged))


def test_comments_private_only_where_redmine_allows(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo, fresh_issue: int
) -> None:
    carol_card = slash(client, emulator, "carol", f"ticket {fresh_issue}", channel)
    click(client, emulator, "carol", channel, buttons(carol_card)["Comment"])
    assert [e["name"] for e in emulator.dialogs[-1]["dialog"]["elements"]] == ["notes"]  # a Reporter may not
    bob_card = slash(client, emulator, "bob", f"ticket {fresh_issue}", channel)
    click(client, emulator, "bob", channel, buttons(bob_card)["Comment"])
    opened = emulator.dialogs[-1]
    assert [e["name"] for e in opened["dialog"]["elements"]] == ["notes", "private"]
    body = dialog_submission(opened, emulator.user("bob"), channel, {"notes": "Between developers", "private": True})
    assert client.post("/dialog", json=body).status_code == 200
    assert client.post("/dialog", json=body).status_code == 200  # a double submit adds one note
    notes = [j for j in redmine_issue(redmine, fresh_issue)["journals"] if j["notes"] == "Between developers"]
    assert len(notes) == 1 and notes[0]["private_notes"] is True
    again = slash(client, emulator, "carol", f"ticket {fresh_issue}", channel)
    assert "Between developers" not in again["text"]  # Redmine hides it from a Reporter, so the card does


def test_assign_take_log_time_and_watch(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo, fresh_issue: int
) -> None:
    card = slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)
    taken = click(client, emulator, "alice", channel, buttons(card)["Take it"]).get_json()
    assert "Assignee: Alice Anders" in taken["update"]["message"] and "Take it" not in buttons(taken)
    click(client, emulator, "alice", channel, buttons(taken)["Assign"])
    opened = emulator.dialogs[-1]
    unmapped = dialog_submission(opened, emulator.user("alice"), channel, {"assignee": emulator.user("erin")["id"]})
    assert "assignee" in client.post("/dialog", json=unmapped).get_json()["errors"]
    to_bob = dialog_submission(opened, emulator.user("alice"), channel, {"assignee": emulator.user("bob")["id"]})
    assert client.post("/dialog", json=to_bob).status_code == 200
    assert redmine_issue(redmine, fresh_issue)["assigned_to"]["name"] == "Bob Brown"

    click(client, emulator, "alice", channel, buttons(taken)["Log time"])
    opened = emulator.dialogs[-1]
    bad = dialog_submission(opened, emulator.user("alice"), channel, {"hours": "-1", "activity": None})
    assert "hours" in client.post("/dialog", json=bad).get_json()["errors"]
    activity = next(e for e in opened["dialog"]["elements"] if e["name"] == "activity")["options"][0]["value"]
    for nothing in ("1e-30", "0.0000001", "0,004"):  # Redmine would keep each as a 0.0-hour entry
        tiny = dialog_submission(opened, emulator.user("alice"), channel, {"hours": nothing, "activity": activity})
        assert "hundredth" in client.post("/dialog", json=tiny).get_json()["errors"]["hours"], nothing
    headers = {"X-Redmine-API-Key": redmine.admin_key}
    entries = requests.get(f"{redmine.url}/time_entries.json?issue_id={fresh_issue}", headers=headers, timeout=15)
    assert entries.json()["time_entries"] == []
    good = dialog_submission(opened, emulator.user("alice"), channel, {"hours": "1,5", "activity": activity})
    assert client.post("/dialog", json=good).status_code == 200
    assert "Spent: 1.5 h" in slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)["text"]

    # Redmine makes a contributor a watcher by default (autowatch): the button says which way it goes
    name = "Watch" if "Watch" in buttons(taken) else "Unwatch"
    toggled = click(client, emulator, "alice", channel, buttons(taken)[name]).get_json()
    said = "You watch it now" if name == "Watch" else "You no longer watch it"
    assert said in toggled["update"]["message"] and ({"Watch", "Unwatch"} - {name}) <= set(buttons(toggled))


def test_share_posts_only_what_every_member_could_see(
    client: FlaskClient, emulator: Any, channel: str, seeded: dict[str, int], fresh_issue: int
) -> None:
    card = slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)
    shared = click(client, emulator, "alice", channel, buttons(card)["Share in channel"]).get_json()
    assert "Shared in this channel" in shared["update"]["message"]
    post = emulator.posts_in(channel)[-1]
    assert post["user_id"] == emulator.bot["id"] and f"#{fresh_issue}" in post["message"]
    for hidden in (seeded["private"], seeded["secret"]):
        card = slash(client, emulator, "alice", f"ticket {hidden}", channel)
        refused = click(client, emulator, "alice", channel, buttons(card)["Share in channel"]).get_json()
        assert "Not shared" in refused["update"]["message"]
    assert emulator.posts_in(channel)[-1]["id"] == post["id"]


def test_a_share_click_replayed_into_another_channel_posts_nothing(
    client: FlaskClient, emulator: Any, channel: str, fresh_issue: int
) -> None:
    elsewhere = emulator.add_channel("team-only", [emulator.bot, emulator.user("bob")], kind="P")["id"]
    card = slash(client, emulator, "alice", f"ticket {fresh_issue}", channel)
    body = {
        "user_id": emulator.user("alice")["id"],
        "channel_id": elsewhere,  # not hers: the signature names the channel the button was shown in
        "context": buttons(card)["Share in channel"]["integration"]["context"],
    }
    before = len(emulator.requests)
    assert refused_click(client.post("/actions", json=body))
    assert emulator.posts_in(elsewhere) == []
    assert not [r for r in emulator.requests[before:] if "/members/" in r.path]  # refused without asking Mattermost


def test_a_subscriptions_click_replayed_into_a_private_channel_shows_nothing(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    """A signed click from one channel, replayed with another channel's id, lists nothing of that channel."""
    private = emulator.add_channel("secret-room", [emulator.bot, emulator.user("bob")], kind="P")["id"]
    reply = slash(client, emulator, "alice", "app_info", channel)
    listing = next(
        a for a in reply["attachments"][0]["actions"] if a["integration"]["context"]["action"] == "subscriptions"
    )
    body = {
        "user_id": emulator.user("alice")["id"],
        "channel_id": private,
        "context": listing["integration"]["context"],
    }
    assert refused_click(client.post("/actions", json=body))


@pytest.mark.parametrize("typed", ["ticket_take", "ticket_close", "ticket_share", "connect_email_confirm"])
def test_a_step_meant_for_a_button_does_not_run_by_name(
    client: FlaskClient, emulator: Any, channel: str, fresh_issue: int, typed: str, redmine: RedmineInfo
) -> None:
    """Each command declares who may run it and how; one dispatch enforces it for every surface."""

    def state() -> Any:
        headers = {"X-Redmine-API-Key": redmine.admin_key}
        issue = requests.get(f"{redmine.url}/issues/{fresh_issue}.json", headers=headers, timeout=15).json()["issue"]
        return issue["updated_on"], issue.get("assigned_to"), issue["status"]

    before = state()
    answer = slash(client, emulator, "alice", f"{typed} {fresh_issue}", channel)
    assert "runs from its button" in answer["text"]
    assert state() == before and emulator.posts_in(channel) == []
