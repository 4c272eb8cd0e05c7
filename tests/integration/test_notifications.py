"""Redmine's changes back into the chat, end to end: changes made over REST in the real Redmine, read by
the change feed, fanned out as each reader sees the issue, and delivered to the emulator."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.errors import ChatUnavailable
from app_integration.core.events import Subscription
from app_integration.core.redmine_updates.change_feed import load_cursor, poll_once
from app_integration.core.redmine_updates.outbox_delivery import deliver_due
from mattermost_server.emulator import trigger_id, wait_for
from tests.conftest import RedmineInfo
from tests.mattermost_payloads import dialog_submission, slash_form, slash_headers


class Redmine:
    """Changes made by people over Redmine's REST API, as they would make them in its web UI."""

    def __init__(self, info: RedmineInfo) -> None:
        self.info = info

    def _call(self, login: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"X-Redmine-API-Key": self.info.admin_key, "X-Redmine-Switch-User": login}
        response = requests.request(method, f"{self.info.url}{path}", json=body, headers=headers, timeout=15)
        assert response.status_code in (200, 201, 204), response.text
        return response.json() if response.content.strip() else None

    def create(self, login: str, project: str, subject: str, **fields: Any) -> int:
        body = {"issue": {"project_id": project, "subject": subject, **fields}}
        return int(self._call(login, "POST", "/issues.json", body)["issue"]["id"])

    def update(self, login: str, issue_id: int, **fields: Any) -> None:
        self._call(login, "PUT", f"/issues/{issue_id}.json", {"issue": fields})

    def user_id(self, login: str) -> int:
        found = self._call("admin", "GET", f"/users.json?name={login}")["users"]
        return int(next(u["id"] for u in found if u["login"] == login))


@pytest.fixture
def rm(redmine: RedmineInfo) -> Redmine:
    return Redmine(redmine)


@pytest.fixture
def feed_bridge(bridge: Bridge) -> Bridge:
    """A bridge whose map is claimed and whose feed has started (its cursor set at Redmine's newest change)."""
    bridge.users.sync_map(bridge.chat)
    poll_once(bridge.services, bridge.store)
    assert load_cursor(bridge.store) is not None
    time.sleep(1.05)  # Redmine's clock has whole seconds: the changes below come after the cursor's
    return bridge


def cycle(bridge: Bridge) -> None:
    poll_once(bridge.services, bridge.store)
    deliver_due(bridge.chat, bridge.notifications, bridge.outbox, dt.datetime.now(dt.UTC))


def channel_named(emulator: Any, name: str, kind: str = "O", members: tuple[str, ...] = ()) -> str:
    people = [emulator.bot, *(emulator.user(m) for m in members or ("alice", "bob", "carol"))]
    return str(emulator.add_channel(name, people, kind=kind)["id"])


def subscribe(bridge: Bridge, emulator: Any, channel: str, owner: str, project_id: int, **extra: Any) -> Subscription:
    subscription = Subscription(channel, emulator.user(owner)["id"], project_id, "Demo", **extra)
    return bridge.notifications.add_subscription(subscription)


def texts(emulator: Any, channel: str) -> list[str]:
    return [p["message"] for p in emulator.posts_in(channel)]


def demo_id(bridge: Bridge) -> int:
    return bridge.gateway.project("alice", "demo").id


def test_a_new_ticket_and_its_changes_make_one_thread_whose_card_follows(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    channel = channel_named(emulator, "dev-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    subject = f"Feed {uuid.uuid4().hex[:8]}"
    issue = rm.create("alice", "demo", subject, assigned_to_id=rm.user_id("bob"))
    cycle(feed_bridge)
    [root] = emulator.posts_in(channel)
    assert f"#{issue}" in root["message"] and subject in root["message"] and "Status: **New**" in root["message"]

    rm.update("bob", issue, status_id=2, notes="Started on it, @alice please review")
    cycle(feed_bridge)
    posts = emulator.posts_in(channel)
    assert len(posts) == 2 and posts[1]["root_id"] == root["id"]
    reply = posts[1]["message"]
    assert "moved it to **In Progress**" in reply and "Started on it" in reply
    assert "@\u200bbob" in reply  # the actor is named, never pinged for their own change
    assert "@\u200balice please review" in reply  # a note's text cannot ping anyone in the channel
    assert "Status: **In Progress**" in emulator.posts[root["id"]]["message"]  # the card shows the state now

    cycle(feed_bridge)  # nothing new: nothing posted again
    assert len(emulator.posts_in(channel)) == 2


def test_personal_dms_reach_the_assignee_and_the_mentioned_once_and_never_the_actor(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    before = {name: len(emulator.dm_posts(name)) for name in ("alice", "bob", "carol")}
    issue = rm.create("alice", "demo", f"DM {uuid.uuid4().hex[:8]}", assigned_to_id=rm.user_id("bob"))
    cycle(feed_bridge)
    bob_dms = emulator.dm_posts("bob")[before["bob"] :]
    assert len(bob_dms) == 1 and "assigned to you" in bob_dms[0]["message"] and f"#{issue}" in bob_dms[0]["message"]
    assert len(emulator.dm_posts("alice")) == before["alice"]  # her own change

    rm.update("bob", issue, notes="@carol and @alice, have a look")
    cycle(feed_bridge)
    carol_dms = emulator.dm_posts("carol")[before["carol"] :]
    assert len(carol_dms) == 1 and "you were mentioned" in carol_dms[0]["message"]
    alice_dms = emulator.dm_posts("alice")[before["alice"] :]
    # alice is the author and is mentioned: one DM, for the stronger reason
    assert len(alice_dms) == 1 and "you were mentioned" in alice_dms[0]["message"]
    assert len(emulator.dm_posts("bob")) == before["bob"] + 1  # bob wrote the note


def test_the_secret_project_never_reaches_a_public_channel_nor_an_owner_who_cannot_see_it(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    secret_id = feed_bridge.gateway.project("alice", "secret").id
    public = channel_named(emulator, "pub-" + uuid.uuid4().hex[:6])
    private = channel_named(emulator, "priv-" + uuid.uuid4().hex[:6], kind="P")
    bobs = channel_named(emulator, "bobs-" + uuid.uuid4().hex[:6], kind="P")
    subscribe(feed_bridge, emulator, public, "alice", secret_id)
    subscribe(feed_bridge, emulator, private, "alice", secret_id)
    subscribe(feed_bridge, emulator, bobs, "bob", secret_id)  # bob is no member of secret
    subject = f"Secret {uuid.uuid4().hex[:8]}"
    rm.create("alice", "secret", subject)
    cycle(feed_bridge)
    assert texts(emulator, public) == [] and texts(emulator, bobs) == []
    assert any(subject in t for t in texts(emulator, private))


def test_a_private_issue_and_a_private_note_stay_with_those_who_may_see_them(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    demo = demo_id(feed_bridge)
    private = channel_named(emulator, "p-" + uuid.uuid4().hex[:6], kind="P")
    public = channel_named(emulator, "o-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, private, "alice", demo)
    subscribe(feed_bridge, emulator, public, "alice", demo)
    hidden = rm.create("alice", "demo", f"Private {uuid.uuid4().hex[:8]}", is_private=True)
    cycle(feed_bridge)
    assert not any(f"#{hidden}" in t for t in texts(emulator, public))
    assert any(f"#{hidden}" in t for t in texts(emulator, private))

    shown = rm.create("alice", "demo", f"Public {uuid.uuid4().hex[:8]}", assigned_to_id=rm.user_id("carol"))
    cycle(feed_bridge)
    carol_before = len(emulator.dm_posts("carol"))
    rm.update("alice", shown, notes="only for developers", private_notes=True)
    cycle(feed_bridge)
    for channel in (private, public):
        assert not any("only for developers" in t for t in texts(emulator, channel))
    # carol is a Reporter: Redmine hides private notes from her, so no DM tells her of it
    assert len(emulator.dm_posts("carol")) == carol_before


def test_a_channel_made_public_gets_no_private_event_queued_before(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    """The event was fanned out while the channel was private; it is made public before delivery. Mattermost
    announces it with `channel_converted` (app/channel.go); delivery asks the channel's type again anyway."""
    secret_id = feed_bridge.gateway.project("alice", "secret").id
    channel = channel_named(emulator, "conv-" + uuid.uuid4().hex[:6], kind="P")
    subscribe(feed_bridge, emulator, channel, "alice", secret_id)
    assert feed_bridge.chat.channel_kind(channel) == "P"  # cached, as a fan-out a moment ago left it
    subject = f"Secret {uuid.uuid4().hex[:8]}"
    rm.create("alice", "secret", subject)
    poll_once(feed_bridge.services, feed_bridge.store)
    emulator.convert_channel(channel, "O")
    report = deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    assert report.dropped == 1 and not any(subject in t for t in texts(emulator, channel))
    rm.create("alice", "secret", subject + " again")
    cycle(feed_bridge)
    assert texts(emulator, channel) == []


def test_a_locked_account_mentioned_in_a_note_costs_only_its_own_dm(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    """dave is locked in Redmine and in the operator's map, as in any company. A note naming @dave must not stop
    the feed: the channel gets the note and every later change, and `check` names dave."""
    from app_integration.adapters.runtime.doctor import diagnose

    channel = channel_named(emulator, "lk-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    issue = rm.create("alice", "demo", f"Locked {uuid.uuid4().hex[:8]}")
    rm.update("bob", issue, notes="@dave please have a look")
    cycle(feed_bridge)
    rm.update("bob", issue, notes="a later change")
    cycle(feed_bridge)
    shown = "\n".join(texts(emulator, channel))
    assert "please have a look" in shown and "a later change" in shown
    assert "dave" in feed_bridge.notifications.skipped_accounts()
    [feed] = [f for f in diagnose(feed_bridge) if f.check == "Feed accounts"]
    assert not feed.ok and "dave" in feed.detail


def test_a_locked_subscription_owner_pauses_only_that_subscription(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    from app_integration.core.chat_commands.subscriptions import subscriptions
    from app_integration.core.models import CommandContext

    locked = channel_named(emulator, "ld-" + uuid.uuid4().hex[:6], members=("alice", "dave"))
    open_ = channel_named(emulator, "la-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, locked, "dave", demo_id(feed_bridge))
    subscribe(feed_bridge, emulator, open_, "alice", demo_id(feed_bridge))
    subject = f"Owners {uuid.uuid4().hex[:8]}"
    rm.create("alice", "demo", subject)
    cycle(feed_bridge)
    assert any(subject in t for t in texts(emulator, open_)) and texts(emulator, locked) == []
    alice = feed_bridge.chat.user(emulator.user("alice")["id"])
    assert alice is not None
    listed = subscriptions(feed_bridge.services, CommandContext(user=alice, channel_id=locked, surface="slash"))
    assert "paused" in listed.text and "dave" in listed.text


def test_a_restart_between_cycles_neither_repeats_nor_skips(
    feed_bridge: Bridge, emulator: Any, rm: Redmine, redmine: RedmineInfo, tmp_path: Any
) -> None:
    from app_integration.adapters.runtime.wiring import build_bridge

    channel = channel_named(emulator, "r-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    first = rm.create("alice", "demo", f"Before {uuid.uuid4().hex[:8]}")
    cycle(feed_bridge)
    restarted = build_bridge(feed_bridge.settings, None)  # the same database: a new process
    second = rm.create("alice", "demo", f"After {uuid.uuid4().hex[:8]}")
    cycle(restarted)
    cycle(restarted)
    roots = [t for t in texts(emulator, channel) if "Status:" in t]
    assert [f"#{first}" in roots[0], f"#{second}" in roots[1], len(roots)] == [True, True, 2]


def test_a_mattermost_outage_delays_delivery_and_loses_nothing(feed_bridge: Bridge, emulator: Any, rm: Redmine) -> None:
    channel = channel_named(emulator, "m-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    issue = rm.create("alice", "demo", f"Outage {uuid.uuid4().hex[:8]}")
    poll_once(feed_bridge.services, feed_bridge.store)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)  # past any backoff
    emulator.refuse_rest = True
    try:
        report = deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC))
        assert (report.sent, report.retried) == (0, 1)
        during = rm.create("alice", "demo", f"During {uuid.uuid4().hex[:8]}")
        # the fan-out may ask Mattermost too (unless cached): then the feed pauses, its cursor kept
        with contextlib.suppress(ChatUnavailable):
            poll_once(feed_bridge.services, feed_bridge.store)
        assert (
            deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC)).sent
            == 0
        )
    finally:
        emulator.refuse_rest = False
    poll_once(feed_bridge.services, feed_bridge.store)
    deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, later)
    posted = texts(emulator, channel)
    assert [sum(f"#{n}" in t for t in posted) for n in (issue, during)] == [1, 1]


def test_a_deleted_thread_root_starts_a_new_thread(feed_bridge: Bridge, emulator: Any, rm: Redmine) -> None:
    channel = channel_named(emulator, "d-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    issue = rm.create("alice", "demo", f"Deleted root {uuid.uuid4().hex[:8]}")
    cycle(feed_bridge)
    [root] = emulator.posts_in(channel)
    emulator.delete_post(root["id"])
    rm.update("alice", issue, priority_id=3)
    cycle(feed_bridge)
    live = [p for p in emulator.posts_in(channel) if not p["delete_at"]]
    assert len(live) == 2 and live[1]["root_id"] == live[0]["id"] and "priority to **High**" in live[1]["message"]


def test_without_edit_rights_the_state_goes_into_the_thread(feed_bridge: Bridge, emulator: Any, rm: Redmine) -> None:
    channel = channel_named(emulator, "e-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    issue = rm.create("alice", "demo", f"No edit {uuid.uuid4().hex[:8]}")
    cycle(feed_bridge)
    emulator.post_edit_time_limit = 0  # the root is past the edit time limit now
    time.sleep(0.01)
    rm.update("alice", issue, status_id=2)
    cycle(feed_bridge)
    root, reply = emulator.posts_in(channel)
    assert "Status: **New**" in root["message"]
    assert "Status: **In Progress**" in reply["message"]


# The slash and dialog surface ----------------------------------------------------------------------------------------
def slash(client: FlaskClient, emulator: Any, username: str, text: str, channel: str) -> Any:
    response = client.post("/slash", data=slash_form(emulator.user(username), text, channel), headers=slash_headers())
    assert response.status_code == 200
    return response.get_json()


def subscribe_by_dialog(client: FlaskClient, emulator: Any, username: str, channel: str, **values: Any) -> Any:
    count = len(emulator.dialogs)
    assert slash(client, emulator, username, "subscribe", channel) == {}
    assert len(emulator.dialogs) == count + 1
    opened = emulator.dialogs[-1]
    submission = {"projects": "demo", "subprojects": True, "status": "any"}
    submission.update({f"event_{k}": True for k in ("created", "status", "note")})
    submission.update(values)
    return client.post("/dialog", json=dialog_submission(opened, emulator.user(username), channel, submission))


def test_only_a_channel_admin_may_subscribe_and_the_dialog_saves_it(
    client: FlaskClient, bridge: Bridge, emulator: Any
) -> None:
    channel = channel_named(emulator, "s-" + uuid.uuid4().hex[:6])
    refused = slash(client, emulator, "bob", "subscribe", channel)
    assert "channel admin" in refused["text"]
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    assert subscribe_by_dialog(client, emulator, "alice", channel).status_code == 200
    [saved] = bridge.notifications.subscriptions(channel)
    assert (saved.owner_id, saved.project_name, saved.events) == (
        emulator.user("alice")["id"],
        "Demo",
        frozenset({"created", "status", "note"}),
    )
    listed = slash(client, emulator, "alice", "subscriptions", channel)
    labels = [a["name"] for a in listed["attachments"][0]["actions"]]
    assert labels == [f"Edit #{saved.id}", f"Remove #{saved.id}"]
    assert "channel admin" in slash(client, emulator, "bob", f"unsubscribe {saved.id}", channel)["text"]
    assert "Removed" in slash(client, emulator, "alice", f"unsubscribe {saved.id}", channel)["text"]
    assert bridge.notifications.subscriptions(channel) == []


def test_a_public_channel_cannot_subscribe_a_project_that_is_not_public(
    client: FlaskClient, bridge: Bridge, emulator: Any
) -> None:
    channel = channel_named(emulator, "q-" + uuid.uuid4().hex[:6])
    emulator.team_admins.add(emulator.user("alice")["id"])  # a team admin may, without being a channel admin
    answer = subscribe_by_dialog(client, emulator, "alice", channel, projects="secret")
    assert "private channel" in answer.get_json()["errors"]["projects"]
    assert bridge.notifications.subscriptions(channel) == []


def test_notification_toggles_are_buttons_per_person(client: FlaskClient, bridge: Bridge, emulator: Any) -> None:
    channel = channel_named(emulator, "n-" + uuid.uuid4().hex[:6])
    shown = slash(client, emulator, "bob", "notifications", channel)
    buttons = shown["attachments"][0]["actions"]
    assert buttons[0]["name"] == "Assigned to me: on"
    body = {
        "user_id": emulator.user("bob")["id"],
        "channel_id": channel,
        "context": buttons[0]["integration"]["context"],
    }
    updated = client.post("/actions", json=body).get_json()["update"]
    assert "Assigned to me: **off**" in updated["message"]
    assert not bridge.notifications.prefs(emulator.user("bob")["id"]).wants("assigned")
    assert bridge.notifications.prefs(emulator.user("alice")["id"]).wants("assigned")


# Redmine 7 webhooks ------------------------------------------------------------------------------------------------
PAYLOADS = Path(__file__).resolve().parents[1] / "redmine7_payloads"
HOOK_SECRET = "hook-secret-" + "w" * 20


def signed(body: bytes, secret: str = HOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Redmine-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def pushed(kind: str, issue_id: int, journal_id: int = 0) -> bytes:
    payload = json.loads((PAYLOADS / f"{kind}.json").read_text())
    payload["data"]["issue"]["id"] = issue_id
    if journal_id:
        payload["data"]["journal"]["id"] = journal_id
    return json.dumps(payload).encode()


def hook_client(bridge: Bridge, secret: str | None = HOOK_SECRET) -> FlaskClient:
    from pydantic import SecretStr

    from app_integration.adapters.runtime.web_app import create_app

    settings = bridge.settings.model_copy(update={"redmine_webhook_secret": SecretStr(secret) if secret else None})
    return create_app(settings, bridge).test_client()


def test_a_webhook_and_a_poll_deliver_the_same_change_once(feed_bridge: Bridge, emulator: Any, rm: Redmine) -> None:
    channel = channel_named(emulator, "w-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    client = hook_client(feed_bridge)
    issue = rm.create("alice", "demo", f"Hooked {uuid.uuid4().hex[:8]}")
    body = pushed("issue.created", issue)
    assert client.post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 202
    wait_for(lambda: feed_bridge.outbox.has_delivery(f"issue:{issue}:0", channel))
    deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    assert len(emulator.posts_in(channel)) == 1  # delivered before any poll

    rm.update("bob", issue, status_id=2, notes="Started")
    journal = rm._call("admin", "GET", f"/issues/{issue}.json?include=journals")["issue"]["journals"][-1]["id"]
    body = pushed("issue.updated", issue, journal)
    assert client.post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 202
    wait_for(lambda: feed_bridge.outbox.has_delivery(f"issue:{issue}:{journal}", channel))
    cycle(feed_bridge)  # the poll sees both changes too
    cycle(feed_bridge)
    posts = emulator.posts_in(channel)
    assert len(posts) == 2 and "moved it to **In Progress**" in posts[1]["message"]


def test_webhooks_without_a_valid_signature_are_refused(bridge: Bridge) -> None:
    body = pushed("issue.created", 1)
    assert (
        hook_client(bridge, secret=None).post("/webhooks/redmine", data=body, headers=signed(body)).status_code == 403
    )
    client = hook_client(bridge)
    assert client.post("/webhooks/redmine", data=body, headers={"Content-Type": "application/json"}).status_code == 401
    assert client.post("/webhooks/redmine", data=body, headers=signed(body, "another secret")).status_code == 401
    tampered = body.replace(b'"id": 1,', b'"id": 2,', 1)
    assert client.post("/webhooks/redmine", data=tampered, headers=signed(body)).status_code == 401
    junk = b"[1, 2"
    assert client.post("/webhooks/redmine", data=junk, headers=signed(junk)).status_code == 400
    news = json.dumps({"type": "news.created", "data": {"news": {"id": 1}}}).encode()
    answer = client.post("/webhooks/redmine", data=news, headers=signed(news))
    assert (answer.status_code, answer.get_json()) == (202, {"status": "ignored"})
    assert bridge.outbox.outbox_states() == {}


# Reliability and reminders -----------------------------------------------------------------------------------------
def test_a_redmine_outage_pauses_the_feed_and_it_resumes_from_its_cursor(
    feed_bridge: Bridge, emulator: Any, rm: Redmine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app_integration.core.errors import RedmineUnavailable

    channel = channel_named(emulator, "u-" + uuid.uuid4().hex[:6])
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge))
    first = rm.create("alice", "demo", f"Up {uuid.uuid4().hex[:8]}")
    time.sleep(1.05)
    second = rm.create("alice", "demo", f"Down {uuid.uuid4().hex[:8]}")
    feed = feed_bridge.services.feed
    assert feed is not None
    real_history = feed.history

    def failing(issue_id: int) -> Any:
        if issue_id == second:
            raise RedmineUnavailable("Redmine is unavailable right now.")
        return real_history(issue_id)

    monkeypatch.setattr(feed, "history", failing)
    with pytest.raises(RedmineUnavailable):
        poll_once(feed_bridge.services, feed_bridge.store)
    cursor = load_cursor(feed_bridge.store)
    assert cursor is not None and first in cursor.checked and second not in cursor.checked  # kept what it had
    monkeypatch.setattr(feed, "history", real_history)
    cycle(feed_bridge)
    cycle(feed_bridge)
    posted = texts(emulator, channel)
    assert [sum(f"#{n}" in t for t in posted) for n in (first, second)] == [1, 1]


def test_the_due_reminder_comes_once_a_day_in_the_persons_time_zone(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    from app_integration.core.redmine_updates.due_reminders import remind_due

    bob = emulator.user("bob")
    bob["timezone"] = {"useAutomaticTimezone": "false", "automaticTimezone": "", "manualTimezone": "Asia/Tokyo"}
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    subject = f"Due soon {uuid.uuid4().hex[:8]}"
    issue = rm.create("alice", "demo", subject, assigned_to_id=rm.user_id("bob"), due_date=tomorrow.isoformat())
    before = len(emulator.dm_posts("bob"))
    tokyo_morning = dt.datetime.combine(dt.date.today(), dt.time(23, 30), dt.UTC)  # 08:30 in Tokyo, next day
    remind_due(feed_bridge.services, tokyo_morning - dt.timedelta(hours=1))  # 07:30 there: too early
    deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    assert len(emulator.dm_posts("bob")) == before
    nine = tokyo_morning + dt.timedelta(minutes=31)  # 09:01 in Tokyo
    remind_due(feed_bridge.services, nine)
    remind_due(feed_bridge.services, nine + dt.timedelta(hours=3))  # later the same day there: nothing more
    deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    dms = emulator.dm_posts("bob")[before:]
    assert len(dms) == 1 and f"/issues/{issue})" in dms[0]["message"] and "overdue or due by" in dms[0]["message"]
    carol_before = len(emulator.dm_posts("carol"))
    remind_due(feed_bridge.services, nine)
    deliver_due(feed_bridge.chat, feed_bridge.notifications, feed_bridge.outbox, dt.datetime.now(dt.UTC))
    assert len(emulator.dm_posts("carol")) == carol_before  # nothing due for carol: no DM at all


def open_edit_form(client: FlaskClient, emulator: Any, channel: str) -> dict[str, Any]:
    """alice clicks Edit on the channel's first subscription; the dialog that opens."""
    listed = slash(client, emulator, "alice", "subscriptions", channel)
    edit = next(a for a in listed["attachments"][0]["actions"] if a["name"].startswith("Edit"))
    body = {
        "user_id": emulator.user("alice")["id"],
        "channel_id": channel,
        "context": edit["integration"]["context"],
        "trigger_id": trigger_id(emulator.user("alice")["id"]),
    }
    assert client.post("/actions", json=body).get_json() == {}
    opened: dict[str, Any] = emulator.dialogs[-1]
    return opened


def test_a_subscription_is_edited_through_its_button(client: FlaskClient, bridge: Bridge, emulator: Any) -> None:
    channel = channel_named(emulator, "x-" + uuid.uuid4().hex[:6])
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    subscribe_by_dialog(client, emulator, "alice", channel)
    opened = open_edit_form(client, emulator, channel)
    defaults = {e["name"]: e.get("default") for e in opened["dialog"]["elements"]}
    assert (defaults["projects"], defaults["event_note"], defaults["event_priority"]) == ("demo", "true", "false")
    submission = {"projects": "demo", "subprojects": False, "status": "open", "event_priority": True}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, submission))
    assert answer.status_code == 200
    [saved] = bridge.notifications.subscriptions(channel)
    assert (saved.events, saved.open_only, saved.with_subprojects) == (frozenset({"priority"}), True, False)


@pytest.mark.parametrize("who", ["mine", "bob"])
def test_saving_an_unchanged_subscription_keeps_its_assignee_filter(
    client: FlaskClient, bridge: Bridge, emulator: Any, who: str
) -> None:
    """The edit form shows the filter ("only mine", or the person), so saving it as shown changes nothing."""
    bridge.users.sync_map(bridge.chat)
    channel = channel_named(emulator, "f-" + uuid.uuid4().hex[:6])
    emulator.channels[channel]["admins"] = {emulator.user("alice")["id"]: "channel_admin"}
    chosen = {"mine": True} if who == "mine" else {"assignee": emulator.user("bob")["id"]}
    assert subscribe_by_dialog(client, emulator, "alice", channel, **chosen).status_code == 200
    [before] = bridge.notifications.subscriptions(channel)
    assert before.assignee_id is not None
    opened = open_edit_form(client, emulator, channel)
    as_shown = {e["name"]: e.get("default") for e in opened["dialog"]["elements"]}
    submission = {k: (v == "true" if v in ("true", "false") else v) for k, v in as_shown.items() if v is not None}
    answer = client.post("/dialog", json=dialog_submission(opened, emulator.user("alice"), channel, submission))
    assert answer.status_code == 200
    [after] = bridge.notifications.subscriptions(channel)
    assert after.assignee_id == before.assignee_id and after.events == before.events


def test_a_long_poll_does_not_hold_back_delivery(bridge: Bridge, emulator: Any) -> None:
    """A poll cycle reading 1,000 changed issues takes minutes at Redmine's pace; the outbox and the reminders
    run on their own thread meanwhile (they once waited for the poll, on the same one)."""
    from benchmarks.recovery_bench import delivery_during_long_poll

    measured = delivery_during_long_poll(bridge, emulator, poll_seconds=30.0, samples=3)
    assert measured.samples == 3  # all delivered while the poll still ran (the helper checks it)
