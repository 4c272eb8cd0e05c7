"""The change feed's core: the cursor at Redmine's whole seconds, events from journals, subscription
filters, and the outbox's delivery order, with fakes for Redmine and Mattermost."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from app_integration.core.errors import ChatRefused, ChatUnavailable, EditTooLate, LeadLost, NotFound
from app_integration.core.events import (
    Change,
    Delivery,
    FeedCursor,
    IssueEvent,
    IssueHistory,
    Journal,
    Subscription,
    events_of,
)
from app_integration.core.models import ChatMessage, Ref
from app_integration.core.updates.outbox_delivery import deliver_due
from tests.unit.fakes import make_issue

T0 = dt.datetime(2026, 11, 22, 10, 0, 0, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def history(journals: list[tuple[int, int]], created: int = -60) -> IssueHistory:
    issue = dataclasses.replace(make_issue(7), created_on=at(created))
    status = (Change("status_id", "New", "In Progress", 1, 2),)
    made = tuple(Journal(jid, Ref(2, "Bob"), at(second), details=status) for jid, second in journals)
    return IssueHistory(issue, False, made)


def test_the_cursor_rereads_an_issue_once_at_its_second_then_settles() -> None:
    cursor = FeedCursor(at(0))
    first = events_of(history([(11, 5)]), cursor)
    assert [e.key for e in first] == ["issue:7:11"]
    cursor = cursor.after(7, at(5), first)
    assert not cursor.skip(7, at(5))  # read again next cycle: a change later in that second would hide
    # the same second brought another journal after the first read; the second read finds it, and only it
    second = events_of(history([(11, 5), (12, 5)]), cursor)
    assert [e.key for e in second] == ["issue:7:12"]
    cursor = cursor.after(7, at(5), second)
    assert cursor.skip(7, at(5)) and not cursor.skip(8, at(5)) and not cursor.skip(7, at(6))
    later = events_of(history([(11, 5), (12, 5), (13, 9)]), cursor)
    assert [e.key for e in later] == ["issue:7:13"]
    assert cursor.after(7, at(9), later) == FeedCursor(at(9), frozenset({"issue:7:13"}), frozenset({7}))


def test_only_status_assignee_priority_due_and_notes_make_events() -> None:
    issue = make_issue(7)
    journals = (
        Journal(1, Ref(2, "Bob"), at(1), details=(Change("subject", "a", "b"),)),
        Journal(2, Ref(2, "Bob"), at(2), notes="  "),
        Journal(3, Ref(2, "Bob"), at(3), notes="done", details=(Change("due_date", "", "2026-12-01"),)),
    )
    events = events_of(IssueHistory(issue, False, journals), FeedCursor(at(0)))
    assert [(e.journal_id, sorted(e.kinds)) for e in events] == [(3, ["due_date", "note"])]


def event(**overrides: object) -> IssueEvent:
    values: dict[str, object] = {
        "issue": make_issue(7, assigned=5),
        "closed": False,
        "journal_id": 3,
        "actor": Ref(2, "Bob"),
        "kinds": frozenset({"status"}),
    }
    values.update(overrides)
    return IssueEvent(**values)  # type: ignore[arg-type]


def test_subscription_filters() -> None:
    base = Subscription("c" * 26, "o" * 26, project_id=1, project_name="Demo")
    issue = make_issue(7, assigned=5)
    assert base.matches(event(), ())
    assert not Subscription("c" * 26, "o" * 26, 9, "X", with_subprojects=False).matches(event(), (9,))
    assert Subscription("c" * 26, "o" * 26, 9, "X").matches(event(), (9,))  # a subproject's issue
    assert not Subscription("c" * 26, "o" * 26, 1, "D", events=frozenset({"note"})).matches(event(), ())
    assert not Subscription("c" * 26, "o" * 26, 1, "D", assignee_id=6).matches(event(), ())
    assert Subscription("c" * 26, "o" * 26, 1, "D", assignee_id=5).matches(event(issue=issue), ())
    assert not Subscription("c" * 26, "o" * 26, 1, "D", tracker_id=99).matches(event(), ())
    closed_note = event(closed=True, kinds=frozenset({"note"}))
    assert not Subscription("c" * 26, "o" * 26, 1, "D", open_only=True).matches(closed_note, ())
    # the closing itself is still news to an "open only" channel
    assert Subscription("c" * 26, "o" * 26, 1, "D", open_only=True).matches(event(closed=True), ())


@dataclass
class RecordingChat:
    posts: list[tuple[str, str, str]] = field(default_factory=list)
    edits: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False
    edit_refused: bool = False
    refuse: Exception | None = None  # raised by post, as Mattermost's answer
    root_gone: bool = False

    onces: list[tuple[str, str]] = field(default_factory=list)

    def post(self, channel_id: str, message: ChatMessage, root_id: str = "", once: str = "") -> str:
        if self.down:
            raise ChatUnavailable("down")
        if self.refuse is not None:
            raise self.refuse
        self.posts.append((channel_id, message.text, root_id))
        self.onces.append((channel_id, once))
        return f"post{len(self.posts)}".ljust(26, "x")

    def posted_once(self, channel_id: str, once: str, since: dt.datetime) -> bool:
        return (channel_id, once) in self.onces

    def patch_post(self, post_id: str, message: str) -> None:
        if self.root_gone:
            raise NotFound("gone")
        if self.edit_refused:
            raise EditTooLate("late")
        self.edits.append((post_id, message))

    def post_message(self, post_id: str) -> str | None:
        return None if self.root_gone else "still there"

    def direct_channel(self, user_id: str) -> str:
        return "dm-" + user_id


class MemoryOutbox:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Delivery] = {}
        self.state: dict[tuple[str, str], str] = {}
        self.roots: dict[tuple[str, int], str] = {}

    def pending_deliveries(self, limit: int, now: dt.datetime, per_target: int = 10) -> list[Delivery]:
        pending = [d for k, d in self.rows.items() if self.state[k] == "pending"]
        waiting = {d.target for d in pending if d.next_at is not None and d.next_at > now}
        return [d for d in pending if d.target not in waiting][:limit]

    def delivered(self, d: Delivery) -> None:
        self.state[(d.event_key, d.target)] = "sent"

    def drop(self, d: Delivery, reason: str) -> None:
        self.state[(d.event_key, d.target)] = "dropped"

    def retry_later(self, d: Delivery, when: dt.datetime) -> None:
        self.rows[(d.event_key, d.target)] = dataclasses.replace(d, attempts=d.attempts + 1, next_at=when)

    def thread_root(self, channel_id: str, issue_id: int) -> str | None:
        return self.roots.get((channel_id, issue_id))

    def save_thread_root(self, channel_id: str, issue_id: int, post_id: str) -> None:
        self.roots[(channel_id, issue_id)] = post_id

    def forget_thread_root(self, channel_id: str, issue_id: int) -> None:
        self.roots.pop((channel_id, issue_id), None)

    def add(self, *deliveries: Delivery) -> None:
        for d in deliveries:
            self.rows[(d.event_key, d.target)] = d
            self.state[(d.event_key, d.target)] = "pending"


def test_a_waiting_row_holds_back_its_own_target_only() -> None:
    chat, outbox = RecordingChat(), MemoryOutbox()
    a, b = "a" * 26, "b" * 26
    outbox.add(
        Delivery("issue:1:0", a, 1, "created", "card 1"),
        Delivery("issue:1:5", a, 1, "moved", "card 1b"),
        Delivery("issue:2:0", b, 2, "created", "card 2"),
    )
    chat.down = True
    assert deliver_due(chat, outbox, outbox, T0).retried == 1  # type: ignore[arg-type]
    chat.down = False
    report = deliver_due(chat, outbox, outbox, T0)  # type: ignore[arg-type]
    assert report.sent == 1 and [p[0] for p in chat.posts] == [b]  # a's card waits, so its reply waits too
    report = deliver_due(chat, outbox, outbox, T0 + dt.timedelta(minutes=1))  # type: ignore[arg-type]
    assert report.sent == 2
    root = outbox.roots[(a, 1)]
    assert chat.posts[1:] == [(a, "card 1", ""), (a, "moved", root)]
    assert chat.edits == [(root, "card 1b")]


def test_only_an_outage_is_retried_and_a_refusal_is_dropped_with_its_reason() -> None:
    """A 400 (a post Mattermost will never take) is final; a 429 waits at least its Retry-After."""
    chat, outbox = RecordingChat(refuse=ChatRefused("no", "400 api.post.create_post.invalid")), MemoryOutbox()
    outbox.add(Delivery("issue:1:0", "a" * 26, 1, "created", "card 1"))
    assert deliver_due(chat, outbox, outbox, T0).dropped == 1  # type: ignore[arg-type]
    assert outbox.state[("issue:1:0", "a" * 26)] == "dropped"
    chat.refuse = ChatUnavailable("busy", retry_after=120.0)
    outbox.add(Delivery("issue:2:0", "b" * 26, 2, "created", "card 2"))
    assert deliver_due(chat, outbox, outbox, T0).retried == 1  # type: ignore[arg-type]
    waiting = outbox.rows[("issue:2:0", "b" * 26)]
    assert waiting.next_at is not None and waiting.next_at >= T0 + dt.timedelta(seconds=120)


def test_a_deleted_root_starts_a_new_thread_instead_of_dropping_the_row() -> None:
    chat, outbox = RecordingChat(), MemoryOutbox()
    outbox.add(Delivery("issue:1:0", "a" * 26, 1, "created", "card 1"))
    deliver_due(chat, outbox, outbox, T0)  # type: ignore[arg-type]
    old_root = outbox.roots[("a" * 26, 1)]
    chat.root_gone = True  # the card was deleted: its edit answers 404
    outbox.add(Delivery("issue:1:5", "a" * 26, 1, "moved", "card 1b"))
    assert deliver_due(chat, outbox, outbox, T0).sent == 1  # type: ignore[arg-type]
    new_root = outbox.roots[("a" * 26, 1)]
    assert new_root != old_root and chat.posts[-2:] == [("a" * 26, "card 1b", ""), ("a" * 26, "moved", new_root)]


def test_a_term_that_lost_the_lead_delivers_nothing() -> None:
    class LostFence:
        def admit(self, key: str) -> bool:
            raise LeadLost("term over")

    chat, outbox = RecordingChat(), MemoryOutbox()
    outbox.add(Delivery("issue:1:0", "a" * 26, 1, "created", "card 1"))
    assert deliver_due(chat, outbox, outbox, T0, fence=LostFence()).sent == 0  # type: ignore[arg-type]
    assert chat.posts == [] and outbox.state[("issue:1:0", "a" * 26)] == "pending"


def test_where_the_root_cannot_be_edited_the_reply_carries_the_state() -> None:
    chat, outbox = RecordingChat(edit_refused=True), MemoryOutbox()
    outbox.add(Delivery("issue:1:0", "a" * 26, 1, "created", "head\nStatus: New"))
    outbox.add(Delivery("issue:1:5", "a" * 26, 1, "moved", "head\nStatus: Done"))
    deliver_due(chat, outbox, outbox, T0)  # type: ignore[arg-type]
    assert chat.posts[-1][1] == "moved\n_Status: Done_"


def test_a_mention_ends_before_trailing_punctuation() -> None:
    from app_integration.core.updates.event_fanout import mentioned_logins

    found = mentioned_logins("@alice. and @bob-x, (@carol) mail@example.org @d.e @Alice @.@.")
    assert found == ["alice", "bob-x", "carol", "d.e"]
