"""`attach <permalink or post id> <ticket> [thread]`: a post, or its whole thread, added to a ticket that exists,
as a note written by the person (their Redmine rights decide), with its author, time, permalink and files. The
ticket emoji's DM opens the same as a dialog: the person's recent open tickets, or any number."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid

from app_integration.core.commands.post_material import (
    Carried,
    Material,
    carry_files,
    gather,
    note_text,
    private_or_refuse,
    source_post,
)
from app_integration.core.commands.ticket_cards import NOT_VISIBLE
from app_integration.core.dispatch import run_once
from app_integration.core.errors import BridgeError, InputError, NotFound, PermissionDenied
from app_integration.core.formatting import issue_link, issue_url, plain
from app_integration.core.i18n import N_, _, ngettext
from app_integration.core.models import ChatMessage, Choice, CommandContext, Form, FormField, Reply
from app_integration.core.services import Services
from app_integration.core.tickets import TicketChange

TICKET = re.compile(r"^(?:#t?|t)?(\d{1,9})$|/issues/(\d{1,9})(?:[/?#].*)?$", re.IGNORECASE)
THREAD_WORDS = {"thread", "all", "ветка", "ветку", "всю", "тред"}
RECENT = 25  # tickets offered in the dialog
NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def attach(services: Services, context: CommandContext) -> Reply:
    """The typed command. Without both its arguments, it says how it is used."""
    parts = context.argument.split()
    if len(parts) < 2:
        raise InputError(_("Give a post and a ticket: `attach <permalink or post id> <ticket number> [thread]`."))
    whole = len(parts) > 2 and parts[2].lower() in THREAD_WORDS
    issue_id = ticket_number(parts[1])
    return run_once(services.store, context, lambda: add_to_ticket(services, context, parts[0], issue_id, whole))


def ticket_number(raw: str) -> int:
    found = TICKET.search(raw.strip())
    if found is None:
        raise InputError(_("`{raw}` is not a ticket number.", raw=plain(raw)), {"number": _("A ticket number")})
    return int(found.group(1) or found.group(2))


def attach_form(services: Services, context: CommandContext) -> Reply:
    """The dialog behind the ticket emoji's *Add to a ticket* button; its argument is the post's id."""
    login = services.login_for(context.user)
    post = source_post(services, context, context.argument)
    fields = [
        FormField(
            "ticket",
            _("Ticket"),
            "select",
            options=recent_tickets(services, login),
            help=_("Your recent open tickets: assigned to you or created by you"),
        ),
        FormField("number", _("Or its number"), "text", hint="123", help=_("Any ticket you may write in")),
        FormField("thread", _("The whole thread"), "bool", help=_("Every post of the thread, in order, as one note")),
    ]
    private = services.chat.channel_kind(post.channel_id) != "O"
    form = Form(
        command="attach",
        title=_("Add to a ticket"),
        idempotency_key=uuid.uuid4().hex,
        submit_label=_("Add"),
        fields=tuple(fields),
        argument=post.id,
        introduction=_(PRIVATE_NOTICE) if private else "",
    )
    return Reply(form=form)


PRIVATE_NOTICE = N_(
    "This post is from a channel that is not public: it is added as a private note, where Redmine lets you write "
    "one, and its files stay in Mattermost."
)


def recent_tickets(services: Services, login: str) -> tuple[Choice, ...]:
    """Open tickets assigned to the person or created by them, most recently updated first."""
    issues = {i.id: i for i in services.tracker.authored_issues(login, RECENT).issues}
    issues.update({i.id: i for i in services.tracker.assigned_issues(login, RECENT).issues})
    newest = sorted(issues.values(), key=lambda i: (i.updated_on or NEVER, i.id), reverse=True)[:RECENT]
    return tuple(Choice(str(i.id), f"#{i.id} {i.subject}"[:60]) for i in newest)


def submit_attach(services: Services, context: CommandContext) -> Reply:
    values = context.values
    chosen = (values.get("number") or "").strip() or (values.get("ticket") or "").strip()
    if not chosen:
        message = _("Choose a ticket, or give its number.")
        raise InputError(message, {"ticket": message})
    issue_id = ticket_number(chosen)
    whole = str(values.get("thread") or "").lower() == "true"
    return run_once(
        services.store, context, lambda: add_to_ticket(services, context, context.argument, issue_id, whole)
    )


def add_to_ticket(services: Services, context: CommandContext, reference: str, issue_id: int, whole: bool) -> Reply:
    login = services.login_for(context.user)
    material = gather(services, context, reference, whole)
    # One read as the person: a ticket they cannot see is not there, and its notes show whether this post is
    # in it already (`attach` typed twice, or a retry after a lost answer, adds it once).
    try:
        view = services.desk.ticket(login, issue_id)
    except (NotFound, PermissionDenied):
        raise NotFound(_(NOT_VISIBLE, id=issue_id)) from None
    already = next((note for note in view.notes if _holds(services, note.text, material)), None)
    if already is not None:
        where = f"{issue_url(services.tracker.base_url, issue_id)}#change-{already.id}"
        return Reply(
            text=_("That is in {ticket} already: [see the note]({where}).", ticket=f"#{issue_id}", where=where)
        )
    project = view.issue.project
    private = private_or_refuse(services, login, project.id, project.name, material)
    carried = carry_files(services, login, material, private)
    change = TicketChange(notes=note_text(services, material), private_notes=private, uploads=carried.uploads)
    services.desk.change_ticket(login, issue_id, change)
    _announce(services, context, material, issue_id)
    return Reply(
        text="\n".join(filter(None, [_said(services, material, issue_id, private, carried), carried.report()]))
    )


def _holds(services: Services, note: str, material: Material) -> bool:
    """Whether a note is this post's, or this thread's, as `note_text` writes them: a post's note ends with its
    permalink; a thread's first line ends with its root's."""
    if len(material.posts) == 1:
        return note.rstrip().endswith(material.link)
    return note.split("\n", 1)[0].rstrip().endswith(services.chat.permalink(material.posts[0].id))


def _said(services: Services, material: Material, issue_id: int, private: bool, carried: Carried) -> str:
    target = issue_link(services.tracker.base_url, issue_id)
    files = len(carried.uploads)
    if len(material.posts) > 1:
        if private:
            return _("Added the thread to {ticket} as a private note.", ticket=target)
        return (
            ngettext(
                "Added the thread to {ticket} with {count} file.",
                "Added the thread to {ticket} with {count} files.",
                files,
                ticket=target,
            )
            if files
            else _("Added the thread to {ticket}.", ticket=target)
        )
    if private:
        return _("Added the post to {ticket} as a private note.", ticket=target)
    return (
        ngettext(
            "Added the post to {ticket} with {count} file.",
            "Added the post to {ticket} with {count} files.",
            files,
            ticket=target,
        )
        if files
        else _("Added the post to {ticket}.", ticket=target)
    )


def _announce(services: Services, context: CommandContext, material: Material, issue_id: int) -> None:
    """In the post's thread, the ticket's link only: its subject may be more than the channel may see."""
    post = material.post
    link = issue_link(services.tracker.base_url, issue_id)
    text = _("@{user} added this to {link}", user=context.user.username, link=link)
    with contextlib.suppress(BridgeError):  # the bot may not post there; the person has the reply
        services.chat.post(post.channel_id, ChatMessage(text=text), root_id=post.root_id or post.id)
