"""One ticket as a person sees it in Redmine, and the changes a card's buttons make to it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from app_integration.core.models import Choice, Issue, Ref, Upload


@dataclass(frozen=True)
class Note:
    id: int
    author: Ref
    created_on: dt.datetime | None
    text: str
    private: bool = False


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
    status_id: int | None = None
    assigned_to_id: int | None = None
    uploads: tuple[Upload, ...] = ()


@dataclass(frozen=True)
class TimeEntryDraft:
    hours: Decimal
    activity_id: int | None
    comments: str
    spent_on: dt.date
