"""Everything the bridge says, said in Russian: every command's reply, every dialog it opens, every button
and what clicking it says, a ticket's card, the DMs, a channel's notifications and the due reminder, for
people whose Mattermost speaks Russian. Any English word left outside names, commands and Redmine's own data
(projects, trackers, statuses, priorities, people, subjects) fails the test, naming where it was seen."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from app_integration.adapters.mattermost.posts.post_listener import PostListener
from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.commands.registry import build_registry
from app_integration.core.events import Subscription
from app_integration.core.updates.change_feed import poll_once
from app_integration.core.updates.morning_digest import send_morning_digests
from app_integration.core.updates.outbox_delivery import deliver_due
from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine
from tests.integration.surface_support import click, slash
from tests.mattermost_payloads import dialog_submission
from tests.waiting import wait_for

# Words that are names in every language: the products and formats a Russian reader also sees in Latin
# letters, and a language's own name in the language choice (each language is named in itself).
NAMES = {"redmine", "mattermost", "api", "id", "email", "markdown", "english"}
MAX_CLICKS = 40
_CODE = re.compile(r"```.*?```|`[^`]*`", re.S)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"[@~][\w.\-]+|#t?\d+|:[a-z_]+:")
_TOKEN = re.compile(r"[A-Za-z0-9_'’]+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_ISSUE_ID = re.compile(r"(?:/issues/|#t?|№)(\d+)")


def english_words(text: str, allowed: set[str]) -> list[str]:
    for pattern in (_CODE, _LINK_TARGET, _URL, _HANDLE):
        text = pattern.sub(" ", text)
    # A token with a digit in it is a tag, a date or an id, never a word of prose.
    words = [t for t in _TOKEN.findall(text) if not any(ch.isdigit() for ch in t)]
    return [w for w in words if w.lower() not in allowed and len(w) > 1 and not w.isupper()]


def redmine_words(redmine: RedmineInfo, texts: Iterable[str]) -> set[str]:
    """Redmine's own data, as its users named it, stays in their language: the names of projects, trackers,
    statuses, priorities, activities, people and saved queries, time entries' comments, and the subjects of the
    tickets the bridge showed."""
    headers = {"X-Redmine-API-Key": redmine.admin_key}
    names: list[str] = []
    for path, key, fields in (
        ("/trackers.json", "trackers", ("name",)),
        ("/issue_statuses.json", "issue_statuses", ("name",)),
        ("/enumerations/issue_priorities.json", "issue_priorities", ("name",)),
        ("/enumerations/time_entry_activities.json", "time_entry_activities", ("name",)),
        ("/projects.json", "projects", ("name", "identifier")),
        ("/users.json", "users", ("firstname", "lastname", "login")),
        ("/queries.json", "queries", ("name",)),  # saved queries, as their authors named them
        ("/time_entries.json?limit=100", "time_entries", ("comments",)),  # what people wrote of their time
    ):
        answer = requests.get(f"{redmine.url}{path}", headers=headers, timeout=15).json()
        names += [str(item.get(field, "")) for item in answer[key] for field in fields]
    shown = sorted({int(n) for text in texts for n in _ISSUE_ID.findall(text)})
    for start in range(0, min(len(shown), 1000), 100):
        params = {"issue_id": ",".join(map(str, shown[start : start + 100])), "status_id": "*", "limit": 100}
        answer = requests.get(f"{redmine.url}/issues.json", params=params, headers=headers, timeout=15).json()
        names += [issue["subject"] for issue in answer["issues"]]
    return {w.lower() for name in names for w in _WORD.findall(name)}


class Heard:
    """What the bridge said, each with where it was seen."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.buttons: list[tuple[str, dict[str, Any]]] = []

    def add(self, where: str, *texts: Any) -> None:
        self.texts += [(where, str(t)) for t in texts if t]

    def reply(self, where: str, answer: dict[str, Any]) -> None:
        self.add(where, answer.get("text"), *(answer.get("errors") or {}).values())
        self.attachments(where, (answer.get("props") or {}).get("attachments") or answer.get("attachments") or [])

    def attachments(self, where: str, attachments: Iterable[dict[str, Any]]) -> None:
        for item in attachments:
            self.add(where, item.get("pretext"), item.get("title"), item.get("text"))
            self.add(where, *(f.get("title") for f in item.get("fields") or []))
            self.add(where, *(f.get("value") for f in item.get("fields") or []))
            for action in item.get("actions") or []:
                self.add(f"{where}: button", action.get("name"))
                self.add(f"{where}: button", *(o.get("text") for o in action.get("options") or []))
                if action.get("integration"):
                    self.buttons.append((f"{where} → {action.get('name')}", action))

    def dialog(self, where: str, opened: dict[str, Any]) -> None:
        dialog = opened["dialog"]
        self.add(f"{where}: dialog", dialog.get("title"), dialog.get("introduction_text"), dialog.get("submit_label"))
        for element in dialog.get("elements") or []:
            self.add(f"{where}: dialog field", element.get("display_name"), element.get("help_text"))
            self.add(f"{where}: dialog field", element.get("placeholder"))
            self.add(f"{where}: dialog choice", *(o.get("text") for o in element.get("options") or []))

    def posts(self, where: str, posts: Iterable[dict[str, Any]], bot_id: str) -> None:
        """The bot's posts: what people wrote themselves is not the bridge's to translate."""
        for post in (p for p in posts if p["user_id"] == bot_id):
            self.add(where, post.get("message"))
            self.attachments(where, (post.get("props") or {}).get("attachments") or [])

    def english(self, allowed: set[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for where, text in self.texts:
            if words := english_words(text, allowed):
                found.setdefault(where, []).extend(w for w in words if w not in found.get(where, []))
        return found


def run(client: FlaskClient, emulator: Any, heard: Heard, channel: str, text: str) -> dict[str, Any]:
    dialogs = len(emulator.dialogs)
    answer = slash(client, emulator, "bob", text, channel)
    heard.reply(f"/{text}", answer)
    if len(emulator.dialogs) > dialogs:
        heard.dialog(f"/{text}", emulator.dialogs[-1])
    return dict(answer)


def press_buttons(client: FlaskClient, emulator: Any, heard: Heard, channel: str) -> int:
    """Each button heard once (bounded): what clicking it says, and the dialog it opens."""
    pressed: set[str] = set()
    for _ in range(MAX_CLICKS):
        waiting = [(w, b) for w, b in heard.buttons if w not in pressed and "disconnect" not in w.lower()]
        if not waiting:
            break
        where, button = waiting[0]
        pressed.add(where)
        dialogs = len(emulator.dialogs)
        answer = click(client, emulator, "bob", channel, button)
        if answer.status_code == 200 and answer.is_json:
            body = answer.get_json() or {}
            heard.add(where, (body.get("update") or {}).get("message"), body.get("ephemeral_text"))
            heard.attachments(where, ((body.get("update") or {}).get("props") or {}).get("attachments") or [])
        if len(emulator.dialogs) > dialogs:
            heard.dialog(where, emulator.dialogs[-1])
    return len(pressed)


@pytest.fixture
def russians(emulator: Any) -> None:
    for name in ("alice", "bob", "carol"):
        emulator.user(name)["locale"] = "ru"


@pytest.mark.usefixtures("russians")
def test_everything_the_bridge_says_to_russian_speakers_is_russian(
    client: FlaskClient, bridge: Bridge, emulator: Any, channel: str, redmine: RedmineInfo, seeded: dict[str, int]
) -> None:
    heard = Heard()
    registry = build_registry()
    emulator.channels[channel]["admins"] = {emulator.user("bob")["id"]: "channel_admin"}  # may subscribe it
    tag = uuid.uuid4().hex[:6]
    for command in registry:
        run(client, emulator, heard, channel, command.name)
    # A ticket of this test's own for the card: a seeded one carries other tests' English notes.
    card = Redmine(redmine).create("bob", "demo", f"Карточка {tag}", assigned_to_id=Redmine(redmine).user_id("bob"))
    run(client, emulator, heard, channel, f"ticket {card}")
    run(client, emulator, heard, channel, "ticket 999999")
    run(client, emulator, heard, channel, f"create_tickets 1. Отчёт {tag} @alice 31.12.27\n2. Плохая строка 31.02.27")
    run(client, emulator, heard, channel, f"create_tickets 1. Отчёт {tag} @alice 31.12.27")
    run(client, emulator, heard, channel, "no_such_command")
    form = run(client, emulator, heard, channel, "create_ticket_by_form")
    assert form == {} and emulator.dialogs
    bad = dialog_submission(emulator.dialogs[-1], emulator.user("bob"), channel, {"subject": "", "due_date": "32.13"})
    heard.reply("the ticket form, sent wrong", client.post("/dialog", json=bad).get_json() or {})
    assert press_buttons(client, emulator, heard, channel) >= 10

    listener = PostListener(bridge, emulator.websocket_url)  # not started: its handler, as the stream calls it
    listener._bot_id = emulator.bot["id"]
    dm = emulator.direct_channel(emulator.bot["id"], emulator.user("bob")["id"])["id"]
    for text in ("что это?", f"#t{seeded['public']}", "tickets_for_me", "ticket"):
        sent = emulator.post_as("bob", dm, text)
        listener.handle({"event": "posted", "data": {"channel_type": "D", "post": json.dumps(sent)}})

    notifications(bridge, emulator, redmine, heard, tag)
    heard.posts("a DM from the bot", emulator.dm_posts("bob") + emulator.dm_posts("alice"), emulator.bot["id"])
    heard.posts("the channel", emulator.posts_in(channel), emulator.bot["id"])

    seen = " ".join(where for where, _ in heard.texts)
    for part in ("/subscribe: dialog", ": button", "dialog choice", "a DM from the bot", "a channel's notification"):
        assert part in seen, f"nothing heard from {part}"
    assert len(heard.texts) > 100
    allowed = (
        NAMES | redmine_words(redmine, (t for _, t in heard.texts)) | {n.lower() for c in registry for n in c.names}
    )
    english = heard.english(allowed)
    assert english == {}, "\n".join(f"{where}: {words}" for where, words in sorted(english.items()))


def notifications(bridge: Bridge, emulator: Any, redmine: RedmineInfo, heard: Heard, tag: str) -> None:
    """A channel subscribed in Russian hears a new ticket and its change; the assignee hears it in a DM, and
    the due reminder in the morning."""
    bridge.users.sync_map(bridge.chat)
    people = [emulator.bot, *(emulator.user(n) for n in ("alice", "bob", "carol"))]
    news = emulator.add_channel(f"news-{tag}", people)["id"]
    poll_once(bridge.services, bridge.store)
    time.sleep(1.05)  # Redmine's clock has whole seconds: the changes below come after the cursor
    project = bridge.gateway.project("alice", "demo").id
    bridge.subscriptions.add_subscription(
        Subscription(news, emulator.user("alice")["id"], project, "Demo", locale="ru")
    )
    rm = Redmine(redmine)
    today = dt.date.today().isoformat()
    issue = rm.create("alice", "demo", f"Новость {tag}", assigned_to_id=rm.user_id("bob"), due_date=today)
    rm.update("alice", issue, notes=f"Заметка для @bob {tag}", status_id=2)
    poll_once(bridge.services, bridge.store)
    deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC))
    wait_for(lambda: emulator.posts_in(news), timeout=30)
    weekday = dt.datetime.now(dt.UTC).replace(hour=9)
    weekday += dt.timedelta(days=(7 - weekday.weekday()) % 7 if weekday.weekday() >= 5 else 0)  # the digest's days
    assert send_morning_digests(bridge.services, weekday) >= 1
    deliver_due(bridge.chat, bridge.subscriptions, bridge.outbox, dt.datetime.now(dt.UTC))
    heard.posts("a channel's notification", emulator.posts_in(news), emulator.bot["id"])
