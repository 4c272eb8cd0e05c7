"""The ticket form on a real company's Redmine (redmine_server/seed_company.rb): it asks what Redmine will ask,
per tracker, and a refusal names its field. Against the real Redmine 5.0.4 and the emulator."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from flask.testing import FlaskClient

from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine, channel_named
from tests.integration.surface_support import click, slash
from tests.integration.test_privacy import admin_issue
from tests.integration.test_ticket_cards import buttons
from tests.mattermost_payloads import dialog_submission


def first_step(client: FlaskClient, emulator: Any, person: str, room: str, **values: Any) -> dict[str, Any]:
    """`person` opens the form, fills the first step and sends it; the next step's button they are given."""
    assert slash(client, emulator, person, "create_ticket_by_form", room) == {}
    opened = emulator.dialogs[-1]
    step = {"projects": "acme", "trackers": "1", "status": "1", "priority": "2", **values}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user(person), room, step))
    assert answer.status_code == 200 and not answer.get_data(as_text=True).strip(), answer.get_data(as_text=True)
    offered = [p for p in emulator.dm_posts(person) if (p.get("props") or {}).get("attachments")]
    offered += [e["post"] for e in emulator.ephemerals if e.get("user_id") == emulator.user(person)["id"]]
    return next(iter(buttons({"attachments": offered[-1]["props"]["attachments"]}).values()))


def second_step(client: FlaskClient, emulator: Any, person: str, room: str, button: dict[str, Any]) -> Any:
    count = len(emulator.dialogs)
    answer = click(client, emulator, person, room_of(emulator, person, button, room), button)
    assert answer.status_code == 200 and len(emulator.dialogs) == count + 1, answer.get_json()
    return emulator.dialogs[-1]


def room_of(emulator: Any, person: str, button: dict[str, Any], room: str) -> str:
    """Where the button was shown: the channel (ephemeral) or the person's DM with the bot."""
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user(person)["id"])["id"]
    shown_in_dm = any(
        button["name"] in str(p.get("props"))
        for p in emulator.posts_in(dm)
        if (p.get("props") or {}).get("attachments")
    )
    return str(dm) if shown_in_dm else room


def elements(opened: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in opened["dialog"]["elements"]}


def issue_of(redmine: RedmineInfo, subject: str) -> dict[str, Any]:
    issue_id = Redmine(redmine).find(subject)
    found: dict[str, Any] = requests.get(
        f"{redmine.url}/issues/{issue_id}.json", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=15
    ).json()["issue"]
    return found


def test_the_form_asks_a_bugs_fields_and_creates_it_with_them(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    fields = company_redmine.seed["company"]["fields"]
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"acme-{tag}")
    subject = f"Printer on fire {tag}"
    button = first_step(company_client, emulator, "alice", room, subject=subject)
    assert button["name"].startswith("Continue")
    assert Redmine(company_redmine).search(subject) == []  # nothing made before the fields are asked
    opened = second_step(company_client, emulator, "alice", room, button)
    shown = elements(opened)
    cf = {name: f"cf_{fields[name]}" for name in fields}
    # A Bug's fields, by their Redmine names; a Feature's and the one only some roles see are not asked.
    assert shown[cf["customer"]]["display_name"] == "Customer" and not shown[cf["customer"]].get("optional")
    severity = shown[cf["severity"]]
    assert severity["type"] == "select" and [o["value"] for o in severity["options"]] == ["S1", "S2", "S3", "S4"]
    assert severity["default"] == "S3" and not severity.get("optional")
    assert shown[cf["steps"]]["type"] == "textarea" and shown[cf["steps"]]["optional"]
    assert [o["text"] for o in shown[cf["billable"]]["options"]] == ["Yes", "No"]
    assert "Alice Anders" in [o["text"] for o in shown[cf["reviewer"]]["options"]]
    assert [o["text"] for o in shown[cf["release"]]["options"]] == ["1.0", "2.0"]
    assert [o["text"] for o in shown["category"]["options"]] == ["Backend", "Frontend"]
    assert [o["text"] for o in shown["version"]["options"]] == ["1.0", "2.0"]
    assert cf["points"] not in shown and cf["cost"] not in shown
    assert shown["subject"]["default"] == subject and shown["end_date"]  # what was typed comes along

    user = emulator.user("alice")
    values = {e: v.get("default") for e, v in shown.items() if v.get("default") is not None}
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, values)).get_json()
    assert answer["errors"][cf["customer"]] == "Customer is required"
    values.update(
        {
            cf["customer"]: "Initech",
            cf["severity"]: "S1",
            cf["components"]: "API, web",
            cf["review"]: "31.12.27",
            cf["billable"]: "1",
            cf["reviewer"]: str(company_redmine.seed["users"]["bob"]),
            cf["release"]: "2",
            cf["environment"]: "2",
            "version": "1",
            "category": "2",
        }
    )
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, values))
    assert answer.status_code == 200 and not (answer.get_json(silent=True) or {}).get("errors"), answer.get_data()
    made = issue_of(company_redmine, subject)
    by_name = {c["name"]: c.get("value") for c in made["custom_fields"]}
    assert by_name["Customer"] == "Initech" and by_name["Severity"] == "S1"
    assert by_name["Components"] == ["API", "Web"] and by_name["Review date"] == "2027-12-31"
    assert by_name["Billable"] == "1" and by_name["Reviewer"] == str(company_redmine.seed["users"]["bob"])
    assert by_name["Target release"] == "2" and by_name["Environment"] == "2"
    assert made["fixed_version"]["name"] == "1.0" and made["category"]["name"] == "Frontend"


def test_a_tracker_without_a_due_date_is_not_asked_for_one(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    room = channel_named(emulator, "support-" + uuid.uuid4().hex[:6])
    button = first_step(company_client, emulator, "alice", room, trackers="3", subject="Call back", end_date="31.12.27")
    shown = elements(second_step(company_client, emulator, "alice", room, button))
    assert "end_date" not in shown and "estimated_time" not in shown and "start_date" in shown
    steps = f"cf_{company_redmine.seed['company']['fields']['steps']}"
    assert steps not in shown  # a Bug's field


def test_redmines_own_refusal_is_shown_against_its_field(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    """The company's workflow makes Review date required for Developers creating a Feature: only Redmine knows,
    and its answer goes against the field; nothing is created until it is given."""
    review = f"cf_{company_redmine.seed['company']['fields']['review']}"
    customer = f"cf_{company_redmine.seed['company']['fields']['customer']}"
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"feat-{tag}")
    subject = f"Dark mode {tag}"
    button = first_step(company_client, emulator, "bob", room, trackers="2", subject=subject)
    opened = second_step(company_client, emulator, "bob", room, button)
    assert elements(opened)[review].get("optional")  # the field itself is optional for everyone else
    user = emulator.user("bob")
    values = {"projects": "acme", "trackers": "2", "subject": subject, "status": "1", "priority": "2"}
    values[customer] = "Initech"
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, values)).get_json()
    assert answer["errors"][review] == "Review date cannot be blank", answer
    assert Redmine(company_redmine).search(subject) == []
    values[review] = "2027-01-31"
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, values))
    assert not (answer.get_json(silent=True) or {}).get("errors"), answer.get_data()
    assert issue_of(company_redmine, subject)["author"]["id"] == company_redmine.seed["users"]["bob"]


# Batches ---------------------------------------------------------------------------------------------------------
def test_a_batch_asks_the_projects_fields_once_and_a_line_may_set_its_own(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    fields = company_redmine.seed["company"]["fields"]
    customer, severity = f"cf_{fields['customer']}", f"cf_{fields['severity']}"
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"batch-{tag}")
    lines = f"1. Fix login {tag} @bob\n2. Fix logout {tag} @bob Severity=S1"
    assert slash(company_client, emulator, "alice", "create_tickets", room) == {}
    opened = emulator.dialogs[-1]
    user = emulator.user("alice")
    answer = company_client.post(
        "/dialog", json=dialog_submission(opened, user, room, {"option": "acme", "message": lines})
    )
    assert answer.status_code == 200 and Redmine(company_redmine).search(f"Fix login {tag}") == []
    offered = [p for p in emulator.dm_posts("alice") if (p.get("props") or {}).get("attachments")]
    offered += [e["post"] for e in emulator.ephemerals if e.get("user_id") == user["id"]]
    button = next(iter(buttons({"attachments": offered[-1]["props"]["attachments"]}).values()))
    second = second_step(company_client, emulator, "alice", room, button)
    shown = elements(second)
    assert shown["message"]["default"] == lines and shown["option"]["default"] == "acme"
    assert not shown[customer].get("optional") and shown[severity]["default"] == "S3"
    values = {"option": "acme", "message": lines, customer: "Initech", severity: "S2"}
    answer = company_client.post("/dialog", json=dialog_submission(second, user, room, values))
    assert answer.status_code == 200 and not (answer.get_json(silent=True) or {}).get("errors"), answer.get_data()
    first, second_issue = issue_of(company_redmine, f"Fix login {tag}"), issue_of(company_redmine, f"Fix logout {tag}")
    values_of = [{c["name"]: c.get("value") for c in i["custom_fields"]} for i in (first, second_issue)]
    assert [v["Customer"] for v in values_of] == ["Initech", "Initech"]
    assert [v["Severity"] for v in values_of] == ["S2", "S1"]  # the line's own wins, and leaves the subject


def test_typed_lines_without_the_projects_fields_say_which_and_create_nothing(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"typed-{tag}")
    refused = slash(company_client, emulator, "alice", f"create_tickets acme\n1. Order toner {tag} @bob", room)
    assert "Nothing was created" in refused["text"] and "Customer" in refused["text"], refused
    assert Redmine(company_redmine).search(f"Order toner {tag}") == []
    bad = slash(company_client, emulator, "alice", f"create_tickets acme\n1. Order toner {tag} @bob Severity=S9", room)
    assert "Severity is one of: S1, S2, S3, S4" in bad["text"]
    line = f"1. Order toner {tag} @bob Customer=Initech Target_release=2.0"
    done = slash(company_client, emulator, "alice", f"create_tickets acme\n{line}", room)
    assert "Created 1 ticket" in done["text"], done
    made = {c["name"]: c.get("value") for c in issue_of(company_redmine, f"Order toner {tag}")["custom_fields"]}
    assert made["Customer"] == "Initech" and made["Target release"] == "2" and made["Severity"] == "S3"


# The card and its dialogs ----------------------------------------------------------------------------------------
def test_the_card_shows_the_custom_fields_each_person_may_see(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    room = channel_named(emulator, "card-" + uuid.uuid4().hex[:6])
    bug = company_redmine.seed["company"]["issues"]["acme_bug"]
    alices = slash(company_client, emulator, "alice", f"ticket {bug}", room)["text"]
    bobs = slash(company_client, emulator, "bob", f"ticket {bug}", room)["text"]
    for card in (alices, bobs):
        assert "Customer: Initech" in card and "Severity: S2" in card
    assert "Internal cost: 1200.5" in alices and "Internal cost" not in bobs  # a Manager's field only


def test_a_status_the_workflow_gives_a_required_field_asks_for_it(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    """The company's workflow: a Developer's Bug in Resolved must name a Reviewer. bob's Status dialog asks no
    Reviewer; Redmine refuses, and the dialog comes back with it; given, the ticket is resolved."""
    seed = company_redmine.seed
    reviewer = f"cf_{seed['company']['fields']['reviewer']}"
    rm = Redmine(company_redmine)
    bug = rm.create(
        "bob",
        "acme",
        f"Paper jam {uuid.uuid4().hex[:6]}",
        tracker_id=1,
        assigned_to_id=seed["users"]["bob"],
        custom_fields=[{"id": seed["company"]["fields"]["customer"], "value": "Initech"}],
    )
    room = channel_named(emulator, "resolve-" + uuid.uuid4().hex[:6])
    card = slash(company_client, emulator, "bob", f"ticket {bug}", room)
    assert click(company_client, emulator, "bob", room, buttons(card)["Status"]).get_json() == {}
    opened = emulator.dialogs[-1]
    resolved = next(o["value"] for o in elements(opened)["status"]["options"] if o["text"] == "Resolved")
    user = emulator.user("bob")
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, {"status": resolved}))
    assert answer.status_code == 200
    assert admin_issue(company_redmine, bug)["status"]["name"] == "New"
    offered = [p for p in emulator.dm_posts("bob") if (p.get("props") or {}).get("attachments")]
    offered += [e["post"] for e in emulator.ephemerals if e.get("user_id") == user["id"]]
    assert "Reviewer cannot be blank" in offered[-1]["message"]
    button = next(iter(buttons({"attachments": offered[-1]["props"]["attachments"]}).values()))
    again = second_step(company_client, emulator, "bob", room, button)
    assert not elements(again)[reviewer].get("optional")
    values = {"status": resolved, reviewer: str(seed["users"]["alice"])}
    answer = company_client.post("/dialog", json=dialog_submission(again, user, room, values))
    assert answer.status_code == 200 and not (answer.get_json(silent=True) or {}).get("errors")
    done = admin_issue(company_redmine, bug)
    assert done["status"]["name"] == "Resolved"
    assert {c["name"]: c.get("value") for c in done["custom_fields"]}["Reviewer"] == str(seed["users"]["alice"])


def test_groups_are_offered_where_redmine_assigns_to_groups(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    """The company's Redmine allows group assignment and has "Support team" in acme: a batch line may name it,
    and the card's Assign dialog offers it."""
    group = company_redmine.seed["company"]["group"]
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"groups-{tag}")
    line = f"1. Restock paper {tag} @support-team Customer=Initech"
    done = slash(company_client, emulator, "alice", f"create_tickets acme\n{line}", room)
    assert "Created 1 ticket" in done["text"], done
    made = issue_of(company_redmine, f"Restock paper {tag}")
    assert made["assigned_to"] == {"id": group, "name": "Support team"}

    card = slash(company_client, emulator, "alice", f"ticket {made['id']}", room)
    assert click(company_client, emulator, "alice", room, buttons(card)["Assign"]).get_json() == {}
    opened = emulator.dialogs[-1]
    assert [o["text"] for o in elements(opened)["group"]["options"]] == ["Support team"]
    user = emulator.user("alice")
    values = {"assignee": emulator.user("bob")["id"]}
    assert company_client.post("/dialog", json=dialog_submission(opened, user, room, values)).status_code == 200
    assert admin_issue(company_redmine, made["id"])["assigned_to"]["name"] == "Bob Brown"
    card = slash(company_client, emulator, "alice", f"ticket {made['id']}", room)
    assert click(company_client, emulator, "alice", room, buttons(card)["Assign"]).get_json() == {}
    opened = emulator.dialogs[-1]
    answer = company_client.post("/dialog", json=dialog_submission(opened, user, room, {"group": str(group)}))
    assert answer.status_code == 200 and not (answer.get_json(silent=True) or {}).get("errors")
    assert admin_issue(company_redmine, made["id"])["assigned_to"]["id"] == group


def test_a_refused_create_with_files_can_be_fixed_and_sent_again(
    company_client: FlaskClient, emulator: Any, company_redmine: RedmineInfo
) -> None:
    """The post's file is uploaded before the create, and Redmine refuses the create (a Review date its
    workflow requires of bob): an upload no ticket uses is no write (Redmine prunes it), so the same dialog,
    fixed, creates the ticket, with the file, instead of saying Redmine took part of it."""
    from tests.integration.test_posts_into_tickets import TEXT_FILE, attachments_of, post_with_files

    fields = company_redmine.seed["company"]["fields"]
    review, customer = f"cf_{fields['review']}", f"cf_{fields['customer']}"
    tag = uuid.uuid4().hex[:8]
    room = channel_named(emulator, f"upl-{tag}")
    post = post_with_files(emulator, room, "carol", f"Wishlist {tag}", {"wish.txt": TEXT_FILE})
    assert slash(company_client, emulator, "bob", f"create_ticket_by_form {post['id']}", room) == {}
    first = emulator.dialogs[-1]
    user = emulator.user("bob")
    values = {"projects": "acme", "trackers": "2", "subject": f"Wishlist {tag}", "status": "1", "priority": "2"}
    assert company_client.post("/dialog", json=dialog_submission(first, user, room, values)).status_code == 200
    offered = [p for p in emulator.dm_posts("bob") if (p.get("props") or {}).get("attachments")]
    offered += [e["post"] for e in emulator.ephemerals if e.get("user_id") == user["id"]]
    button = next(iter(buttons({"attachments": offered[-1]["props"]["attachments"]}).values()))
    second = second_step(company_client, emulator, "bob", room, button)
    values[customer] = "Initech"
    refused = company_client.post("/dialog", json=dialog_submission(second, user, room, values)).get_json()
    assert refused["errors"][review] == "Review date cannot be blank"
    values[review] = "2027-02-01"
    answer = company_client.post("/dialog", json=dialog_submission(second, user, room, values))
    assert not (answer.get_json(silent=True) or {}).get("errors"), answer.get_data()
    made = Redmine(company_redmine).find(f"Wishlist {tag}")
    assert attachments_of(company_redmine, made) == {"wish.txt": TEXT_FILE}
