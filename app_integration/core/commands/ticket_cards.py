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
from collections.abc import Callable

from app_integration.core.dispatch import run_once
from app_integration.core.errors import InputError, NotFound, PermissionDenied, RedmineRejected
from app_integration.core.formatting import issue_url, link, plain
from app_integration.core.i18n import N_, _, number
from app_integration.core.models import Action, ChatMessage, CommandContext, Reply
from app_integration.core.privacy import everyone_may_see
from app_integration.core.services import Services
from app_integration.core.tickets import TicketChange, TicketView

DESCRIPTION_LIMIT = 600
NOTE_LIMIT = 300
NOTES_SHOWN = 3
NOT_VISIBLE = N_("Ticket #{id} is not found, or you cannot see it.")


def show_ticket(services: Services, context: CommandContext) -> Reply:
    issue_id = issue_id_of(context.argument)
    return card_reply(services, context, issue_id)


def issue_id_of(argument: str) -> int:
    word = argument.strip().split(":", 1)[0].lstrip("#").removeprefix("t")
    if not word.isdigit():
        raise InputError(_("Which ticket? For example: `/integration_with_redmine ticket 10`."))
    return int(word)


def view_for(services: Services, login: str, issue_id: int) -> TicketView:
    try:
        return services.desk.ticket(login, issue_id)
    except (NotFound, PermissionDenied):
        raise NotFound(_(NOT_VISIBLE, id=issue_id)) from None


def card_reply(services: Services, context: CommandContext, issue_id: int, done: str = "") -> Reply:
    login = services.login_for(context.user)
    view = view_for(services, login, issue_id)
    text = card_text(services.tracker.base_url, view)
    return Reply(text=f"{done}\n\n{text}" if done else text, actions=_buttons(view))


def card_text(base_url: str, view: TicketView, with_notes: bool = True) -> str:
    issue = view.issue
    url = issue_url(base_url, issue.id)

    def day(value: dt.date | None) -> str:
        return f"{value:%d.%m.%y}" if value else "—"

    def hours(value: float | None) -> str:
        return _("{hours} h", hours=number(value)) if value is not None else "—"

    lines = [
        f"**{plain(issue.tracker.name)} {link(f'#{issue.id}', url)}** {link(issue.subject, url)}",
        _(
            "Project: {project} · Status: **{status}** · Priority: {priority}",
            project=plain(issue.project.name),
            status=plain(issue.status.name),
            priority=plain(issue.priority.name),
        ),
        _(
            "Assignee: {assignee} · Author: {author}",
            assignee=plain(issue.assigned_to.name) if issue.assigned_to else "—",
            author=plain(issue.author.name),
        ),
        _(
            "Start: {start} · Due: {due} · Done: {done} % · Estimated: {estimated} · Spent: {spent}",
            start=day(issue.start_date),
            due=day(issue.due_date),
            done=view.done_ratio,
            estimated=hours(view.estimated_hours),
            spent=hours(view.spent_hours),
        ),
    ]
    if view.custom_values:
        lines.append(" · ".join(f"{plain(c.name)}: {plain(c.value)}" for c in view.custom_values))
    description = view.description.strip()
    if description:
        cut = description if len(description) <= DESCRIPTION_LIMIT else description[: DESCRIPTION_LIMIT - 1] + "…"
        lines += ["", "\n".join("> " + plain(row) for row in cut.splitlines())]
    if with_notes and view.notes:
        lines += ["", _("**Last notes**")]
        for note in view.notes[-NOTES_SHOWN:]:
            text = note.text.strip().replace("\n", " ")
            text = text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"
            when = f", {note.created_on:%d.%m.%y}" if note.created_on else ""
            private = " _(" + _("private") + ")_" if note.private else ""
            lines.append(f"- {plain(note.author.name)}{when}{private}: {plain(text)}")
    return "\n".join(lines)


def _buttons(view: TicketView) -> tuple[Action, ...]:
    def button(label: str, command: str, style: str = "default") -> Action:
        return Action(label, command, f"{view.issue.id}:{secrets.token_hex(6)}", style)

    found = [button(_("Comment"), "ticket_comment", "primary")]
    if view.other_statuses():
        found.append(button(_("Status"), "ticket_status"))
    if view.issue.assigned_to is None or view.issue.assigned_to.id != view.viewer_id:
        found.append(button(_("Take it"), "ticket_take"))
    found += [button(_("Assign"), "ticket_assign"), button(_("Log time"), "ticket_time")]
    if view.closed and view.status_choices(closed=False):
        found.append(button(_("Reopen"), "ticket_reopen"))
    elif not view.closed and view.status_choices(closed=True):
        found.append(button(_("Close"), "ticket_close"))
    if view.watcher_ids is not None:
        found.append(
            button(_("Unwatch") if view.watching else _("Watch"), "ticket_unwatch" if view.watching else "ticket_watch")
        )
    found.append(button(_("Share in channel"), "ticket_share"))
    return tuple(found)


# One-click actions ---------------------------------------------------------------------------------------------
def _once(services: Services, context: CommandContext, act: Callable[[str, TicketView], str]) -> Reply:
    """Runs a button's action once per rendered button (its nonce), then shows the card as it is now."""
    issue_id = issue_id_of(context.argument)
    nonce = context.argument.partition(":")[2]
    keyed = dataclasses.replace(context, idempotency_key=f"card-{issue_id}-{nonce}" if nonce else None)

    def work() -> Reply:
        login = services.login_for(context.user)
        done = act(login, view_for(services, login, issue_id))
        return card_reply(services, context, issue_id, done)

    return run_once(services.store, keyed, work)


def _change(services: Services, login: str, view: TicketView, change: TicketChange) -> None:
    try:
        services.desk.change_ticket(login, view.issue.id, change)
    except RedmineRejected as refused:
        raise InputError(refused.user_message) from None


def close_ticket(services: Services, context: CommandContext) -> Reply:
    return _move(services, context, closed=True)


def reopen_ticket(services: Services, context: CommandContext) -> Reply:
    return _move(services, context, closed=False)


def _move(services: Services, context: CommandContext, closed: bool) -> Reply:
    def act(login: str, view: TicketView) -> str:
        if view.closed == closed:
            return _("It is already closed.") if closed else _("It is already open.")
        choices = view.status_choices(closed=closed)
        if not choices:
            raise PermissionDenied(
                _("Redmine's workflow does not let you close it.")
                if closed
                else _("Redmine's workflow does not let you reopen it.")
            )
        _change(services, login, view, TicketChange(status_id=int(choices[0].value)))
        label = plain(choices[0].label)
        return _("Closed as **{status}**.", status=label) if closed else _("Reopened as **{status}**.", status=label)

    return _once(services, context, act)


def assign_to_me(services: Services, context: CommandContext) -> Reply:
    def act(login: str, view: TicketView) -> str:
        _change(services, login, view, TicketChange(assigned_to_id=view.viewer_id))
        return _("Assigned to you.")

    return _once(services, context, act)


def watch_ticket(services: Services, context: CommandContext) -> Reply:
    return _watch(services, context, True)


def unwatch_ticket(services: Services, context: CommandContext) -> Reply:
    return _watch(services, context, False)


def _watch(services: Services, context: CommandContext, watching: bool) -> Reply:
    def act(login: str, view: TicketView) -> str:
        try:
            services.desk.set_watching(login, view.issue.id, view.viewer_id, watching)
        except RedmineRejected as refused:
            raise InputError(refused.user_message) from None
        return _("You watch it now.") if watching else _("You no longer watch it.")

    return _once(services, context, act)


def share_ticket(services: Services, context: CommandContext) -> Reply:
    """Posts the card for the whole channel, only when every member could see the ticket in Redmine."""

    def act(login: str, view: TicketView) -> str:
        issue = view.issue
        # The channel is the one the button was signed for (the dispatch lets only a signed click in here).
        if issue.is_private:
            return _("Not shared: the ticket is private, so not everyone in this channel may see it.")
        if not everyone_may_see(services, issue, services.chat.channel_kind(context.channel_id, fresh=True)):
            return _(
                "Not shared: Redmine does not let everyone in this channel see the tickets of {project}.",
                project=plain(issue.project.name),
            )
        text = card_text(services.tracker.base_url, view, with_notes=False)
        shared = _("@{user} shared:", user=context.user.username)
        services.chat.post(context.channel_id, ChatMessage(text=f"{shared}\n{text}"))
        return _("Shared in this channel.")

    return _once(services, context, act)
