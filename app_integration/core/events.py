"""What happened to a Redmine issue, as the change feed reads it, and who asked to hear of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from app_integration.core.models import Issue, Ref

EventKind = Literal["created", "status", "assignee", "priority", "due_date", "note", "fields"]
EVENT_KINDS: tuple[EventKind, ...] = ("created", "status", "assignee", "priority", "due_date", "note", "fields")
# What else of a project a subscription may take (off unless chosen): read apart from tickets
# (core/updates/project_activity.py).
ProjectKind = Literal["news", "wiki", "versions", "time"]
PROJECT_KINDS: tuple[ProjectKind, ...] = ("news", "wiki", "versions", "time")
SUBSCRIBABLE: tuple[EventKind | ProjectKind, ...] = (*EVENT_KINDS, *PROJECT_KINDS)
# A custom field's change is a detail named "cf:<field id>" (Redmine's property "cf"), with the field's name.
CUSTOM_FIELD = "cf:"
# Journal detail names that make an event, as Redmine names the attributes.
_DETAIL_KINDS: dict[str, EventKind] = {
    "status_id": "status",
    "assigned_to_id": "assignee",
    "priority_id": "priority",
    "due_date": "due_date",
}
PersonalKind = Literal["assigned", "status", "notes", "mentions", "watching", "reminder"]
PERSONAL_KINDS: tuple[PersonalKind, ...] = ("assigned", "status", "notes", "mentions", "watching", "reminder")


@dataclass(frozen=True)
class Change:
    """One changed attribute; names for display, ids where the value is a record (a status, a person)."""

    field: str
    old: str
    new: str
    old_id: int | None = None
    new_id: int | None = None
    label: str = ""  # a custom field's name; empty for Redmine's own attributes


@dataclass(frozen=True)
class Journal:
    id: int
    author: Ref
    created_on: dt.datetime
    notes: str = ""
    private_notes: bool = False
    details: tuple[Change, ...] = ()
    files: tuple[Ref, ...] = ()  # attachments it added: id and file name


@dataclass(frozen=True)
class IssueHistory:
    """An issue as the admin sees it now, with every journal."""

    issue: Issue
    closed: bool
    journals: tuple[Journal, ...] = ()
    files: tuple[Ref, ...] = ()  # attachments it was created with
    watcher_ids: frozenset[int] = frozenset()  # Redmine user ids of its watchers


@dataclass(frozen=True)
class IssueEvent:
    """One creation or one journal of one issue: the unit that is delivered once per target."""

    issue: Issue
    closed: bool
    journal_id: int  # 0 for the creation
    actor: Ref
    kinds: frozenset[EventKind]
    changes: tuple[Change, ...] = ()
    notes: str = ""
    private_notes: bool = False
    at: dt.datetime | None = None  # when Redmine recorded it
    files: tuple[Ref, ...] = ()  # attachments it brought: their names and links go along
    watcher_ids: frozenset[int] = frozenset()  # who watches the issue now

    @property
    def key(self) -> str:
        return f"issue:{self.issue.id}:{self.journal_id}"

    def change(self, name: str) -> Change | None:
        return next((c for c in self.changes if c.field == name), None)


@dataclass(frozen=True)
class FeedCursor:
    """Where the feed is. Redmine's timestamps have whole seconds, so the next query asks from the cursor's
    second again; what was handled at that second is remembered, by event. An issue read once at that
    second is read once more in the next cycle (a change later in the same second would otherwise hide
    behind it), and after that it is settled and skipped.
    """

    at: dt.datetime
    keys: frozenset[str] = frozenset()  # events at `at` already handled
    checked: frozenset[int] = frozenset()  # issues read once with updated_on == at
    settled: frozenset[int] = frozenset()  # issues read twice with updated_on == at

    def skip(self, issue_id: int, updated_on: dt.datetime) -> bool:
        return updated_on < self.at or (updated_on == self.at and issue_id in self.settled)

    def is_new(self, key: str, moment: dt.datetime) -> bool:
        return moment > self.at or (moment == self.at and key not in self.keys)

    def after(self, issue_id: int, updated_on: dt.datetime, events: list[IssueEvent]) -> FeedCursor:
        """The cursor once this issue, updated at `updated_on`, has its events in the outbox."""
        keys = frozenset(e.key for e in events if e.at == updated_on)
        if updated_on > self.at:
            return FeedCursor(updated_on, keys, frozenset({issue_id}))
        if updated_on < self.at:
            return self
        settled = self.settled | ({issue_id} if issue_id in self.checked else frozenset())
        return FeedCursor(self.at, self.keys | keys, self.checked | {issue_id}, settled)


def events_of(history: IssueHistory, cursor: FeedCursor) -> list[IssueEvent]:
    """The creation and the journals of an issue that the cursor has not passed, oldest first."""
    issue = history.issue
    found: list[IssueEvent] = []
    if issue.created_on is not None:
        created = IssueEvent(
            issue,
            history.closed,
            0,
            issue.author,
            frozenset({"created"}),
            at=issue.created_on,
            files=history.files,
            watcher_ids=history.watcher_ids,
        )
        if cursor.is_new(created.key, issue.created_on):
            found.append(created)
    for journal in history.journals:
        kinds: set[EventKind] = {_DETAIL_KINDS[d.field] for d in journal.details if d.field in _DETAIL_KINDS}
        if any(d.field.startswith(CUSTOM_FIELD) for d in journal.details):
            kinds.add("fields")
        if journal.notes.strip():
            kinds.add("note")
        event = IssueEvent(
            issue,
            history.closed,
            journal.id,
            journal.author,
            frozenset(kinds),
            journal.details,
            journal.notes,
            journal.private_notes,
            at=journal.created_on,
            files=journal.files,
            watcher_ids=history.watcher_ids,
        )
        if kinds and cursor.is_new(event.key, journal.created_on):
            found.append(event)
    return found


@dataclass(frozen=True)
class Subscription:
    """A channel's wish to hear of a project's issues, rendered as its owner sees them."""

    channel_id: str
    owner_id: str  # the Mattermost user id that subscribed; their Redmine view decides what is posted
    project_id: int
    project_name: str
    events: frozenset[EventKind | ProjectKind] = frozenset(EVENT_KINDS)
    with_subprojects: bool = True
    tracker_id: int | None = None
    priority_id: int | None = None
    assignee_id: int | None = None
    open_only: bool = False
    sync_replies: bool = False  # replies in its tickets' threads become Redmine notes, as their writers
    locale: str = ""  # the language of its posts; empty: DEFAULT_LOCALE
    query_id: int | None = None  # a saved query of the owner's: only its tickets (checked apart, in Redmine)
    id: int = 0

    def matches(self, event: IssueEvent, ancestors: tuple[int, ...]) -> bool:
        """Whether the event is one this subscription wants; visibility is checked apart, as the owner."""
        issue = event.issue
        in_project = issue.project.id == self.project_id or (self.with_subprojects and self.project_id in ancestors)
        assignee = issue.assigned_to.id if issue.assigned_to else None
        return (
            in_project
            and bool(event.kinds & self.events)
            and self.tracker_id in (None, issue.tracker.id)
            and self.priority_id in (None, issue.priority.id)
            and self.assignee_id in (None, assignee)
            and not (self.open_only and event.closed and "status" not in event.kinds)
        )


@dataclass(frozen=True)
class Delivery:
    """One rendered message for one target, kept in the outbox until Mattermost has it."""

    event_key: str
    target: str  # a channel id, or "dm:<user id>"
    issue_id: int
    text: str
    card: str = ""  # for a channel: the issue's card, posted as the thread's root and edited as it changes
    attempts: int = 0
    next_at: dt.datetime | None = None  # not before then: it is waiting out a retry
    sensitive: bool = False  # a private issue or a non-public project: never into a channel that is public now

    @property
    def direct_to(self) -> str | None:
        return self.target.removeprefix("dm:") if self.target.startswith("dm:") else None


@dataclass(frozen=True)
class ChannelDefaults:
    """What a channel's admins chose for it: the project its forms and batches start with, and how its `#t`
    references are linked ("link", "card" or "off"; None: the operator's LINK_MODE)."""

    project: str | None = None  # a Redmine project identifier
    link_mode: str | None = None


@dataclass(frozen=True)
class DigestState:
    """What a person's last morning digest was made from: when, the open tickets assigned to them then, and
    those due or overdue then; the next digest says what changed since."""

    sent_at: dt.datetime
    assigned: frozenset[int] = frozenset()
    due: frozenset[int] = frozenset()


@dataclass(frozen=True)
class NotificationPrefs:
    """A person's toggles for personal DMs; everything is on until they turn it off."""

    off: frozenset[PersonalKind] = frozenset()
    digest_time: dt.time = dt.time(9, 0)
    weekends: bool = False  # the morning digest on Saturdays and Sundays too

    def wants(self, kind: PersonalKind) -> bool:
        return kind not in self.off
