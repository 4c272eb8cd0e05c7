"""Issue events as chat text: the card at a thread's root, and one line per change in its thread.

People are named as Mattermost @mentions where the bridge knows them, except the person who made the
change: nobody is pinged for their own change. Everything that comes from Redmine is made inert first.
"""

from __future__ import annotations

from collections.abc import Callable

from app_integration.core.events import CUSTOM_FIELD, Change, IssueEvent
from app_integration.core.formatting import issue_url, link, plain
from app_integration.core.i18n import _
from app_integration.core.models import Issue, Ref

NOTE_LIMIT = 500
# Redmine user id -> Mattermost username, where someone linked one.
Mentions = Callable[[int], str | None]


class Names:
    """Renders Redmine people for one event: a mention for others, an inert name for the actor."""

    def __init__(self, mentions: Mentions, actor_id: int) -> None:
        self._mentions = mentions
        self._actor = actor_id

    def person(self, ref: Ref | None, ping: bool = True) -> str:
        if ref is None or not ref.id:
            return _("nobody")
        username = self._mentions(ref.id)
        if username is None:
            return f"**{plain(ref.name)}**"
        return f"@{username}" if ping and ref.id != self._actor else plain(f"@{username}")

    def by_id(self, change: Change) -> str:
        return self.person(Ref(change.new_id, change.new) if change.new_id else None)


def card(base_url: str, issue: Issue, names: Names) -> str:
    """The issue's current state, as the root of its thread; edited as the issue changes."""
    due = f"{issue.due_date:%d.%m.%y}" if issue.due_date else "—"
    heading = f"**{plain(issue.tracker.name)} {link(f'#{issue.id}', issue_url(base_url, issue.id))}** "
    heading += link(issue.subject, issue_url(base_url, issue.id))
    state = _(
        "Status: **{status}** · Assignee: {assignee} · Priority: {priority} · Due: {due}",
        status=plain(issue.status.name),
        assignee=names.person(issue.assigned_to, ping=False),
        priority=plain(issue.priority.name),
        due=due,
    )
    return f"{heading}\n{state}"


def event_text(base_url: str, event: IssueEvent, names: Names, with_note: bool = True) -> str:
    text = _event_text(base_url, event, names, with_note)
    if not event.files:
        return text
    files = ", ".join(link(f"📎 {f.name}", f"{base_url}/attachments/{f.id}") for f in event.files)
    return f"{text}\n{_('Files: {files}', files=files)}" if text else _("Files: {files}", files=files)


def _event_text(base_url: str, event: IssueEvent, names: Names, with_note: bool) -> str:
    actor = names.person(event.actor, ping=False)
    issue = event.issue
    if "created" in event.kinds:
        line = _(
            "{actor} created {tracker} #{id}: {subject}",
            actor=actor,
            tracker=plain(issue.tracker.name),
            id=issue.id,
            subject=plain(issue.subject),
        )
        if issue.assigned_to:
            line += _(", assigned to {assigned_to}", assigned_to=names.person(issue.assigned_to))
        return line
    lines = [_change_line(event, change, names) for change in event.changes]
    parts = [f"{actor} {line}" for line in lines if line]
    if with_note and "note" in event.kinds:
        note = event.notes.strip()
        if len(note) > NOTE_LIMIT:
            note = note[: NOTE_LIMIT - 1] + "…"
        quoted = "\n".join("> " + plain(row) for row in note.splitlines())
        where = f"{issue_url(base_url, issue.id)}#change-{event.journal_id}"
        said = (
            _("{actor} commented privately ([open in Redmine]({where})):", actor=actor, where=where)
            if event.private_notes
            else _("{actor} commented ([open in Redmine]({where})):", actor=actor, where=where)
        )
        parts.append(f"{said}\n{quoted}")
    return "\n".join(parts)


def _change_line(event: IssueEvent, change: Change, names: Names) -> str:
    if change.field == "status_id":
        if event.closed:
            return _("closed it as **{new}** (was {old})", new=plain(change.new), old=plain(change.old))
        return _("moved it to **{new}** (was {old})", new=plain(change.new), old=plain(change.old))
    if change.field == "assigned_to_id":
        return _("assigned it to {change}", change=names.by_id(change)) if change.new_id else _("unassigned it")
    if change.field == "priority_id":
        return _("changed the priority to **{new}** (was {old})", new=plain(change.new), old=plain(change.old))
    if change.field == "due_date":
        return _("set the due date to {new}", new=_day(change.new)) if change.new else _("removed the due date")
    if change.field.startswith(CUSTOM_FIELD):
        return _(
            "changed {field}: {old} → {new}",
            field=f"**{plain(change.label)}**",
            old=plain(change.old) or "—",
            new=plain(change.new) or "—",
        )
    return ""


def _day(iso_date: str) -> str:
    parts = iso_date.split("-")
    return f"{parts[2]}.{parts[1]}.{parts[0][2:]}" if len(parts) == 3 else plain(iso_date)


def personal_text(base_url: str, event: IssueEvent, reason: str, names: Names) -> str:
    """A DM: why you hear of it, then what happened, with the link."""
    issue = event.issue
    head = f"{link(f'#{issue.id} {issue.subject}', issue_url(base_url, issue.id))} ({reason})"
    return f"{head}\n{event_text(base_url, event, names)}"
