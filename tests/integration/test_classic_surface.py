"""The classic surface end to end: slash command, dialogs and buttons, against the
Mattermost emulator and the real Redmine."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from mattermost_server.emulator import trigger_id
from tests.integration.surface_support import batch_lines, issues_with, open_dialog, slash
from tests.mattermost_payloads import dialog_submission, refused_click


def test_app_info_is_generated_help_with_link_status_and_buttons(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    reply = slash(client, emulator, "alice", "app_info", channel)
    assert reply["response_type"] == "ephemeral"
    for name in ("app_info", "create_ticket_by_form", "create_tickets", "tickets_for_me", "my_tickets", "tasks_by_me"):
        assert name in reply["text"]
    assert "linked to Redmine login `alice` (Alice Anders)" in reply["text"]
    actions = reply["attachments"][0]["actions"]
    assert {a["integration"]["context"]["action"] for a in actions} == {
        "create_ticket_by_form",
        "create_tickets",
        "tickets_for_me",
        "my_tickets",
        "connect",
        "whoami",
        "disconnect",
        "subscribe",
        "subscriptions",
        "notifications",
        "queries",
        "spent",
        "channel_settings",
    }
    assert all(a["id"].isalnum() for a in actions)
    assert all(a["type"] == "button" for a in actions)  # PostAction.IsValid refuses an action with no type
    assert reply["skip_slack_parsing"] is True  # the text is Markdown, not Slack markup


def test_an_empty_command_shows_help(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert "### Redmine bridge" in slash(client, emulator, "alice", "", channel)["text"]


def test_unmapped_caller_is_told_how_to_get_mapped(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert "not linked to Redmine yet" in slash(client, emulator, "erin", "help", channel)["text"]
    reply = slash(client, emulator, "erin", "tickets_for_me", channel)
    assert "erin=<your Redmine login>" in reply["text"]


def test_locked_and_missing_accounts_get_a_clear_message(client: FlaskClient, emulator: Any, channel: str) -> None:
    assert "`dave` is missing or locked" in slash(client, emulator, "dave", "tickets_for_me", channel)["text"]
    assert "`ghost` is missing or locked" in slash(client, emulator, "ghost", "my_tickets", channel)["text"]


def test_tickets_for_me_sends_a_dm_table(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    reply = slash(client, emulator, "bob", "tickets_for_me", channel)
    assert "Open tickets assigned to you" in reply["text"] and "direct message" in reply["text"]
    dm = emulator.dm_posts("bob")[-1]
    attachment = dm["props"]["attachments"][0]
    assert "assigned_to_id=me" in attachment["title_link"]
    header = attachment["text"].splitlines()[0]
    assert header == "| ID | Project | Tracker | Status | Subject | Updated | Due | Priority | Author |"
    assert f"({bridge.gateway.base_url}/issues/" in attachment["text"]


def test_my_tickets_has_an_assignee_column(client: FlaskClient, emulator: Any, channel: str) -> None:
    slash(client, emulator, "alice", "tasks_by_me", channel)
    attachment = emulator.dm_posts("alice")[-1]["props"]["attachments"][0]
    assert attachment["text"].splitlines()[0].endswith("| Priority | Assignee |")
    assert "author_id=me" in attachment["title_link"]


def test_ticket_form_opens_a_dialog_with_the_callers_projects(client: FlaskClient, emulator: Any, channel: str) -> None:
    opened = open_dialog(client, emulator, "bob", "create_ticket_by_form", channel)
    elements = {e["name"]: e for e in opened["dialog"]["elements"]}
    assert list(elements) == [
        "projects",
        "trackers",
        "subject",
        "description",
        "status",
        "priority",
        "mattermost_user",
        "start_date",
        "end_date",
        "estimated_time",
        "done",
    ]
    assert [o["value"] for o in elements["projects"]["options"]] == ["demo", "ops"]  # not the private one
    assert elements["priority"]["default"] == "2"
    assert elements["mattermost_user"]["data_source"] == "users"
    assert elements["start_date"]["default"] == f"{dt.date.today():%d.%m.%y}"


def test_ticket_form_creates_as_the_caller(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    opened = open_dialog(client, emulator, "alice", "create_ticket_by_form", channel)
    subject = f"Form ticket {uuid.uuid4().hex[:8]}"
    due = dt.date.today() + dt.timedelta(days=10)
    submission = {
        "projects": "demo",
        "trackers": "2",
        "subject": subject,
        "description": "From the dialog",
        "status": "1",
        "priority": "3",
        "mattermost_user": emulator.user("bob")["id"],
        "start_date": f"{dt.date.today():%d.%m.%y}",
        "end_date": f"{due:%d.%m.%Y}",
        "estimated_time": "1.5",
        "done": "10",
    }
    body = dialog_submission(opened, emulator.user("alice"), channel, submission)
    response = client.post("/dialog", json=body)
    assert response.status_code == 200 and response.data == b""
    [issue] = issues_with(bridge, "alice", subject)
    assert (issue.author.name, issue.assigned_to.name if issue.assigned_to else None) == ("Alice Anders", "Bob Brown")
    assert (issue.project.name, issue.tracker.name, issue.priority.name) == ("Demo", "Feature", "High")
    assert (issue.start_date, issue.due_date) == (dt.date.today(), due)
    dm = emulator.dm_posts("alice")[-1]["props"]["attachments"][0]["text"]
    assert f"/issues/{issue.id})" in dm and "/projects/" in dm and "/users/" in dm
    assert any(f"#{issue.id}" in e["post"]["message"] for e in emulator.ephemerals)


def test_ticket_form_errors_show_against_their_fields(client: FlaskClient, emulator: Any, channel: str) -> None:
    opened = open_dialog(client, emulator, "alice", "create_ticket_by_form", channel)
    submission = {
        "projects": "demo",
        "trackers": "1",
        "subject": "",
        "status": "1",
        "priority": "2",
        "start_date": "10.05.27",
        "end_date": "01.05.27",
        "estimated_time": "-3",
        "done": "0",
    }
    reply = client.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, submission))
    errors = reply.get_json()["errors"]
    assert set(errors) == {"subject", "end_date", "estimated_time"}


@pytest.mark.parametrize(
    ("assignee", "message"),
    [("dave", "locked"), ("ghost", "has no Redmine account"), ("erin", "not linked"), ("carol", None)],
)
def test_ticket_form_checks_the_assignee(
    client: FlaskClient, emulator: Any, channel: str, bridge: Bridge, assignee: str, message: str | None
) -> None:
    opened = open_dialog(client, emulator, "carol", "create_ticket_by_form", channel)
    subject = f"Assignee check {uuid.uuid4().hex[:8]}"
    submission = {
        "projects": "ops",
        "trackers": "1",
        "subject": subject,
        "status": "1",
        "priority": "2",
        "mattermost_user": emulator.user(assignee)["id"],
    }
    reply = client.post("/dialog", json=dialog_submission(opened, emulator.user("carol"), channel, submission))
    if message is None:
        assert reply.status_code == 200 and len(issues_with(bridge, "carol", subject)) == 1
    else:
        assert message in reply.get_json()["errors"]["mattermost_user"]
        assert issues_with(bridge, "carol", subject) == []


def test_ticket_form_refuses_a_project_the_caller_is_not_in(client: FlaskClient, emulator: Any, channel: str) -> None:
    opened = open_dialog(client, emulator, "bob", "create_ticket_by_form", channel)
    submission = {"projects": "ops", "trackers": "1", "subject": "Not mine", "status": "1", "priority": "2"}
    reply = client.post("/dialog", json=dialog_submission(opened, emulator.user("bob"), channel, submission))
    assert "not a member" in reply.get_json()["errors"]["projects"]


def test_create_tickets_through_the_dialog(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    opened = open_dialog(client, emulator, "alice", "create_tickets", channel)
    assert [e["name"] for e in opened["dialog"]["elements"]] == ["option", "message"]
    tag = uuid.uuid4().hex[:8]
    body = dialog_submission(opened, emulator.user("alice"), channel, {"option": "demo", "message": batch_lines(tag)})
    assert client.post("/dialog", json=body).status_code == 200
    created = [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject]
    assert sorted(i.subject for i in created) == sorted(
        [f"Write the report {tag}", f"Book the room {tag}", f"Buy coffee {tag}"]
    )
    by_subject = {i.subject: i for i in created}
    assert by_subject[f"Write the report {tag}"].due_date == dt.date(2027, 12, 31)
    assert by_subject[f"Book the room {tag}"].assigned_to.name == "Carol Clark"  # type: ignore[union-attr]
    dm = emulator.dm_posts("alice")[-1]
    assert dm["props"]["attachments"][0]["pretext"] == "@alice created 3 tickets for @bob, @carol"
    table = dm["props"]["attachments"][0]["text"]
    assert table.count("\n") == 4  # the header, its rule and three rows of the nine-column table
    assert all(f"/issues/{i.id})" in table for i in created) and "/projects/" in table and "/users/" in table


def test_create_tickets_with_bad_lines_creates_nothing(
    client: FlaskClient, emulator: Any, bridge: Bridge, channel: str
) -> None:
    opened = open_dialog(client, emulator, "alice", "create_tickets", channel)
    tag = uuid.uuid4().hex[:8]
    lines = f"1. Fine {tag} @bob 31.12.27\n2. Bad date {tag} @bob 31.02.27\n3. Nobody {tag}\n4. Locked {tag} @dave"
    reply = client.post(
        "/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, {"option": "demo", "message": lines})
    )
    error = reply.get_json()["errors"]["message"]
    assert "line 2" in error and "line 3" in error
    assert [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject] == []
    lines = f"1. Fine {tag} @bob\n2. Locked {tag} @dave\n3. Ghost {tag} @ghost"
    reply = client.post(
        "/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, {"option": "demo", "message": lines})
    )
    error = reply.get_json()["errors"]["message"]
    assert "line 2: @dave's Redmine account (dave) is locked" in error and "line 3: @ghost" in error
    assert [i for i in bridge.gateway.authored_issues("alice", 100).issues if tag in i.subject] == []


def test_create_tickets_from_the_slash_text(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    tag = uuid.uuid4().hex[:8]
    reply = slash(client, emulator, "carol", f"create_tickets ops\n1. Inline {tag} @carol 01.02.27", channel)
    assert "Created 1 ticket in" in reply["text"]
    assert [i.subject for i in issues_with(bridge, "carol", f"Inline {tag}")] == [f"Inline {tag}"]


def test_a_double_submit_creates_one_ticket(client: FlaskClient, emulator: Any, bridge: Bridge, channel: str) -> None:
    opened = open_dialog(client, emulator, "alice", "create_ticket_by_form", channel)
    subject = f"Double submit {uuid.uuid4().hex[:8]}"
    submission = {"projects": "demo", "trackers": "1", "subject": subject, "status": "1", "priority": "2"}
    body = dialog_submission(opened, emulator.user("alice"), channel, submission)
    app = client.application
    statuses: list[int] = []

    def submit() -> None:
        with app.test_client() as own:
            statuses.append(own.post("/dialog", json=body).status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200, 200]
    assert len(issues_with(bridge, "alice", subject)) == 1
    assert client.post("/dialog", json=body).status_code == 200  # a third, later retry
    assert len(issues_with(bridge, "alice", subject)) == 1


def test_a_button_runs_its_command_as_the_person_it_was_shown_to(
    client: FlaskClient, emulator: Any, channel: str
) -> None:
    reply = slash(client, emulator, "bob", "app_info", channel)
    button = next(
        a for a in reply["attachments"][0]["actions"] if a["integration"]["context"]["action"] == "tickets_for_me"
    )
    body = {
        "user_id": emulator.user("bob")["id"],
        "user_name": "bob",
        "channel_id": channel,
        "context": button["integration"]["context"],
        "trigger_id": trigger_id(emulator.user("bob")["id"]),
    }
    answer = client.post("/actions", json=body)
    assert "direct message" in answer.get_json()["ephemeral_text"]
    body["user_id"] = emulator.user("alice")["id"]
    assert refused_click(client.post("/actions", json=body))
