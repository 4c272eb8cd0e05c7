"""The outbox is exactly once in effect across a failure between its claim and its post: a row whose try ended
anywhere in between is tried again, and a row whose post was made but not marked is not posted twice. On a real
SQLite store with the lead's fence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from app_integration.adapters.store.leadership import Leadership
from app_integration.adapters.store.outbox_store import OutboxTable
from app_integration.adapters.store.state_store import BridgeStore
from app_integration.adapters.store.subscription_store import SubscriptionTables
from app_integration.core.events import Delivery
from app_integration.core.updates.outbox_delivery import FIRST_RETRY, deliver_due
from tests.unit.test_change_feed import RecordingChat


def later() -> dt.datetime:
    """A moment after the rows a test enqueues: the outbox's clock is the wall clock."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)


CHANNEL = "c" * 26


class LockedOnce(SubscriptionTables):
    """SQLite answering "database is locked" to the first thread-root read."""

    def __init__(self, engine: Any) -> None:
        super().__init__(engine)
        self.locked = True

    def thread_root(self, channel_id: str, issue_id: int) -> str | None:
        if self.locked:
            self.locked = False
            raise OperationalError("SELECT root_post_id", {}, Exception("database is locked"))
        return super().thread_root(channel_id, issue_id)


def parts(tmp_path: Path) -> tuple[BridgeStore, OutboxTable, Any]:
    store = BridgeStore(f"sqlite:///{tmp_path / 'bridge.sqlite3'}")
    store.migrate()
    lead = Leadership(store.engine, "notifier")
    assert lead.try_acquire()
    return store, OutboxTable(store.engine), lead.fence()


def test_a_store_error_between_the_claim_and_the_post_is_retried_not_marked_sent(tmp_path: Path) -> None:
    store, outbox, fence = parts(tmp_path)
    subs = LockedOnce(store.engine)
    chat = RecordingChat()
    outbox.enqueue([Delivery("issue:7:3", CHANNEL, 7, "moved it", card="**Bug #7**")])
    t0 = later()
    first = deliver_due(chat, subs, outbox, t0, fence=fence)  # type: ignore[arg-type]
    assert (first.sent, first.retried, chat.posts) == (0, 1, [])
    retried = t0 + dt.timedelta(seconds=FIRST_RETRY + 1)
    second = deliver_due(chat, subs, outbox, retried, fence=fence)  # type: ignore[arg-type]
    assert second.sent == 1 and [text for _, text, _ in chat.posts] == ["**Bug #7**", "moved it"]
    assert outbox.pending_deliveries(10, retried + dt.timedelta(hours=1)) == []


def test_a_post_made_but_not_marked_is_not_posted_again(tmp_path: Path) -> None:
    store, outbox, fence = parts(tmp_path)
    subs = SubscriptionTables(store.engine)
    chat = RecordingChat()
    outbox.enqueue([Delivery("issue:8:0", "dm:" + "u" * 26, 8, "created #8")])
    marked: list[Delivery] = []

    class MarkFails(OutboxTable):
        def delivered(self, delivery: Delivery) -> None:
            if not marked:
                marked.append(delivery)
                raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))
            super().delivered(delivery)

        def retry_later(self, delivery: Delivery, at: dt.datetime) -> None:
            raise OperationalError("UPDATE outbox", {}, Exception("database is locked"))

    failing = MarkFails(store.engine)
    t0 = later()
    deliver_due(chat, subs, failing, t0, fence=fence)  # type: ignore[arg-type]
    assert len(chat.posts) == 1  # posted; neither the mark nor the retry was written
    report = deliver_due(chat, subs, failing, t0 + dt.timedelta(seconds=30), fence=fence)  # type: ignore[arg-type]
    assert report.sent == 1 and len(chat.posts) == 1  # Mattermost has it: marked, not posted again
