"""Subscriptions, thread roots, toggles and the outbox, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

from app_integration.adapters.store.outbox_store import OutboxTable
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.adapters.store.subscription_store import SubscriptionTables
from app_integration.core.events import Delivery, NotificationPrefs, Subscription


def tables(database_url: str) -> SubscriptionTables:
    store = BridgeStore(database_url)
    store.migrate()
    return SubscriptionTables(store.engine)


def outbox(database_url: str) -> OutboxTable:
    store = BridgeStore(database_url)
    store.migrate()
    return OutboxTable(store.engine)


def test_subscriptions_are_kept_per_channel_and_edited_only_there(database_url: str) -> None:
    subs = tables(database_url)
    first = subs.add_subscription(Subscription("c" * 26, "o" * 26, 1, "Demo", frozenset({"created"})))
    other = subs.add_subscription(Subscription("d" * 26, "o" * 26, 2, "Ops", open_only=True, tracker_id=3))
    assert first.id != other.id
    assert subs.list_subscriptions("c" * 26) == [first]
    assert subs.list_subscriptions() == [first, other]
    subs.replace_subscription(dataclasses.replace(first, events=frozenset({"note", "status"})))
    assert subs.list_subscriptions("c" * 26)[0].events == frozenset({"note", "status"})
    assert subs.remove_subscription(other.id, "c" * 26) is False  # not that channel's
    assert subs.remove_subscription(other.id, "d" * 26) is True
    assert subs.list_subscriptions() == [subs.list_subscriptions("c" * 26)[0]]


def test_the_outbox_keeps_one_row_per_event_and_target_in_order(database_url: str) -> None:
    box = outbox(database_url)
    rows = [Delivery(f"issue:1:{n}", "c" * 26, 1, f"text {n}", "card") for n in (5, 12, 7)]
    assert box.enqueue(rows) == 3
    assert box.enqueue([rows[0], Delivery("issue:1:5", "dm:" + "u" * 26, 1, "dm")]) == 1
    now = dt.datetime.now(dt.UTC)
    pending = box.pending_deliveries(10, now)
    assert [d.text for d in pending] == ["text 5", "text 12", "text 7", "dm"]
    box.retry_later(pending[0], now + dt.timedelta(seconds=30))
    box.delivered(pending[1])
    box.drop(pending[2], "gone")
    # The channel's first row waits out a retry: the channel waits, the DM does not.
    assert [d.text for d in box.pending_deliveries(10, now)] == ["dm"]
    again = box.pending_deliveries(10, now + dt.timedelta(seconds=31))
    assert [(d.text, d.attempts) for d in again] == [("text 5", 1), ("dm", 0)]
    assert again[0].next_at is not None and again[0].next_at > now
    assert box.outbox_states() == {"pending": 2, "sent": 1, "dropped": 1}
    assert box.has_delivery("issue:1:12", "c" * 26) and not box.has_delivery("issue:1:99", "c" * 26)


def test_one_targets_backlog_does_not_starve_the_others(database_url: str) -> None:
    """100 rows for one channel, in backoff or not, leave room in a batch for everyone else."""
    box = outbox(database_url)
    busy, quiet = "c" * 26, "d" * 26
    box.enqueue([Delivery(f"issue:1:{n}", busy, 1, f"busy {n}", "card") for n in range(1, 101)])
    box.enqueue([Delivery("issue:2:1", quiet, 2, "quiet", "card")])
    now = dt.datetime.now(dt.UTC)
    batch = box.pending_deliveries(20, now, per_target=10)
    assert "quiet" in [d.text for d in batch] and sum(d.target == busy for d in batch) == 10
    box.retry_later(batch[0], now + dt.timedelta(minutes=5))
    assert [d.text for d in box.pending_deliveries(20, now)] == ["quiet"]


def test_thread_roots_and_toggles(database_url: str) -> None:
    subs = tables(database_url)
    assert subs.thread_root("c" * 26, 7) is None
    subs.save_thread_root("c" * 26, 7, "p" * 26)
    subs.save_thread_root("c" * 26, 7, "q" * 26)
    assert subs.thread_root("c" * 26, 7) == "q" * 26
    subs.forget_thread_root("c" * 26, 7)
    assert subs.thread_root("c" * 26, 7) is None
    assert subs.prefs("u" * 26) == NotificationPrefs()
    chosen = NotificationPrefs(frozenset({"notes", "reminder"}), dt.time(8, 30))
    subs.save_prefs("u" * 26, chosen)
    subs.save_prefs("u" * 26, chosen)
    assert subs.prefs("u" * 26) == chosen
