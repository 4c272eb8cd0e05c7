"""The dialogs behind a ticket card's buttons: comment, status, assign, log time. Each acts in Redmine as the
person who submits it; Redmine's refusal is shown against the field it names, and where the workflow asks
for a custom field the dialog did not ask (a Reviewer to resolve a Bug), the dialog comes back with it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

from app_integration.core.commands import custom_values
from app_integration.core.commands.input_parsing import parse_date, parse_hours
from app_integration.core.commands.ticket_cards import card_reply, issue_id_of, view_for
from app_integration.core.dispatch import run_once
from app_integration.core.errors import InputError, PermissionDenied, RedmineRejected
from app_integration.core.formatting import plain
from app_integration.core.i18n import _, number
from app_integration.core.models import CommandContext, Form, FormField, Reply, is_chat_id
from app_integration.core.services import Services
from app_integration.core.tickets import TicketChange, TicketView, TimeEntryDraft


class _FieldsAsked(Exception):
    """Redmine refused a change for custom fields the dialog did not ask (a workflow rule of the status)."""

    def __init__(self, ids: tuple[int, ...], reason: str) -> None:
        super().__init__(reason)
        self.ids = ids
        self.reason = reason


def _asked(argument: str) -> tuple[int, ...]:
    """The custom fields a dialog asks besides its own, as its argument names them (`10:cf=5,7`)."""
    part = next((p for p in argument.split(":")[1:] if p.startswith("cf=")), "")
    return tuple(int(n) for n in part[3:].split(",") if n.isdigit())


def _form(
    command: str,
    title: str,
    view: TicketView,
    fields: tuple[FormField, ...],
    label: str = "",
    services: Services | None = None,
    context: CommandContext | None = None,
) -> Reply:
    """A card's dialog; with the custom fields Redmine asked for last time (named in the argument), required."""
    issue_id = view.issue.id
    asked = _asked(context.argument) if context is not None else ()
    argument = str(issue_id)
    if asked and services is not None and context is not None:
        catalog = services.fields.fields(str(view.issue.project.id))
        fields += custom_values.inputs_by_id(catalog, asked, context.values)
        argument += ":cf=" + ",".join(map(str, asked))
    return Reply(
        form=Form(
            command=command,
            title=title,
            fields=fields,
            idempotency_key=uuid.uuid4().hex,
            submit_label=label or _("Save"),
            argument=argument,
            introduction=_("Redmine asks for these fields too.") if asked else "",
        )
    )


def _asked_values(
    services: Services, context: CommandContext, view: TicketView
) -> tuple[tuple[int, str | tuple[str, ...]], ...]:
    asked = _asked(context.argument)
    if not asked:
        return ()
    errors: dict[str, str] = {}
    catalog = services.fields.fields(str(view.issue.project.id))
    found = custom_values.values_by_id(catalog, asked, context.values, errors)
    if errors:
        raise InputError(_("Please fix the marked fields:") + " " + "; ".join(errors.values()), errors)
    return found


def _again(
    services: Services,
    context: CommandContext,
    opener: Callable[[Services, CommandContext], Reply],
    asked: _FieldsAsked,
) -> Reply:
    """The same dialog, now asking for the fields Redmine named too, with what was typed kept."""
    issue_id = issue_id_of(context.argument)
    ids = tuple(dict.fromkeys(_asked(context.argument) + asked.ids))
    reply = opener(services, dataclasses.replace(context, argument=f"{issue_id}:cf=" + ",".join(map(str, ids))))
    assert reply.form is not None
    form = dataclasses.replace(reply.form, introduction=_("Redmine refused it: ") + asked.reason)
    return dataclasses.replace(reply, form=form)


def comment_form(services: Services, context: CommandContext) -> Reply:
    issue_id = issue_id_of(context.argument)
    login = services.login_for(context.user)
    view = view_for(services, login, issue_id)
    fields = [FormField("notes", _("Comment"), "textarea", True, max_length=3000, help=_("In Markdown, as in Redmine"))]
    if services.desk.may_write_private_notes(login, view.issue.project.id):
        fields.append(
            FormField("private", _("Private comment"), "bool", default="false", help=_("Only roles that may"))
        )
    title = _("Comment on #{issue_id}", issue_id=issue_id)
    return _form("ticket_comment", title, view, tuple(fields), _("Comment"), services, context)


def submit_comment(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = issue_id_of(context.argument), services.login_for(context.user)
        view = view_for(services, login, issue_id)
        notes = (context.values.get("notes") or "").strip()
        if not notes:
            raise InputError(_("Write a comment."), {"notes": _("Write a comment")})
        private = (context.values.get("private") or "").lower() == "true"
        if private and not services.desk.may_write_private_notes(login, view.issue.project.id):
            raise InputError(_("You may not write private comments here."), {"private": _("Not allowed for you here")})
        change = TicketChange(notes=notes, private_notes=private, custom_values=_asked_values(services, context, view))
        try:
            _submit_change(services, login, view, change, "notes")
        except _FieldsAsked as asked:
            return _again(services, context, comment_form, asked)
        return card_reply(services, context, issue_id, _("Your comment is in Redmine."))

    return run_once(services.store, context, work)


def status_form(services: Services, context: CommandContext) -> Reply:
    issue_id = issue_id_of(context.argument)
    view = view_for(services, services.login_for(context.user), issue_id)
    choices = tuple(view.other_statuses())
    if not choices:
        raise PermissionDenied(_("Redmine's workflow gives you no other status for this ticket."))
    fields = (
        FormField(
            "status",
            _("New status"),
            "select",
            True,
            choices,
            default=context.values.get("status") or None,
            help=_("Only what Redmine's workflow allows you"),
        ),
        FormField("notes", _("Comment"), "textarea", max_length=3000, default=context.values.get("notes") or None),
    )
    title = _("Status of #{issue_id}", issue_id=issue_id)
    return _form("ticket_status", title, view, fields, "", services, context)


def submit_status(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = issue_id_of(context.argument), services.login_for(context.user)
        view = view_for(services, login, issue_id)
        wanted = context.values.get("status") or ""
        allowed = {c.value: c.label for c in view.other_statuses()}
        if wanted not in allowed:
            raise InputError(_("Choose a status from the list."), {"status": _("Not a status you may set now")})
        notes = (context.values.get("notes") or "").strip()
        change = TicketChange(notes=notes, status_id=int(wanted), custom_values=_asked_values(services, context, view))
        try:
            _submit_change(services, login, view, change, "status")
        except _FieldsAsked as asked:
            return _again(services, context, status_form, asked)
        return card_reply(services, context, issue_id, _("Moved to **{wanted}**.", wanted=plain(allowed[wanted])))

    return run_once(services.store, context, work)


def assign_form(services: Services, context: CommandContext) -> Reply:
    issue_id = issue_id_of(context.argument)
    view = view_for(services, services.login_for(context.user), issue_id)
    fields: tuple[FormField, ...] = (
        FormField("mine", _("Assign to me"), "bool", default="false", help=_("Or choose a person below")),
        FormField("assignee", _("Assignee"), "user", help=_("They must be a member who may be assigned")),
    )
    groups = services.fields.fields(str(view.issue.project.id)).assignable_groups
    if groups:  # only where Redmine lets tickets be assigned to groups
        fields += (FormField("group", _("Or a group"), "select", options=groups, help=_("A group of the project")),)
    title = _("Assign #{issue_id}", issue_id=issue_id)
    return _form("ticket_assign", title, view, fields, _("Assign"), services, context)


def submit_assign(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = issue_id_of(context.argument), services.login_for(context.user)
        view = view_for(services, login, issue_id)
        groups = {g.value: g.label for g in services.fields.fields(str(view.issue.project.id)).assignable_groups}
        group = context.values.get("group") or ""
        if (context.values.get("mine") or "").lower() == "true":
            target, name = view.viewer_id, _("you")
        elif group and not context.values.get("assignee"):
            if group not in groups:
                raise InputError(_("Choose a group from the list."), {"group": _("Choose one from the list")})
            target, name = int(group), f"**{plain(groups[group])}**"
        else:
            target, name = _assignee(services, context.values.get("assignee"))
        change = TicketChange(assigned_to_id=target, custom_values=_asked_values(services, context, view))
        try:
            _submit_change(services, login, view, change, "assignee")
        except _FieldsAsked as asked:
            return _again(services, context, assign_form, asked)
        return card_reply(services, context, issue_id, _("Assigned to {name}.", name=name))

    return run_once(services.store, context, work)


def _assignee(services: Services, chosen: str | None) -> tuple[int, str]:
    user = services.chat.user(chosen) if chosen and is_chat_id(chosen) else None
    if user is None:
        raise InputError(_("Choose someone, or assign it to yourself."), {"assignee": _("Choose a person")})
    login = services.users.redmine_login(user)
    account = services.tracker.account(login) if login else None
    if account is None or not account.active:
        raise InputError(_("That person has no active Redmine account."), {"assignee": _("No active Redmine account")})
    return account.id, f"@{user.username}"


def time_form(services: Services, context: CommandContext) -> Reply:
    issue_id = issue_id_of(context.argument)
    view = view_for(services, services.login_for(context.user), issue_id)
    activities = tuple(services.desk.activities())
    default = next((a.value for a in activities if a.is_default), activities[0].value if activities else None)
    fields = (
        FormField("hours", _("Hours"), "text", True, hint=_("e.g. 1.5"), help=_("Hours spent, e.g. 1.5 or 1,5")),
        FormField("activity", _("Activity"), "select", bool(activities), activities, default),
        FormField("comment", _("Comment"), "text", max_length=255),
        FormField(
            "spent_on", _("Date"), "text", default=f"{services.today_for(context.user):%d.%m.%y}", hint=_("dd.mm.yy")
        ),
    )
    return _form("ticket_time", _("Log time on #{issue_id}", issue_id=issue_id), view, fields, _("Log"))


def submit_time(services: Services, context: CommandContext) -> Reply:
    def work() -> Reply:
        issue_id, login = issue_id_of(context.argument), services.login_for(context.user)
        view_for(services, login, issue_id)
        errors: dict[str, str] = {}
        hours = parse_hours((context.values.get("hours") or "").strip(), errors, "hours")
        if hours is None and "hours" not in errors:
            errors["hours"] = _("Hours are required")
        spent_on = services.today_for(context.user)
        raw_day = (context.values.get("spent_on") or "").strip()
        if raw_day:
            try:
                spent_on = parse_date(raw_day)
            except ValueError as error:
                errors["spent_on"] = str(error)
        if errors or hours is None:
            raise InputError(_("Please fix the marked fields:") + " " + "; ".join(errors.values()), errors)
        activity = context.values.get("activity")
        entry = TimeEntryDraft(
            hours,
            int(activity) if activity and activity.isdigit() else None,
            (context.values.get("comment") or "").strip(),
            spent_on,
        )
        try:
            services.desk.log_time(login, issue_id, entry)
        except RedmineRejected as refused:
            raise InputError(refused.user_message, {"hours": refused.user_message}) from None
        return card_reply(services, context, issue_id, _("Logged {hours} h.", hours=number(float(hours))))

    return run_once(services.store, context, work)


def _submit_change(services: Services, login: str, view: TicketView, change: TicketChange, field: str) -> None:
    """A dialog's change. Redmine's reason for refusing it is shown against the field it names, the dialog's own
    where it names none; a custom field the dialog did not ask raises _FieldsAsked (the dialog comes back)."""
    try:
        services.desk.change_ticket(login, view.issue.id, change)
    except RedmineRejected as refused:
        catalog = services.fields.fields(str(view.issue.project.id))
        named = custom_values.refusal_errors(refused, catalog.custom)
        asked = tuple(int(k.removeprefix(custom_values.PREFIX)) for k in named if k.startswith(custom_values.PREFIX))
        if asked:
            raise _FieldsAsked(asked, refused.user_message) from None
        raise InputError(refused.user_message, {field: refused.user_message}) from None
