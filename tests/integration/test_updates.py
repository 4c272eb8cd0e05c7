"""Redmine's changes back into the chat, end to end: changes made over REST in the real Redmine, read by
the change feed, fanned out as each reader sees the issue, and delivered to the emulator."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
import uuid
from typing import Any

import pytest

from app_integration.adapters.runtime.wiring import Bridge
from app_integration.core.errors import ChatUnavailable
from app_integration.core.updates.change_feed import load_cursor, poll_once
from app_integration.core.updates.outbox_delivery import deliver_due
from tests.conftest import RedmineInfo
from tests.integration.feed_support import Redmine, channel_named, cycle, demo_id, subscribe, texts


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
    report = deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, dt.datetime.now(dt.UTC))
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
    assert "dave" in feed_bridge.subscriptions.skipped_accounts()
    [feed] = [f for f in diagnose(feed_bridge) if f.check == "Feed accounts"]
    assert not feed.ok and "dave" in feed.detail


def test_a_locked_subscription_owner_pauses_only_that_subscription(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    from app_integration.core.commands.subscriptions import subscriptions
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
        report = deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, dt.datetime.now(dt.UTC))
        assert (report.sent, report.retried) == (0, 1)
        during = rm.create("alice", "demo", f"During {uuid.uuid4().hex[:8]}")
        # the fan-out may ask Mattermost too (unless cached): then the feed pauses, its cursor kept
        with contextlib.suppress(ChatUnavailable):
            poll_once(feed_bridge.services, feed_bridge.store)
        assert (
            deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, dt.datetime.now(dt.UTC)).sent
            == 0
        )
    finally:
        emulator.refuse_rest = False
    poll_once(feed_bridge.services, feed_bridge.store)
    deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, later)
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


def test_the_morning_digest_comes_once_a_working_day_in_the_persons_time_zone(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    """One DM a day at the person's time in their zone: newly assigned, changed since the last digest, due
    today or overdue; nothing on a weekend unless asked, nothing when nothing changed; one Redmine call each."""
    from app_integration.adapters.redmine.call_scope import counting
    from app_integration.core.updates.morning_digest import send_morning_digests

    bob = emulator.user("bob")
    bob["timezone"] = {"useAutomaticTimezone": "false", "automaticTimezone": "", "manualTimezone": "Asia/Tokyo"}
    today = dt.date.today()
    due = rm.create(
        "alice", "demo", f"Due {uuid.uuid4().hex[:8]}", assigned_to_id=rm.user_id("bob"), due_date=str(today)
    )
    monday = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)  # a working day to come, in Tokyo too

    def morning(day: dt.date, hour: int, minute: int) -> dt.datetime:  # that time in Tokyo (UTC+9)
        return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC) - dt.timedelta(hours=9)

    def digests(at: dt.datetime) -> list[str]:
        before = len(emulator.dm_posts("bob"))
        with counting() as tally:
            send_morning_digests(feed_bridge.services, at)
        calls.append(tally.round_trips)
        deliver_due(feed_bridge.chat, feed_bridge.subscriptions, feed_bridge.outbox, dt.datetime.now(dt.UTC))
        return [p["message"] for p in emulator.dm_posts("bob")[before:]]

    calls: list[int] = []
    assert digests(morning(monday, 8, 30)) == []  # before nine there
    [first] = digests(morning(monday, 9, 1))
    assert first.startswith("Your morning digest:") and "**Due today or overdue:" in first
    assert f"/issues/{due})" in first
    assert digests(morning(monday, 12, 0)) == []  # later the same day: nothing more
    assert calls == [0, 1, 0]  # one Redmine call for bob's digest; none for a time not come or a digest sent
    assert digests(morning(monday + dt.timedelta(days=1), 9, 5)) == []  # nothing changed since

    new = rm.create("alice", "demo", f"New {uuid.uuid4().hex[:8]}", assigned_to_id=rm.user_id("bob"))
    saturday = monday + dt.timedelta(days=5)
    assert digests(morning(saturday, 9, 5)) == []  # a weekend
    prefs = feed_bridge.subscriptions.prefs(bob["id"])
    feed_bridge.subscriptions.save_prefs(bob["id"], dataclasses.replace(prefs, weekends=True))
    [weekend] = digests(morning(saturday, 9, 6))
    assert "**Newly assigned to you:" in weekend and f"/issues/{new})" in weekend


def test_a_long_poll_does_not_hold_back_delivery(bridge: Bridge, emulator: Any) -> None:
    """A poll cycle reading 1,000 changed issues takes minutes at Redmine's pace; the outbox and the reminders
    run on their own thread meanwhile (they once waited for the poll, on the same one)."""
    from benchmarks.recovery_bench import delivery_during_long_poll

    measured = delivery_during_long_poll(bridge, emulator, poll_seconds=30.0, samples=3)
    assert measured.samples == 3  # all delivered while the poll still ran (the helper checks it)


def test_a_subscription_narrowed_by_a_saved_query_hears_only_what_it_finds(
    feed_bridge: Bridge, emulator: Any, rm: Redmine
) -> None:
    """The owner's saved query "Open bugs in demo" (the seed's): a new Bug is posted, a new Feature is not."""
    tag = uuid.uuid4().hex[:8]
    channel = channel_named(emulator, f"bugs-{tag}", kind="P")
    query = next(q for q in feed_bridge.services.finder.saved_queries("alice") if q.name == "Open bugs in demo")
    subscribe(feed_bridge, emulator, channel, "alice", demo_id(feed_bridge), query_id=query.id)
    bug = rm.create("alice", "demo", f"A bug {tag}", tracker_id=1)
    feature = rm.create("alice", "demo", f"A feature {tag}", tracker_id=2)
    cycle(feed_bridge)
    posted = texts(emulator, channel)
    assert any(f"/issues/{bug})" in t for t in posted), posted
    assert not any(f"/issues/{feature})" in t for t in posted)
