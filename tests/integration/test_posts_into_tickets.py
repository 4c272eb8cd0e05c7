"""Posts, threads and their files into tickets, new or existing, against the real Redmine and the emulator:
the files' bytes arrive as they left, a file over Redmine's own limit is named and skipped, a private channel's
post goes in only privately, and nobody adds what they cannot read in Mattermost."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from app_integration.adapters.mattermost.posts.reaction_offers import offer_ticket_from_post
from app_integration.adapters.runtime.wiring import Bridge
from mattermost_server.emulator.sample_files import png
from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine, channel_named, cycle, demo_id, subscribe, texts
from tests.integration.surface_support import click, slash
from tests.mattermost_payloads import dialog_submission

TEXT_FILE = "line one\nстрока два\n".encode()


def post_with_files(emulator: Any, channel: str, author: str, text: str, files: dict[str, bytes], **kw: Any) -> Any:
    infos = tuple(emulator.upload_as(author, channel, name, data) for name, data in files.items())
    return emulator.post_as(author, channel, text, files=infos, **kw)


def attachments_of(redmine: RedmineInfo, issue_id: int) -> dict[str, bytes]:
    """Each attachment's name and bytes, downloaded from Redmine as its administrator."""
    headers = {"X-Redmine-API-Key": redmine.admin_key}
    issue = requests.get(
        f"{redmine.url}/issues/{issue_id}.json", params={"include": "attachments"}, headers=headers, timeout=15
    ).json()["issue"]
    return {
        a["filename"]: requests.get(a["content_url"], headers=headers, timeout=15).content for a in issue["attachments"]
    }


def journals_of(redmine: RedmineInfo, issue_id: int) -> list[dict[str, Any]]:
    headers = {"X-Redmine-API-Key": redmine.admin_key}
    issue = requests.get(
        f"{redmine.url}/issues/{issue_id}.json", params={"include": "journals"}, headers=headers, timeout=15
    ).json()["issue"]
    return [j for j in issue["journals"] if j.get("notes")]


def private_channel(emulator: Any, name: str) -> str:
    people = [emulator.bot, *(emulator.user(n) for n in ("alice", "bob", "carol"))]
    return str(emulator.add_channel(name, people, kind="P")["id"])


def test_a_post_with_a_png_and_a_text_file_becomes_a_ticket_with_both(
    client: FlaskClient, bridge: Bridge, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    tag = uuid.uuid4().hex[:8]
    picture = png()
    post = post_with_files(
        emulator, channel, "alice", f"The login page breaks {tag}", {"screen.png": picture, "log.txt": TEXT_FILE}
    )
    assert slash(client, emulator, "bob", f"create_ticket_by_form {post['id']}", channel) == {}
    opened = emulator.dialogs[-1]
    values = {"projects": "demo", "trackers": "1", "subject": f"From a post {tag}", "status": "1", "priority": "2"}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user("bob"), channel, values))
    assert answer.status_code == 200 and not (answer.get_json() or {}).get("errors")
    issue = Redmine(redmine).find(f"From a post {tag}")
    assert attachments_of(redmine, issue) == {"screen.png": picture, "log.txt": TEXT_FILE}


def test_a_file_over_redmines_own_limit_is_named_and_skipped_and_the_ticket_is_made(
    client: FlaskClient, bridge: Bridge, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    """The seed sets attachment_max_size to 1024 KB, below the default: the bridge reads it from Redmine."""
    assert bridge.services.attachments.limit() == 1024 * 1024
    tag = uuid.uuid4().hex[:8]
    big = bytes(1_200_000)
    post = post_with_files(emulator, channel, "alice", f"A big dump {tag}", {"dump.bin": big, "note.txt": TEXT_FILE})
    slash(client, emulator, "bob", f"create_ticket_by_form {post['id']}", channel)
    values = {"projects": "demo", "trackers": "1", "subject": f"Big {tag}", "status": "1", "priority": "2"}
    client.post("/dialog", json=dialog_submission(emulator.dialogs[-1], emulator.user("bob"), channel, values))
    issue = Redmine(redmine).find(f"Big {tag}")
    assert attachments_of(redmine, issue) == {"note.txt": TEXT_FILE}
    told = "\n".join(str(p["message"]) + str(p["props"]) for p in emulator.dm_posts("bob"))
    assert "dump.bin" in told and "1 MB" in told


def test_a_thread_of_five_posts_with_two_files_becomes_one_note_with_both(
    client: FlaskClient, bridge: Bridge, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    """In the order they were written: the thread's `order` is not time order (app/post.go GetPostThread), and
    the emulator gives it in its own database's order, as the server does."""
    rm = Redmine(redmine)
    issue = rm.create("alice", "demo", f"Thread target {uuid.uuid4().hex[:8]}")
    root = emulator.post_as("alice", channel, "first: the report is late")
    texts = ["second: which one?", "third: the monthly one", "fourth: see the log", "fifth: and the screen"]
    files = [{}, {}, {"late.log": TEXT_FILE}, {"screen.png": png(3, 1)}]
    for text, attached in zip(texts, files, strict=True):
        time.sleep(0.002)  # a millisecond of its own each: two posts of one millisecond have no order to keep
        post_with_files(emulator, channel, "bob" if "?" in text else "carol", text, attached, root_id=root["id"])
    reply = slash(client, emulator, "bob", f"attach {root['id']} {issue} thread", channel)
    assert "#" in reply["text"] and str(issue) in reply["text"]
    notes = journals_of(redmine, issue)
    assert len(notes) == 1 and not notes[0]["private_notes"]
    body = notes[0]["notes"]
    order = [body.index(t) for t in ["first: the report", *texts]]
    assert order == sorted(order) and "@alice" in body and "@carol" in body and " UTC" in body
    assert attachments_of(redmine, issue) == {"late.log": TEXT_FILE, "screen.png": png(3, 1)}


@pytest.mark.parametrize(("person", "written"), [("bob", True), ("carol", False)])
def test_a_private_channels_post_is_a_private_note_for_a_developer_and_refused_for_a_reporter(
    client: FlaskClient, emulator: Any, redmine: RedmineInfo, person: str, written: bool
) -> None:
    """Developer holds set_notes_private in Redmine's default roles, Reporter does not: Redmine would make the
    Reporter's note public, so nothing is written (lib/redmine/default_data/loader.rb)."""
    issue = Redmine(redmine).create("alice", "demo", f"Private target {uuid.uuid4().hex[:8]}")
    room = private_channel(emulator, f"room-{uuid.uuid4().hex[:6]}")
    post = post_with_files(emulator, room, "alice", "only for this room", {"plan.txt": TEXT_FILE})
    reply = slash(client, emulator, person, f"attach {post['id']} {issue}", room)
    notes = journals_of(redmine, issue)
    if written:
        assert len(notes) == 1 and notes[0]["private_notes"] and "only for this room" in notes[0]["notes"]
        assert attachments_of(redmine, issue) == {} and "plan.txt" in reply["text"]
    else:
        assert notes == [] and "private" in reply["text"] and "Nothing was added" in reply["text"]


def test_a_post_in_a_channel_the_person_cannot_read_adds_nothing(
    client: FlaskClient, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    issue = Redmine(redmine).create("alice", "demo", f"Unreadable {uuid.uuid4().hex[:8]}")
    hidden = emulator.add_channel(f"hidden-{uuid.uuid4().hex[:6]}", [emulator.bot, emulator.user("alice")], "P")
    post = emulator.post_as("alice", hidden["id"], "not for bob")
    reply = slash(client, emulator, "bob", f"attach {post['id']} {issue}", channel)
    assert "cannot read its channel" in reply["text"] and journals_of(redmine, issue) == []


def test_the_attach_dialog_adds_the_note_once_however_often_it_is_sent(
    client: FlaskClient, bridge: Bridge, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    """The ticket emoji's DM offers *Add to a ticket*: a dialog with the person's recent tickets."""
    issue = Redmine(redmine).create("bob", "demo", f"Dialog target {uuid.uuid4().hex[:8]}")
    post = emulator.post_as("alice", channel, "add me once")
    before = len(emulator.dm_posts("bob"))
    offer_ticket_from_post(bridge, emulator.user("bob")["id"], post["id"])
    offer = emulator.dm_posts("bob")[before]
    add = next(a for a in offer["props"]["attachments"][0]["actions"] if "attach_form" in str(a["integration"]))
    dm = offer["channel_id"]  # the click comes from the DM the button is in
    assert click(client, emulator, "bob", dm, add).status_code == 200
    opened = emulator.dialogs[-1]
    titles = [o["text"] for o in next(e for e in opened["dialog"]["elements"] if e["name"] == "ticket")["options"]]
    assert any(t.startswith(f"#{issue} ") for t in titles)
    sent = dialog_submission(opened, emulator.user("bob"), dm, {"ticket": str(issue), "thread": False})
    for _ in range(3):
        assert client.post("/dialog", json=sent).status_code == 200
    assert len(journals_of(redmine, issue)) == 1


@pytest.mark.parametrize("person", ["alice", "bob"])
def test_a_private_channels_post_makes_a_private_ticket_where_the_person_may_else_asks_their_word(
    client: FlaskClient, emulator: Any, redmine: RedmineInfo, person: str
) -> None:
    """Manager holds set_issues_private, Developer does not (Redmine's default roles): alice's ticket is made
    private; bob must tick "Visible in the project" first, and then the ticket is public with its file."""
    tag = uuid.uuid4().hex[:8]
    room = private_channel(emulator, f"plans-{tag}")
    post = post_with_files(emulator, room, "carol", f"Budget draft {tag}", {"budget.txt": TEXT_FILE})
    assert slash(client, emulator, person, f"create_ticket_by_form {post['id']}", room) == {}
    opened = emulator.dialogs[-1]
    assert {"whole_thread", "visible_ok"} <= {e["name"] for e in opened["dialog"]["elements"]}
    values = {"projects": "demo", "trackers": "1", "subject": f"Budget {tag}", "status": "1", "priority": "2"}
    user = emulator.user(person)
    answer = client.post("/dialog", json=dialog_submission(opened, user, room, values)).get_json() or {}
    if person == "bob":
        assert "visible_ok" in answer["errors"] and not Redmine(redmine).search(f"Budget {tag}")
        values["visible_ok"] = True
        answer = client.post("/dialog", json=dialog_submission(opened, user, room, values)).get_json() or {}
    assert not answer.get("errors"), answer
    issue = Redmine(redmine).find(f"Budget {tag}")
    shown = requests.get(
        f"{redmine.url}/issues/{issue}.json", headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=15
    ).json()["issue"]
    assert shown["is_private"] is (person == "alice")
    assert attachments_of(redmine, issue) == {"budget.txt": TEXT_FILE}


def test_redmines_files_come_back_with_the_note_into_the_channels_thread(
    client: FlaskClient, feed_bridge: Bridge, emulator: Any, channel: str, redmine: RedmineInfo
) -> None:
    rm = Redmine(redmine)
    news = channel_named(emulator, f"news-{uuid.uuid4().hex[:6]}")
    subscribe(feed_bridge, emulator, news, "alice", demo_id(feed_bridge))
    issue = rm.create("alice", "demo", f"Files back {uuid.uuid4().hex[:8]}")
    cycle(feed_bridge)
    post = post_with_files(emulator, channel, "alice", "the screenshot", {"back.png": png(4, 4)})
    assert "1 file" in slash(client, emulator, "bob", f"attach {post['id']} {issue}", channel)["text"]
    cycle(feed_bridge)
    said = "\n".join(texts(emulator, news))
    assert "back.png" in said and "/attachments/" in said and "the screenshot" in said
