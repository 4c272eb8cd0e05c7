"""One ticket as a person sees it in Redmine, and the changes a card's buttons make to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from app_integration.core.i18n import _
from app_integration.core.models import Choice, Issue, Ref, Upload


@dataclass(frozen=True)
class Note:
    id: int
    author: Ref
    created_on: dt.datetime | None
    text: str
    private: bool = False


@dataclass(frozen=True)
class CustomValue:
    """A custom field's value on a ticket, as Redmine showed it to the reader (only the fields they may see)."""

    id: int
    name: str
    value: str  # several values joined with ", "


@dataclass(frozen=True)
class TicketView:
    """Everything a card shows, read as the person it is for: Redmine left out what they may not see."""

    issue: Issue
    viewer_id: int
    closed: bool
    description: str = ""
    done_ratio: int = 0
    estimated_hours: float | None = None
    spent_hours: float | None = None
    notes: tuple[Note, ...] = ()  # oldest first, private ones only where Redmine shows them
    allowed_statuses: tuple[Choice, ...] = ()  # the workflow's transitions for this person, current included
    closed_status_ids: frozenset[int] = frozenset()
    watcher_ids: frozenset[int] | None = None  # None where Redmine does not show watchers to this person
    custom_values: tuple[CustomValue, ...] = ()

    @property
    def watching(self) -> bool:
        return self.watcher_ids is not None and self.viewer_id in self.watcher_ids

    def other_statuses(self) -> list[Choice]:
        """Every status the workflow lets this person move the ticket to: open ones first, then closing ones."""
        return self.status_choices(closed=False) + self.status_choices(closed=True)

    def status_choices(self, closed: bool) -> list[Choice]:
        """Allowed statuses other than the current one that close (or reopen) the ticket."""
        return [
            c
            for c in self.allowed_statuses
            if int(c.value) != self.issue.status.id and (int(c.value) in self.closed_status_ids) == closed
        ]


@dataclass(frozen=True)
class TicketChange:
    notes: str = ""
    private_notes: bool = False
    subject: str | None = None
    description: str | None = None
    custom_values: tuple[tuple[int, str | tuple[str, ...]], ...] = ()
    status_id: int | None = None
    assigned_to_id: int | None = None
    uploads: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class TimeEntryDraft:
    hours: Decimal
    activity_id: int | None
    comments: str
    spent_on: dt.date


@dataclass(frozen=True)
class TimeEntry:
    """Time a person logged in Redmine, as Redmine keeps it."""

    id: int
    issue_id: int | None  # None: logged on the project, not a ticket
    hours: Decimal
    activity: str
    comments: str
    spent_on: dt.date
    created_on: dt.datetime | None = None


# A real company's Redmine: its custom fields and what each tracker asks ------------------------------------------
# Formats the bridge asks for in a form; Redmine's `attachment` format is not one of them (a file in a dialog).
ASKED_FORMATS = frozenset(
    {"string", "text", "int", "float", "date", "bool", "list", "enumeration", "user", "version", "link"}
)
# A tracker's standard fields that Redmine lets an administrator disable (Tracker::CORE_FIELDS).
OPTIONAL_STANDARD = frozenset(
    {
        "assigned_to_id",
        "category_id",
        "fixed_version_id",
        "parent_issue_id",
        "start_date",
        "due_date",
        "estimated_hours",
        "done_ratio",
        "description",
    }
)


@dataclass(frozen=True)
class CustomField:
    """An issue custom field as Redmine's administrator sees it (`GET /custom_fields.json`)."""

    id: int
    name: str
    format: str  # string, text, int, float, date, bool, list, enumeration, user, version, link, attachment
    required: bool = False
    multiple: bool = False
    default: str = ""
    options: tuple[Choice, ...] = ()  # list, enumeration, bool; user and version: the project's own
    tracker_ids: frozenset[int] = frozenset()
    visible: bool = True  # False: only people with one of `role_ids` in the project see it
    role_ids: frozenset[int] = frozenset()
    max_length: int | None = None

    @property
    def asked(self) -> bool:
        return self.format in ASKED_FORMATS

    def choices(self) -> tuple[Choice, ...]:
        """What may be chosen: the list's values, or Yes and No, in the reader's language, for a boolean."""
        if self.format == "bool":
            return (Choice("1", _("Yes")), Choice("0", _("No")))
        return self.options

    def label(self, value: str) -> str:
        """A stored value as a person reads it (a list entry's label, Yes or No); else the value itself."""
        return next((c.label for c in self.choices() if c.value == value), value)


@dataclass(frozen=True)
class TicketFields:
    """What a ticket in one project asks, per tracker: read once and kept for minutes (the admin's view)."""

    project_id: int
    project_identifier: str
    trackers: tuple[Choice, ...]  # enabled in the project
    disabled: dict[int, frozenset[str]]  # tracker id -> the standard fields it does not use
    custom: tuple[CustomField, ...]  # enabled for the project
    versions: tuple[Choice, ...] = ()  # open, shared ones included
    categories: tuple[Choice, ...] = ()
    assignable_groups: tuple[Choice, ...] = ()  # the project's member groups, where Redmine assigns to groups

    def custom_for(self, tracker_id: int | None) -> tuple[CustomField, ...]:
        """The fields a ticket of this tracker has (the first tracker's where none is chosen)."""
        chosen = tracker_id if tracker_id is not None else self.default_tracker()
        return tuple(f for f in self.custom if chosen in f.tracker_ids)

    def uses(self, tracker_id: int | None, standard: str) -> bool:
        chosen = tracker_id if tracker_id is not None else self.default_tracker()
        return standard not in self.disabled.get(chosen or 0, frozenset())

    def default_tracker(self) -> int | None:
        return int(self.trackers[0].value) if self.trackers else None

    def field_named(self, name: str) -> CustomField | None:
        wanted = name.strip().lower()
        return next((f for f in self.custom if f.name.lower() == wanted), None)
