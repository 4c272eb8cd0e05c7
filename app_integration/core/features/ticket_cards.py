"""`ticket 10` (`view 10`): a ticket's card for the caller alone, with buttons that act in Redmine as the
person who clicks them: comment, status, assign, log time, close or reopen, watch, share in channel.

The card is read as the caller, so what Redmine hides from them (the ticket itself, private notes,
transitions the workflow does not give them) never shows. Each button is signed for that person only
(the surfaces see to it) and carries a nonce: a double click runs its action once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import uuid
from collections.abc import Callable

from ..chat_ids import is_chat_id
from ..errors import InputError, NotFound, PermissionDenied, RedmineRejected
from ..formatting import issue_url, link, plain
from ..i18n import _
from ..idempotency import run_once
from ..models import Action, ChatMessage, CommandContext, Form, FormField, Reply
from ..services import Services
from ..ticket_parser import parse_date
from ..tickets import TicketChange, TicketView, TimeEntryDraft
from .ticket_form import parse_hours

DESCRIPTION_LIMIT = 600
NOTE_LIMIT = 300
NOTES_SHOWN = 3
NOT_VISIBLE = "Ticket #{id} is not found, or you cannot see it."


def show_ticket(services: Services, context: CommandContext) -> Reply:
    issue_id = _issue_id(context.argument)
    return _card_reply(services, context, issue_id)


def _issue_id(argument: str) -> int:
    word = argument.strip().split(":", 1)[0].lstrip("#").removeprefix("t")
    if not word.isdigit():
        raise InputError("Which ticket? For example: `/integration_with_redmine ticket 10`.")
    return int(word)


def _view(services: Services, login: str, issue_id: int) -> TicketView:
    try:
        return services.ticket_desk().ticket(login, issue_id)
    except (NotFound, PermissionDenied):
        raise NotFound(NOT_VISIBLE.format(id=issue_id)) from None


def _card_reply(services: Services, context: CommandContext, issue_id: int, done: str = "") -> Reply:
    login = services.login_for(context.user)
    view = _view(services, login, issue_id)
    text = card_text(services.tracker.base_url, view)
    return Reply(text=f"{done}\n\n{text}" if done else text, actions=_buttons(view))


def card_text(base_url: str, view: TicketView, with_notes: bool = True) -> str:
    issue = view.issue
    url = issue_url(base_url, issue.id)

    def day(value: dt.date | None) -> str:
        return f"{value:%d.%m.%y}" if value else "—"

    def hours(value: float | None) -> str:
        return f"{value:g} h" if value is not None else "—"

    lines = [
        f"**{plain(issue.tracker.name)} {link(f'#{issue.id}', url)}** {link(issue.subject, url)}",
        f"Project: {plain(issue.project.name)} · Status: **{plain(issue.status.name)}** · "
        f"Priority: {plain(issue.priority.name)}",
        f"Assignee: {plain(issue.assigned_to.name) if issue.assigned_to else '—'} · Author: {plain(issue.author.name)}",
        f"Start: {day(issue.start_date)} · Due: {day(issue.due_date)} · Done: {view.done_ratio} % · "
        f"Estimated: {hours(view.estimated_hours)} · Spent: {hours(view.spent_hours)}",
    ]
    description = view.description.strip()
    if description:
        cut = description if len(description) <= DESCRIPTION_LIMIT else description[: DESCRIPTION_LIMIT - 1] + "…"
        lines += ["", "\n".join("> " + plain(row) for row in cut.splitlines())]
    if with_notes and view.notes:
        lines += ["", "**Last notes**"]
        for note in view.notes[-NOTES_SHOWN:]:
            text = note.text.strip().replace("\n", " ")
            text = text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"
            when = f", {note.created_on:%d.%m.%y}" if note.created_on else ""
            private = " _(private)_" if note.private else ""
            lines.append(f"- {plain(note.author.name)}{when}{private}: {plain(text)}")
    return "\n".join(lines)


def _buttons(view: TicketView) -> tuple[Action, ...]:
    def button(label: str, command: str, style: str = "default") -> Action:
        return Action(label, command, f"{view.issue.id}:{secrets.token_hex(6)}", style)

    found = [button("Comment", "ticket_comment", "primary")]
    if view.status_choices(closed=False) or view.status_choices(closed=True):
        found.append(button("Status", "ticket_status"))
    if view.issue.assigned_to is None or view.issue.assigned_to.id != view.viewer_id:
        found.append(button("Take it", "ticket_take"))
    found += [button("Assign", "ticket_assign"), button("Log time", "ticket_time")]
    if view.closed and view.status_choices(closed=False):
        found.append(button("Reopen", "ticket_reopen"))
    elif not view.closed and view.status_choices(closed=True):
        found.append(button("Close", "ticket_close"))
    if view.watcher_ids is not None:
        found.append(
            button("Unwatch" if view.watching else "Watch", "ticket_unwatch" if view.watching else "ticket_watch")
        )
    found.append(button("Share in channel", "ticket_share"))
    return tuple(found)


# One-click actions ---------------------------------------------------------------------------------------------
def _once(services: Services, context: CommandContext, act: Callable[[str, TicketView], str]) -> Reply:
    """Runs a button's action once per rendered button (its nonce), then shows the card as it is now."""
    issue_id = _issue_id(context.argument)
    nonce = context.argument.partition(":")[2]
    keyed = dataclasses.replace(context, idempotency_key=f"card-{issue_id}-{nonce}" if nonce else None)

    def work() -> Reply:
        login = services.login_for(context.user)
        done = act(login, _view(services, login, issue_id))
        return _card_reply(services, context, issue_id, done)

    return run_once(services.store, keyed, work)


def _change(services: Services, login: str, view: TicketView, change: TicketChange) -> None:
    try:
        services.ticket_desk().change_ticket(login, view.issue.id, change)
    except RedmineRejected as refused:
        raise InputError("Redmine refused it: " + refused.user_message) from None


def close_ticket(services: Services, context: CommandContext) -> Reply:
    return _move(services, context, closed=True)


def reopen_ticket(services: Services, context: CommandContext) -> Reply:
    return _move(services, context, closed=False)


def _move(services: Services, context: CommandContext, closed: bool) -> Reply:
    def act(login: str, view: TicketView) -> str:
        if view.closed == closed:
            return f"It is already {'closed' if closed else 'open'}."
        choices = view.status_choices(closed=closed)
        if not choices:
            raise PermissionDenied(f"Redmine's workflow does not let you {'close' if closed else 'reopen'} it.")
        _change(services, login, view, TicketChange(status_id=int(choices[0].value)))
        return f"{'Closed' if closed else 'Reopened'} as **{plain(choices[0].label)}**."

    return _once(services, context, act)


def assign_to_me(services: Services, context: CommandContext) -> Reply:
    def act(login: str, view: TicketView) -> str:
        _change(services, login, view, TicketChange(assigned_to_id=view.viewer_id))
        return "Assigned to you."

    return _once(services, context, act)


def watch_ticket(services: Services, context: CommandContext) -> Reply:
    return _watch(services, context, True)


def unwatch_ticket(services: Services, context: CommandContext) -> Reply:
    return _watch(services, context, False)


def _watch(services: Services, context: CommandContext, watching: bool) -> Reply:
    def act(login: str, view: TicketView) -> str:
        try:
            services.ticket_desk().set_watching(login, view.issue.id, view.viewer_id, watching)
        except RedmineRejected as refused:
            raise InputError("Redmine refused it: " + refused.user_message) from None
        return "You watch it now." if watching else "You no longer watch it."

    return _once(services, context, act)


def share_ticket(services: Services, context: CommandContext) -> Reply:
    """Posts the card for the whole channel, only when every member could see the ticket in Redmine."""

    def act(login: str, view: TicketView) -> str:
        issue = view.issue
        if issue.is_private:
            return "Not shared: the ticket is private, so not everyone in this channel may see it."
        if not services.tracker.project_is_public(issue.project.id):
            return "Not shared: its project is not public, so not everyone in this channel may see it."
        text = card_text(services.tracker.base_url, view, with_notes=False)
        services.chat.post(context.channel_id, ChatMessage(text=f"@{context.user.username} shared:\n{text}"))
        return "Shared in this channel."

    return _once(services, context, act)


# Dialog actions ------------------------------------------------------------------------------------------------
def _form(command: str, title: str, issue_id: int, fields: tuple[FormField, ...], label: str = "Save") -> Reply:
    return Reply(
        form=Form(
            command=command,
            title=title,
            fields=fields,
            idempotency_key=uuid.uuid4().hex,
            submit_label=label,
            argument=str(issue_id),
        )
    )


def comment_form(services: Services, context: CommandContext) -> Reply:
    issue_id = _issue_id(context.argument)
    login = services.login_for(context.user)
    view = _view(services, login, issue_id)
    fields = [FormField("notes", _("Comment"), "textarea", True, max_length=3000, help=_("In Markdown, as in Redmine"))]
    if services.ticket_desk().may_write_private_notes(login, view.issue.project.id):
        fields.append(
            FormField("private", _("Private comment"), "bool", default="false", help=_("Only roles that may"))
        )
    return _form("ticket_comment", f"Comment on #{issue_id}", issue_id, tuple(fields), "Comment")


def submit_comment(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = _issue_id(context.argument), services.login_for(context.user)
        view = _view(services, login, issue_id)
        notes = (context.values.get("notes") or "").strip()
        if not notes:
            raise InputError("Write a comment.", {"notes": "Write a comment"})
        private = (context.values.get("private") or "").lower() == "true"
        if private and not services.ticket_desk().may_write_private_notes(login, view.issue.project.id):
            raise InputError("You may not write private comments here.", {"private": "Not allowed for you here"})
        _submit_change(services, login, view, TicketChange(notes=notes, private_notes=private), "notes")
        return _card_reply(services, context, issue_id, "Your comment is in Redmine.")

    return run_once(services.store, context, work)


def status_form(services: Services, context: CommandContext) -> Reply:
    issue_id = _issue_id(context.argument)
    view = _view(services, services.login_for(context.user), issue_id)
    choices = tuple(view.status_choices(closed=False) + view.status_choices(closed=True))
    if not choices:
        raise PermissionDenied("Redmine's workflow gives you no other status for this ticket.")
    fields = (
        FormField(
            "status", _("New status"), "select", True, choices, help=_("Only what Redmine's workflow allows you")
        ),
        FormField("notes", _("Comment"), "textarea", max_length=3000),
    )
    return _form("ticket_status", f"Status of #{issue_id}", issue_id, fields)


def submit_status(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = _issue_id(context.argument), services.login_for(context.user)
        view = _view(services, login, issue_id)
        wanted = context.values.get("status") or ""
        allowed = {c.value: c.label for c in view.status_choices(False) + view.status_choices(True)}
        if wanted not in allowed:
            raise InputError("Choose a status from the list.", {"status": "Not a status you may set now"})
        change = TicketChange(notes=(context.values.get("notes") or "").strip(), status_id=int(wanted))
        _submit_change(services, login, view, change, "status")
        return _card_reply(services, context, issue_id, f"Moved to **{plain(allowed[wanted])}**.")

    return run_once(services.store, context, work)


def assign_form(services: Services, context: CommandContext) -> Reply:
    issue_id = _issue_id(context.argument)
    _view(services, services.login_for(context.user), issue_id)
    fields = (
        FormField("mine", _("Assign to me"), "bool", default="false", help=_("Or choose a person below")),
        FormField("assignee", _("Assignee"), "user", help=_("They must be a member who may be assigned")),
    )
    return _form("ticket_assign", f"Assign #{issue_id}", issue_id, fields, "Assign")


def submit_assign(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = _issue_id(context.argument), services.login_for(context.user)
        view = _view(services, login, issue_id)
        if (context.values.get("mine") or "").lower() == "true":
            target, name = view.viewer_id, "you"
        else:
            target, name = _assignee(services, context.values.get("assignee"))
        _submit_change(services, login, view, TicketChange(assigned_to_id=target), "assignee")
        return _card_reply(services, context, issue_id, f"Assigned to {name}.")

    return run_once(services.store, context, work)


def _assignee(services: Services, chosen: str | None) -> tuple[int, str]:
    user = services.chat.user(chosen) if chosen and is_chat_id(chosen) else None
    if user is None:
        raise InputError("Choose someone, or assign it to yourself.", {"assignee": "Choose a person"})
    login = services.users.redmine_login(user)
    account = services.tracker.account(login) if login else None
    if account is None or not account.active:
        raise InputError("That person has no active Redmine account.", {"assignee": "No active Redmine account"})
    return account.id, f"@{user.username}"


def time_form(services: Services, context: CommandContext) -> Reply:
    issue_id = _issue_id(context.argument)
    _view(services, services.login_for(context.user), issue_id)
    activities = tuple(services.ticket_desk().activities())
    default = next((a.value for a in activities if a.is_default), activities[0].value if activities else None)
    fields = (
        FormField("hours", _("Hours"), "text", True, hint=_("e.g. 1.5"), help=_("Hours spent, e.g. 1.5 or 1,5")),
        FormField("activity", _("Activity"), "select", bool(activities), activities, default),
        FormField("comment", _("Comment"), "text", max_length=255),
        FormField(
            "spent_on", _("Date"), "text", default=f"{services.today_for(context.user):%d.%m.%y}", hint=_("dd.mm.yy")
        ),
    )
    return _form("ticket_time", f"Log time on #{issue_id}", issue_id, fields, "Log")


def submit_time(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = _issue_id(context.argument), services.login_for(context.user)
        _view(services, login, issue_id)
        errors: dict[str, str] = {}
        hours = parse_hours((context.values.get("hours") or "").strip(), errors, "hours")
        if hours is None and "hours" not in errors:
            errors["hours"] = "Hours are required"
        spent_on = services.today_for(context.user)
        raw_day = (context.values.get("spent_on") or "").strip()
        if raw_day:
            try:
                spent_on = parse_date(raw_day)
            except ValueError as error:
                errors["spent_on"] = str(error)
        if errors or hours is None:
            raise InputError("Please fix the marked fields: " + "; ".join(errors.values()), errors)
        activity = context.values.get("activity")
        entry = TimeEntryDraft(
            hours,
            int(activity) if activity and activity.isdigit() else None,
            (context.values.get("comment") or "").strip(),
            spent_on,
        )
        try:
            services.ticket_desk().log_time(login, issue_id, entry)
        except RedmineRejected as refused:
            raise InputError("Redmine refused it: " + refused.user_message, {"hours": refused.user_message}) from None
        return _card_reply(services, context, issue_id, f"Logged {hours:g} h.")

    return run_once(services.store, context, work)


def _submit_change(services: Services, login: str, view: TicketView, change: TicketChange, field: str) -> None:
    """A dialog's change; Redmine's reason for refusing it is shown against the dialog's field."""
    try:
        services.ticket_desk().change_ticket(login, view.issue.id, change)
    except RedmineRejected as refused:
        raise InputError("Redmine refused it: " + refused.user_message, {field: refused.user_message}) from None
