"""Tickets from posts, thread replies as Redmine notes, and `#t` cards, end to end: the emulator's websocket
and REST, the listener and the web app, and the real Redmine."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.mattermost.posts.websocket_client import Backoff
from app_integration.adapters.runtime.web_app import create_app
from app_integration.adapters.runtime.wiring import Bridge, build_bridge
from app_integration.core.events import Subscription
from app_integration.core.updates.change_feed import poll_once
from app_integration.core.updates.outbox_delivery import deliver_due
from mattermost_server.emulator import trigger_id
from tests.conftest import RedmineInfo, bridge_settings, issues_matching
from tests.integration.surface_support import slash
from tests.mattermost_payloads import dialog_submission, refused_click
from tests.waiting import wait_for

FAST = Backoff(first=0.05, most=0.2)


@pytest.fixture
def live(
    redmine: RedmineInfo, emulator: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Bridge, PostListener]]:
    """A bridge with its listener running (LINK_MODE from the test's `link_mode` mark, rewrite otherwise)."""
    mark = request.node.get_closest_marker("link_mode")
    settings = bridge_settings(
        redmine.url,
        redmine.admin_key,
        emulator.url,
        emulator.bot_token,
        tmp_path,
        mattermost_websocket_url=emulator.websocket_url,
        link_mode=mark.args[0] if mark else "rewrite",
        link_on_edit=request.node.get_closest_marker("link_on_edit") is not None,
    )
    bridge = build_bridge(settings, None)
    bridge.users.sync_map(bridge.chat)
    listener = PostListener(bridge, emulator.websocket_url, backoff=FAST).start()
    wait_for(emulator.connected)
    yield bridge, listener
    listener.stop()


@pytest.fixture
def running(live: tuple[Bridge, PostListener]) -> Bridge:
    return live[0]


@pytest.fixture
def web(running: Bridge) -> Iterator[FlaskClient]:
    with create_app(running.settings, running).test_client() as test_client:
        yield test_client


def channel_of(emulator: Any, kind: str, *members: str) -> str:
    people = [emulator.bot, *(emulator.user(m) for m in members)]
    return str(emulator.add_channel(f"{kind.lower()}-{uuid.uuid4().hex[:6]}", people, kind=kind)["id"])


def test_a_ticket_from_a_post_by_permalink_is_prefilled_and_announced_in_its_thread(
    web: FlaskClient, running: Bridge, emulator: Any, redmine: RedmineInfo
) -> None:
    channel = channel_of(emulator, "P", "alice", "bob")
    subject = f"Fix the login page {uuid.uuid4().hex[:6]}"
    post = emulator.post_as("bob", channel, f"{subject}\nIt fails on Safari since Monday.")
    link = f"{emulator.url}/_redirect/pl/{post['id']}"
    stranger = slash(web, emulator, "carol", f"create_ticket_by_form {link}", channel)  # not in that channel
    assert "cannot read its channel" in stranger["text"]
    assert slash(web, emulator, "alice", f"create_ticket_by_form {link}", channel) == {}
    opened = emulator.dialogs[-1]
    defaults = {e["name"]: e.get("default") for e in opened["dialog"]["elements"]}
    assert defaults["subject"] == subject
    assert "It fails on Safari" in defaults["description"] and link in defaults["description"]
    values = {"projects": "demo", "trackers": "1", "status": "1", "priority": "2", "done": "0"}
    values.update(subject=defaults["subject"], description=defaults["description"])
    answer = web.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, values))
    assert answer.status_code == 200
    [made] = issues_matching(redmine, subject)
    assert made["author"]["name"] == "Alice Anders" and link in made["description"]
    thread = [p for p in emulator.posts_in(channel) if p["root_id"] == post["id"]]
    assert len(thread) == 1 and f"/issues/{made['id']})" in thread[0]["message"]


def test_the_ticket_emoji_brings_a_dm_whose_button_opens_the_prefilled_form(
    web: FlaskClient, live: tuple[Bridge, PostListener], emulator: Any
) -> None:
    _bridge, listener = live
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    post = emulator.post_as("carol", channel, "Order more coffee for the office")
    before = len(emulator.dm_posts("bob"))
    emulator.react_as("bob", post["id"], "thumbsup")
    emulator.react_as("bob", post["id"], "ticket")
    dm = wait_for(lambda: emulator.dm_posts("bob")[before:])
    wait_for(listener.settled)  # the thumbs-up came first, so it is handled too
    assert len(emulator.dm_posts("bob")) == before + 1  # and it brought nothing
    button, add = dm[0]["props"]["attachments"][0]["actions"]
    assert button["name"] == "Create a ticket from this post" and add["name"] == "Add to a ticket"
    stolen = {
        "user_id": emulator.user("alice")["id"],
        "channel_id": dm[0]["channel_id"],  # the click comes from the DM the button is in
        "context": button["integration"]["context"],
    }
    assert refused_click(web.post("/actions", json=stolen))  # signed for bob alone
    click = {**stolen, "user_id": emulator.user("bob")["id"], "trigger_id": trigger_id(emulator.user("bob")["id"])}
    assert web.post("/actions", json=click).get_json() == {}
    defaults = {e["name"]: e.get("default") for e in emulator.dialogs[-1]["dialog"]["elements"]}
    assert defaults["subject"] == "Order more coffee for the office" and "@carol" in defaults["description"]


def subscribed_thread(bridge: Bridge, emulator: Any, redmine: RedmineInfo, channel: str) -> tuple[int, str]:
    """A ticket with its thread in `channel`, whose subscription syncs replies; (ticket id, root post id)."""
    demo = bridge.gateway.project("alice", "demo").id
    owner = emulator.user("alice")["id"]
    bridge.subscriptions.add_subscription(Subscription(channel, owner, demo, "Demo", sync_replies=True))
    poll_once(bridge.services, bridge.store)
    time.sleep(1.05)
    headers = {"X-Redmine-API-Key": redmine.admin_key, "X-Redmine-Switch-User": "alice"}
    body = {"issue": {"project_id": "demo", "subject": f"Synced {uuid.uuid4().hex[:8]}"}}
    issue = int(
        requests.post(f"{redmine.url}/issues.json", json=body, headers=headers, timeout=15).json()["issue"]["id"]
    )
    poll_once(bridge.services, bridge.store)
    deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC))
    [root] = emulator.posts_in(channel)
    return issue, root["id"]


def journals(redmine: RedmineInfo, issue: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = requests.get(
        f"{redmine.url}/issues/{issue}.json?include=journals",
        headers={"X-Redmine-API-Key": redmine.admin_key},
        timeout=15,
    ).json()["issue"]["journals"]
    return found


def test_a_reply_in_a_tickets_thread_becomes_a_private_note_and_never_echoes(
    running: Bridge, emulator: Any, redmine: RedmineInfo
) -> None:
    channel = channel_of(emulator, "P", "alice", "bob", "carol", "erin")
    issue, root = subscribed_thread(running, emulator, redmine, channel)
    reply = emulator.post_as("bob", channel, "Reproduced on staging.", root_id=root)
    note = wait_for(lambda: [j for j in journals(redmine, issue) if "Reproduced on staging." in (j["notes"] or "")])
    assert note[0]["user"]["name"] == "Bob Brown" and note[0]["private_notes"] is True
    assert f"/_redirect/pl/{reply['id']}" in note[0]["notes"]
    poll_once(running.services, running.store)
    deliver_due(running.chat, running.subscriptions, running.outbox, dt.datetime.now(dt.UTC))
    assert [p["user_id"] for p in emulator.posts_in(channel)].count(emulator.bot["id"]) == 1  # the card only

    before = len(journals(redmine, issue))
    emulator.post_as("carol", channel, "Me too", root_id=root)  # a Reporter: Redmine would make it public
    emulator.post_as("erin", channel, "And me", root_id=root)  # nobody in Redmine
    wait_for(lambda: len(emulator.ephemerals) >= 2)
    told = [e["post"]["message"] for e in emulator.ephemerals]
    assert any("not public" in t for t in told) and any("not linked to a Redmine account" in t for t in told)
    assert len(journals(redmine, issue)) == before


def test_a_slow_redmine_cannot_echo_a_reply_back_into_its_thread(
    running: Bridge, emulator: Any, redmine: RedmineInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed polls while Redmine is still answering the note's write (Redmine slow, or the read-back slow):
    the reply was recorded as an echo before Redmine was asked, so the feed never posts it back."""
    channel = channel_of(emulator, "O", "alice", "bob")  # public: the note is public, and would be posted
    issue, root = subscribed_thread(running, emulator, redmine, channel)
    desk = running.services.desk
    write = desk.change_ticket
    polled: list[int] = []

    def slow_write(*args: Any, **kwargs: Any) -> Any:
        done = write(*args, **kwargs)
        time.sleep(1.05)  # the journal's second is over: a poll now sees it
        poll_once(running.services, running.store)
        deliver_due(running.chat, running.subscriptions, running.outbox, dt.datetime.now(dt.UTC))
        polled.append(issue)
        return done

    monkeypatch.setattr(type(desk), "change_ticket", lambda self, *a, **k: slow_write(*a, **k))
    emulator.post_as("bob", channel, "Seen on prod too.", root_id=root)
    wait_for(lambda: [j for j in journals(redmine, issue) if "Seen on prod too." in (j["notes"] or "")])
    wait_for(lambda: polled)
    poll_once(running.services, running.store)
    deliver_due(running.chat, running.subscriptions, running.outbox, dt.datetime.now(dt.UTC))
    assert [p["user_id"] for p in emulator.posts_in(channel)].count(emulator.bot["id"]) == 1  # the card only


def test_a_reply_whose_answer_was_lost_is_written_once(
    live: tuple[Bridge, PostListener], emulator: Any, redmine: RedmineInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redmine wrote the note but its answer was lost (a cut connection): the listener tries the reply again,
    finds its note (it ends with the reply's permalink) and writes no second one."""
    from app_integration.adapters.mattermost.posts import post_listener
    from app_integration.core.errors import RedmineNoAnswer

    monkeypatch.setattr(post_listener, "RETRY_SECONDS", 0.5)
    running, listener = live
    channel = channel_of(emulator, "P", "alice", "bob")
    issue, root = subscribed_thread(running, emulator, redmine, channel)
    desk = running.services.desk
    write = desk.change_ticket
    tries: list[int] = []

    def lost_answer(*args: Any, **kwargs: Any) -> Any:
        tries.append(issue)
        write(*args, **kwargs)
        if len(tries) == 1:
            raise RedmineNoAnswer("the connection was cut after Redmine wrote the note")

    read = desk.ticket
    reads: list[int] = []

    def counted_read(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(type(desk), "change_ticket", lambda self, *a, **k: lost_answer(*a, **k))
    monkeypatch.setattr(type(desk), "ticket", lambda self, *a, **k: counted_read(*a, **k))
    emulator.post_as("bob", channel, "Written once.", root_id=root)
    wait_for(lambda: len(reads) >= 2, timeout=30)  # the first try, and the retry after the lost answer
    wait_for(lambda: listener.fence.oldest_unfinished_post_at() == 0)  # the retry is done
    notes = [j for j in journals(redmine, issue) if "Written once." in (j["notes"] or "")]
    assert len(notes) == 1 and len(tries) == 1


@pytest.mark.link_on_edit
def test_an_edited_reply_writes_no_second_note(running: Bridge, emulator: Any, redmine: RedmineInfo) -> None:
    """With LINK_ON_EDIT, an edit is linked again, but only a new post becomes a note (`post_edited` also carries
    no channel type, which must never be taken for public)."""
    channel = channel_of(emulator, "P", "alice", "bob")
    issue, root = subscribed_thread(running, emulator, redmine, channel)
    reply = emulator.post_as("bob", channel, "First words.", root_id=root)
    wait_for(lambda: [j for j in journals(redmine, issue) if "First words." in (j["notes"] or "")])
    before = len(journals(redmine, issue))
    emulator.edit_as(reply["id"], "First words, edited.")
    emulator.post_as("bob", channel, "After the edit.", root_id=root)  # handled after the edit: the marker
    wait_for(lambda: [j for j in journals(redmine, issue) if "After the edit." in (j["notes"] or "")])
    added = [j["notes"] for j in journals(redmine, issue)[before:]]
    assert len(added) == 1 and "After the edit." in added[0]


@pytest.mark.link_mode("card")
def test_card_mode_cards_what_everyone_may_see_links_the_rest_and_keeps_quiet(
    running: Bridge, emulator: Any, seeded: dict[str, int], redmine: RedmineInfo
) -> None:
    channel = next(c["id"] for c in emulator.channels.values() if c["name"] == "town-square")
    text = f"see #t{seeded['public']}, #t{seeded['private']} and #t{seeded['secret']}"
    post = emulator.post_as("alice", channel, text)
    [reply] = wait_for(lambda: [p for p in emulator.posts_in(channel) if p["root_id"] == post["id"]])
    lines = reply["message"].splitlines()
    assert "Seeded: public issue in demo" in lines[0] and "Bob Brown" in lines[0]  # a card
    assert lines[1:] == [
        f"[#t{seeded[name]}]({redmine.url}/issues/{seeded[name]})" for name in ("private", "secret")
    ]  # alice may see them, but not everyone in the channel: bare links
    again = emulator.post_as("bob", channel, f"still #t{seeded['public']} and #t{seeded['secret']}")
    [second] = wait_for(lambda: [p for p in emulator.posts_in(channel) if p["root_id"] == again["id"]])
    # carded here lately: a bare link; and bob cannot see the secret one: nothing at all
    assert second["message"] == f"[#t{seeded['public']}]({redmine.url}/issues/{seeded['public']})"
