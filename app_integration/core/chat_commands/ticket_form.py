"""`create_ticket_by_form`: one ticket through a form, validated field by field."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Mapping

from app_integration.core.chat_commands.post_material import (
    Carried,
    Material,
    carry_files,
    gather,
    note_text,
    source_post,
)
from app_integration.core.chat_commands.project_access import assignee_problem, project_choices, project_members
from app_integration.core.chat_ids import is_chat_id
from app_integration.core.errors import BridgeError, InputError
from app_integration.core.formatting import issue_link, issue_table, plain, source_footer
from app_integration.core.i18n import _
from app_integration.core.idempotency import run_once
from app_integration.core.input_parsing import parse_date, parse_hours
from app_integration.core.models import (
    ChatMessage,
    ChatPost,
    Choice,
    CommandContext,
    Form,
    FormField,
    Issue,
    IssueDraft,
    Reply,
)
from app_integration.core.services import Services
from app_integration.core.tickets import TicketChange

log = logging.getLogger(__name__)
DONE_CHOICES = tuple(Choice(str(n), f"{n} %") for n in range(0, 101, 10))


def open_form(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    post = source_post(services, context, context.argument) if context.argument.strip() else None
    projects = tuple(project_choices(services, login))
    trackers = tuple(services.tracker.trackers())
    statuses = tuple(services.tracker.open_statuses())
    priorities = tuple(services.tracker.priorities())
    default_priority = next((p.value for p in priorities if p.is_default), None)
    form = Form(
        command="create_ticket_by_form",
        title=_("Create a ticket"),
        idempotency_key=uuid.uuid4().hex,
        submit_label=_("Create"),
        fields=(
            FormField(
                "projects", _("Project"), "select", required=True, options=projects, help=_("Projects you can see")
            ),
            FormField(
                "trackers",
                _("Tracker"),
                "select",
                required=True,
                options=trackers,
                default=_first(trackers),
                help=_("Bug, feature or support"),
            ),
            FormField(
                "subject",
                _("Subject"),
                "textarea",
                required=True,
                max_length=255,
                help=_("What is to be done"),
                default=_subject_of(post) if post else None,
            ),
            FormField(
                "description",
                _("Description"),
                "textarea",
                max_length=3000,
                help=_("Details, in Markdown"),
                default=_description_of(services, post) if post else None,
            ),
            FormField(
                "status",
                _("Status"),
                "select",
                required=True,
                options=statuses,
                default=_first(statuses),
                help=_("Redmine's workflow may start it elsewhere"),
            ),
            FormField(
                "priority",
                _("Priority"),
                "select",
                required=True,
                options=priorities,
                default=default_priority,
                help=_("How urgent it is"),
            ),
            FormField("mattermost_user", _("Assignee"), "user", help=_("Who does it; they must be a project member")),
            FormField(
                "start_date",
                _("Start date"),
                "text",
                default=f"{services.today_for(context.user):%d.%m.%y}",
                hint=_("dd.mm.yy"),
                help=_("dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd"),
            ),
            FormField(
                "end_date", _("Due date"), "text", hint=_("dd.mm.yy"), help=_("dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd")
            ),
            FormField(
                "estimated_time", _("Estimated hours"), "text", hint=_("e.g. 1.5"), help=_("Hours, e.g. 1.5 or 1,5")
            ),
            FormField(
                "done", _("Done"), "select", options=DONE_CHOICES, default="0", help=_("How much is done already")
            ),
        ),
    )
    if post is not None:
        form = dataclasses.replace(
            form, argument=post.id, title=_("Ticket from a post"), fields=form.fields + _post_fields(services, post)
        )
    return Reply(form=form)


def _post_fields(services: Services, post: ChatPost) -> tuple[FormField, ...]:
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


def _subject_of(post: ChatPost) -> str:
    first = next((line.strip() for line in post.message.splitlines() if line.strip()), "")
    return first if len(first) <= 255 else first[:254] + "…"


def _description_of(services: Services, post: ChatPost) -> str:
    footer = source_footer(post.user.username, services.chat.permalink(post.id))
    return post.message[: 3000 - len(footer)] + footer


def _first(choices: tuple[Choice, ...]) -> str | None:
    return choices[0].value if choices else None


def submit_form(services: Services, context: CommandContext) -> Reply:
    return run_once(services.store, context, lambda: _create(services, context))


def _create(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    draft = _draft_from(context.values, services.today_for(context.user))
    members = project_members(services, login, draft.project, "projects")
    assignee_id = context.values.get("mattermost_user")
    if assignee_id:
        if not is_chat_id(assignee_id):
            raise InputError(
                _("Choose the assignee from the list."), {"mattermost_user": _("Choose a person from the list")}
            )
        user = services.chat.user(assignee_id)
        found = assignee_problem(services, user, members) if user else _("That Mattermost user does not exist")
        if isinstance(found, str):
            raise InputError(found, {"mattermost_user": found})
        draft = dataclasses.replace(draft, assigned_to_id=found.id)
    carried, post = Carried(), None
    if context.argument:
        issue, carried, post = _from_post(services, context, login, draft)
    else:
        issue = services.tracker.create_issue(login, draft)
    base_url = services.tracker.base_url
    pretext = _("@{user} created a ticket by form", user=context.user.username)
    table, _shown = issue_table(base_url, [issue], "assignee")
    body = "\n\n".join(filter(None, [table, carried.report()]))  # the DM keeps what did not come along
    try:
        services.chat.send_direct(context.user.id, ChatMessage(text=pretext, pretext=pretext, body=body))
    except BridgeError:
        log.info("could not DM %s the new ticket #%d; the reply says it", context.user.username, issue.id)
    text = _("Created {link} {subject}.", link=issue_link(base_url, issue.id), subject=plain(issue.subject))
    if post is not None:
        _announce(services, context, post, issue)
    if draft.status_id is not None and issue.status.id != draft.status_id:
        text += " " + _(
            "Redmine's workflow started it as **{status}**, not the status you chose.", status=plain(issue.status.name)
        )
    return Reply(text="\n".join(filter(None, [text, carried.report()])), sent_as_dm=True)


def _from_post(
    services: Services, context: CommandContext, login: str, draft: IssueDraft
) -> tuple[Issue, Carried, ChatPost]:
    """The ticket from a post, with its files (and its thread's). From a channel that is not public, nothing of
    the post reaches Redmine until Redmine's answer shows the ticket private, unless the person agreed that the
    whole project may see it (core/privacy.py, rule 3)."""
    whole = str(context.values.get("whole_thread") or "").lower() == "true"
    material = gather(services, context, context.argument, whole)
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


def _announce(services: Services, context: CommandContext, post: ChatPost, issue: Issue) -> None:
    """A ticket made from a post is announced in that post's thread (read, and checked readable for the
    caller, just before the create)."""
    link = issue_link(services.tracker.base_url, issue.id)
    message = ChatMessage(text=_("@{user} made a ticket from this post: {link}", user=context.user.username, link=link))
    try:
        services.chat.post(post.channel_id, message, root_id=post.root_id or post.id)
    except BridgeError:
        log.info("could not announce #%d in the post's thread (the bot may not post there)", issue.id)


def _draft_from(values: Mapping[str, str | None], today: dt.date) -> IssueDraft:
    """The draft, or InputError with a message against every bad field."""
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return (values.get(name) or "").strip()

    def number(name: str, label: str) -> int | None:
        raw = text(name)
        if not raw:
            return None
        if not raw.isdigit():
            errors[name] = _("{label} must be chosen from the list", label=label)
            return None
        return int(raw)

    def date(name: str) -> dt.date | None:
        raw = text(name)
        if not raw:
            return None
        try:
            return parse_date(raw)
        except ValueError as error:
            errors[name] = str(error)
            return None

    project, subject = text("projects"), text("subject")
    if not project:
        errors["projects"] = _("Choose a project")
    if not subject:
        errors["subject"] = _("A subject is required")
    elif len(subject) > 255:
        errors["subject"] = _("At most 255 characters")
    start, due = date("start_date"), date("end_date")
    if start and due and start > due:
        errors["end_date"] = _("The due date must not be before the start date")
    hours = parse_hours(text("estimated_time"), errors)
    done = number("done", _("Done"))
    if done is not None and not 0 <= done <= 100:
        errors["done"] = _("Done must be between 0 and 100")
    draft = IssueDraft(
        project=project,
        subject=subject,
        description=text("description"),
        tracker_id=number("trackers", _("Tracker")),
        status_id=number("status", _("Status")),
        priority_id=number("priority", _("Priority")),
        start_date=start,
        due_date=due,
        estimated_hours=hours,
        done_ratio=done,
    )
    if errors:
        raise InputError(_("Please fix the marked fields:") + " " + "; ".join(errors.values()), errors)
    return draft
