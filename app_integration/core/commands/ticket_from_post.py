"""`create_ticket_by_form <permalink>`: a ticket from a post (or its thread), with its files, announced in the
post's thread. From a channel that is not public, nothing of the post reaches Redmine until Redmine's answer
shows the ticket private, unless the person agreed that the whole project may see it (core/privacy.py, rule 3).
"""

from __future__ import annotations

import dataclasses
import logging

from app_integration.core.commands.post_material import Carried, Material, carry_files, gather, note_text
from app_integration.core.dispatch import nothing_written
from app_integration.core.errors import BridgeError, InputError
from app_integration.core.formatting import issue_link, plain, source_footer
from app_integration.core.i18n import _
from app_integration.core.models import ChatMessage, ChatPost, CommandContext, FormField, Issue, IssueDraft
from app_integration.core.services import Services
from app_integration.core.tickets import TicketChange

log = logging.getLogger(__name__)


def post_fields(services: Services, post: ChatPost) -> tuple[FormField, ...]:
    """The whole thread, on request; and from a channel that is not public, the person's word that the text
    may be seen in the project, for projects where Redmine would not keep the ticket private."""
    fields = (
        FormField("whole_thread", _("The whole thread"), "bool", help=_("Every post of the thread, with its files")),
    )
    if services.chat.channel_kind(post.channel_id) == "O":
        return fields
    confirm = FormField(
        "visible_ok",
        _("Visible in the project"),
        "bool",
        help=_(
            "The post is from a channel that is not public. The ticket is made private where Redmine lets you; "
            "elsewhere, tick this to agree that its text and files will be visible to the whole project."
        ),
    )
    return (*fields, confirm)


def subject_of(post: ChatPost) -> str:
    first = next((line.strip() for line in post.message.splitlines() if line.strip()), "")
    return first if len(first) <= 255 else first[:254] + "…"


def description_of(services: Services, post: ChatPost) -> str:
    footer = source_footer(post.user.username, services.chat.permalink(post.id))
    return post.message[: 3000 - len(footer)] + footer


def create_from_post(
    services: Services, context: CommandContext, login: str, draft: IssueDraft, reference: str
) -> tuple[Issue, Carried, ChatPost]:
    """The ticket from the post, with its files (and its thread's)."""
    whole = str(context.values.get("whole_thread") or "").lower() == "true"
    material = gather(services, context, reference, whole)
    if whole and len(material.posts) > 1:
        thread = Material(material.post, material.posts[1:], material.public, material.link)
        draft = dataclasses.replace(draft, description=f"{draft.description}\n\n{note_text(services, thread)}")
    agreed = str(context.values.get("visible_ok") or "").lower() == "true"
    if material.public or agreed:
        if not material.public:  # private where Redmine keeps it so; visible to the project, as agreed, if not
            project = services.tracker.project(login, draft.project)
            draft = dataclasses.replace(draft, is_private=services.desk.may_make_private(login, project.id))
        carried = carry_files(services, login, material, private=False)
        issue = services.tracker.create_issue(login, dataclasses.replace(draft, uploads=carried.uploads))
        return issue, carried, material.post
    project = services.tracker.project(login, draft.project)
    if not services.desk.may_make_private(login, project.id):
        message = _(
            "Redmine does not let you make tickets private in {project}: tick “Visible in the project” to make "
            "it anyway, visible to everyone there.",
            project=plain(project.name),
        )
        raise InputError(message, {"visible_ok": message})
    return _private_first(services, login, draft, material, project.name)


def _private_first(
    services: Services, login: str, draft: IssueDraft, material: Material, project_name: str
) -> tuple[Issue, Carried, ChatPost]:
    """Made private with a neutral subject and nothing else first; the post's text and files are added only
    once Redmine's answer shows it private. Redmine drops `is_private` without a word where the workflow makes
    Private read-only for the person's role (in that tracker and status): that ticket is withdrawn."""
    neutral = dataclasses.replace(draft, subject=_("A ticket from Mattermost"), description="", is_private=True)
    issue = services.tracker.create_issue(login, neutral)
    if not issue.is_private:
        left = ""
        try:
            services.desk.withdraw_ticket(login, issue.id)
            nothing_written()  # nothing of it is left in Redmine: the form may be sent again, ticked
        except BridgeError:
            log.warning("could not withdraw #%d, made public by Redmine with a neutral subject", issue.id)
            left = " " + _(
                "A ticket {link} with a neutral subject and nothing of the post was left behind.",
                link=issue_link(services.tracker.base_url, issue.id),
            )
        message = _(
            "Redmine did not keep the ticket private in {project} (its workflow does not let you set Private "
            "there), so nothing of the post was sent. Tick “Visible in the project” to make it visible to everyone "
            "there.",
            project=plain(project_name),
        )
        raise InputError(message + left, {"visible_ok": message})
    carried = carry_files(services, login, material, private=False)
    change = TicketChange(subject=draft.subject, description=draft.description, uploads=carried.uploads)
    services.desk.change_ticket(login, issue.id, change)
    return dataclasses.replace(issue, subject=draft.subject), carried, material.post


def announce(services: Services, context: CommandContext, post: ChatPost, issue: Issue) -> None:
    """A ticket made from a post is announced in that post's thread (read, and checked readable for the
    caller, just before the create)."""
    link = issue_link(services.tracker.base_url, issue.id)
    message = ChatMessage(text=_("@{user} made a ticket from this post: {link}", user=context.user.username, link=link))
    try:
        services.chat.post(post.channel_id, message, root_id=post.root_id or post.id)
    except BridgeError:
        log.info("could not announce #%d in the post's thread (the bot may not post there)", issue.id)
