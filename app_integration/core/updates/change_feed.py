"""The change feed: each cycle reads what changed in Redmine since the cursor and fills the outbox.

The cursor is saved after the outbox has the cycle's deliveries, so a crash or an outage between
the two repeats a little work, which the outbox's keys make harmless, and never skips an event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from app_integration.core.events import FeedCursor, IssueEvent, events_of
from app_integration.core.ports import StateStore
from app_integration.core.services import Services
from app_integration.core.updates.event_fanout import FanOutCycle, deliveries_for

log = logging.getLogger(__name__)
CURSOR = "redmine_feed"
MAX_PAGES = 10  # about 1,000 changed issues per cycle (991: each page starts on the last row read); the rest next cycle


@dataclass(frozen=True)
class CycleReport:
    changed: int  # issues read
    events: int
    enqueued: int  # deliveries new to the outbox
    cursor_at: dt.datetime | None = None  # how far the feed has read, after this cycle


def load_cursor(state: StateStore) -> FeedCursor | None:
    raw = state.load_state(CURSOR)
    if raw is None:
        return None
    data = json.loads(raw)
    return FeedCursor(
        dt.datetime.fromisoformat(data["at"]),
        frozenset(data.get("keys", [])),
        frozenset(data.get("checked", [])),
        frozenset(data.get("settled", [])),
    )


def save_cursor(state: StateStore, cursor: FeedCursor) -> None:
    value = {
        "at": cursor.at.isoformat(),
        "keys": sorted(cursor.keys),
        "checked": sorted(cursor.checked),
        "settled": sorted(cursor.settled),
    }
    state.save_state(CURSOR, json.dumps(value))


def poll_once(services: Services, state: StateStore) -> CycleReport:
    """One cycle. The first one only marks where the feed starts: history is not replayed."""
    feed = services.feed
    subs = services.subscriptions
    cursor = load_cursor(state)
    if cursor is None:
        newest = feed.newest_change() or dt.datetime.now(dt.UTC).replace(microsecond=0)
        at_start = feed.changed_since(newest, 1)
        settled = frozenset(i for i, when in at_start if when == newest)
        save_cursor(state, FeedCursor(newest, checked=settled, settled=settled))
        log.info("feed: starts from %s", newest.isoformat())
        return CycleReport(0, 0, 0, newest)
    changed = [(i, when) for i, when in feed.changed_since(cursor.at, MAX_PAGES) if not cursor.skip(i, when)]
    cycle = FanOutCycle(services, issue_ids=tuple(i for i, _when in changed))
    events = enqueued = 0
    try:
        for issue_id, updated_on in changed:
            history = feed.history(issue_id)
            found: list[IssueEvent] = events_of(history, cursor) if history else []
            for event in found:
                enqueued += services.outbox.enqueue(deliveries_for(cycle, event))
            events += len(found)
            cursor = cursor.after(issue_id, updated_on, found)
    finally:
        save_cursor(state, cursor)  # as far as the outbox has it, even when Redmine stopped answering midway
        for login in subs.note_skipped(cycle.skipped, cycle.fine):
            log.warning("feed: skipping what only %s would get: %s", login, cycle.skipped[login])
    return CycleReport(len(changed), events, enqueued, cursor.at)


def enqueue_event(services: Services, event: IssueEvent) -> int:
    """An event that came by another way (a webhook): the same fan-out, the same outbox keys."""
    return services.outbox.enqueue(deliveries_for(FanOutCycle(services), event))


def enqueue_pushed(services: Services, issue_id: int, journal_id: int) -> int:
    """A change Redmine pushed (a webhook). Only its ids are taken from the push: the event itself is read
    from Redmine as the polls read it, so both ways give the same key, and the outbox keeps one."""
    feed = services.feed
    history = feed.history(issue_id)
    if history is None:
        return 0
    start = FeedCursor(dt.datetime.min.replace(tzinfo=dt.UTC))
    wanted = [e for e in events_of(history, start) if e.journal_id == journal_id]
    return sum(enqueue_event(services, event) for event in wanted)
