"""`create_ticket_by_form`: one ticket through a form, validated field by field.

A form asks what Redmine will ask. Interactive dialogs cannot change while they are open, and what a ticket
asks depends on its project and tracker, so the form comes in up to two steps: the first asks the standard
fields; where the chosen project and tracker ask more (custom fields, a version, a category) or use fewer
(a tracker without a due date), its submit answers with the second, filled with what was typed, in place of
a ticket. The form's signed argument (`Step`) says which project and tracker its fields were made for.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from app_integration.core.commands import custom_values
from app_integration.core.commands.channel_settings import channel_project
from app_integration.core.commands.post_material import Carried, source_post
from app_integration.core.commands.project_access import assignee_problem, project_choices, project_members
from app_integration.core.commands.ticket_drafts import OPTIONAL_INPUTS, draft_from, with_fields
from app_integration.core.commands.ticket_from_post import (
    announce,
    create_from_post,
    description_of,
    post_fields,
    subject_of,
)
from app_integration.core.dispatch import run_once
from app_integration.core.errors import BridgeError, InputError, RedmineRejected
from app_integration.core.formatting import issue_link, issue_table, plain
from app_integration.core.i18n import _
from app_integration.core.models import (
    ChatMessage,
    ChatPost,
    Choice,
    CommandContext,
    Form,
    FormField,
    IssueDraft,
    Reply,
    is_chat_id,
)
from app_integration.core.services import Services
from app_integration.core.tickets import TicketFields

log = logging.getLogger(__name__)
DONE_CHOICES = tuple(Choice(str(n), f"{n} %") for n in range(0, 101, 10))


@dataclass(frozen=True)
class Step:
    """What a form's signed argument carries: the post it is made from, the project and tracker its fields were
    made for (empty in the first step), and what was typed in the step before."""

    post: str = ""
    shown: str = ""  # "<project identifier>:<tracker id>"
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, argument: str) -> Step:
        if not argument.startswith("{"):
            return cls(post=argument.strip())  # a permalink or a post id, typed or from a first step
        data = json.loads(argument)
        return cls(str(data.get("post", "")), str(data.get("shown", "")), dict(data.get("values") or {}))

    def encode(self) -> str:
        if not self.shown and not self.values:
            return self.post
        return json.dumps({"post": self.post, "shown": self.shown, "values": self.values}, ensure_ascii=False)


def open_form(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    step = Step.read(context.argument)
    post = source_post(services, context, step.post) if step.post else None
    if step.shown:  # the second step again (the classic surface's Continue button): as it was
        project, _sep, tracker = step.shown.partition(":")
        fields = services.fields.fields(project)
        return Reply(form=_form(services, context, login, post, step.values, fields, int(tracker)))
    return Reply(form=_form(services, context, login, post, {}, None, None))


def _form(
    services: Services,
    context: CommandContext,
    login: str,
    post: ChatPost | None,
    typed: Mapping[str, str | None],
    fields: TicketFields | None,
    tracker_id: int | None,
) -> Form:
    """The first step (no `fields`), or the second: the standard inputs the tracker uses, filled with what was
    typed, then the project's versions, categories and the tracker's custom fields."""

    def shown(name: str, default: str | None) -> str | None:
        value = typed.get(name)
        return str(value) if value not in (None, "") else default

    statuses = tuple(services.tracker.open_statuses())
    priorities = tuple(services.tracker.priorities())
    trackers = fields.trackers if fields else tuple(services.tracker.trackers())
    dates = _("dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd")
    inputs = [
        FormField(
            "projects",
            _("Project"),
            "select",
            required=True,
            options=tuple(project_choices(services, login)),
            default=shown("projects", channel_project(services, context.channel_id)),
            help=_("Projects you can see"),
        ),
        FormField(
            "trackers",
            _("Tracker"),
            "select",
            required=True,
            options=trackers,
            default=shown("trackers", str(tracker_id) if tracker_id else _first(trackers)),
            help=_("Bug, feature or support"),
        ),
        FormField(
            "subject",
            _("Subject"),
            "textarea",
            required=True,
            max_length=255,
            help=_("What is to be done"),
            default=shown("subject", subject_of(post) if post else None),
        ),
        FormField(
            "description",
            _("Description"),
            "textarea",
            max_length=3000,
            help=_("Details, in Markdown"),
            default=shown("description", description_of(services, post) if post else None),
        ),
        FormField(
            "status",
            _("Status"),
            "select",
            required=True,
            options=statuses,
            default=shown("status", _first(statuses)),
            help=_("Redmine's workflow may start it elsewhere"),
        ),
        FormField(
            "priority",
            _("Priority"),
            "select",
            required=True,
            options=priorities,
            default=shown("priority", next((p.value for p in priorities if p.is_default), None)),
            help=_("How urgent it is"),
        ),
        FormField(
            "mattermost_user",
            _("Assignee"),
            "user",
            default=shown("mattermost_user", None),
            help=_("Who does it; they must be a project member"),
        ),
        FormField(
            "start_date",
            _("Start date"),
            "text",
            default=shown("start_date", f"{services.today_for(context.user):%d.%m.%y}"),
            hint=_("dd.mm.yy"),
            help=dates,
        ),
        FormField("end_date", _("Due date"), "text", default=shown("end_date", None), hint=_("dd.mm.yy"), help=dates),
        FormField(
            "estimated_time",
            _("Estimated hours"),
            "text",
            default=shown("estimated_time", None),
            hint=_("e.g. 1.5"),
            help=_("Hours, e.g. 1.5 or 1,5"),
        ),
        FormField(
            "done",
            _("Done"),
            "select",
            options=DONE_CHOICES,
            default=shown("done", "0"),
            help=_("How much is done already"),
        ),
    ]
    step = Step(post.id if post else "")
    introduction = ""
    if fields is not None:
        unused = {name for standard, name in OPTIONAL_INPUTS.items() if not fields.uses(tracker_id, standard)}
        inputs = [i for i in inputs if i.name not in unused]
        inputs += _version_and_category(fields, tracker_id, typed)
        inputs += custom_values.inputs(fields, tracker_id, typed)
        kept = {k: str(v) for k, v in typed.items() if v not in (None, "") and k in _CARRIED}
        step = Step(step.post, f"{fields.project_identifier}:{tracker_id}", kept)
        tracker = next((t.label for t in fields.trackers if t.value == str(tracker_id)), "")
        introduction = _("A {tracker} in this project asks for these fields too.", tracker=plain(tracker))
    form = Form(
        command="create_ticket_by_form",
        title=_("Ticket from a post") if post else _("Create a ticket"),
        idempotency_key=uuid.uuid4().hex,
        submit_label=_("Create"),
        fields=tuple(inputs) + (post_fields(services, post) if post else ()),
        argument=step.encode(),
        introduction=introduction,
    )
    return form


# What a second step keeps of the first: the standard inputs (the custom ones come with the form itself).
_CARRIED = frozenset(
    {
        "projects",
        "trackers",
        "subject",
        "description",
        "status",
        "priority",
        "mattermost_user",
        "start_date",
        "end_date",
        "estimated_time",
        "done",
        "whole_thread",
        "visible_ok",
    }
)


def _version_and_category(
    fields: TicketFields, tracker_id: int | None, typed: Mapping[str, str | None]
) -> list[FormField]:
    found = []
    if fields.versions and fields.uses(tracker_id, "fixed_version_id"):
        found.append(
            FormField(
                "version", _("Target version"), "select", options=fields.versions, default=typed.get("version") or None
            )
        )
    if fields.categories and fields.uses(tracker_id, "category_id"):
        found.append(
            FormField(
                "category", _("Category"), "select", options=fields.categories, default=typed.get("category") or None
            )
        )
    return found


def _asks_more(fields: TicketFields, tracker_id: int | None) -> bool:
    """Whether a ticket of this tracker asks what the first step did not, or uses less than it asked."""
    if custom_values.asked(fields, tracker_id) or _version_and_category(fields, tracker_id, {}):
        return True
    return not all(fields.uses(tracker_id, standard) for standard in OPTIONAL_INPUTS)


def _first(choices: tuple[Choice, ...]) -> str | None:
    return choices[0].value if choices else None


def submit_form(services: Services, context: CommandContext) -> Reply:
    """The ticket; or, where the chosen project and tracker ask more than this step did, the next step (nothing
    is claimed or created for it)."""
    login = services.login_for(context.user)
    step = Step.read(context.argument)
    draft = draft_from(context.values, services.today_for(context.user))
    members = project_members(services, login, draft.project, "projects")  # as the person: theirs to see
    fields = services.fields.fields(draft.project)
    tracker_id = draft.tracker_id or fields.default_tracker()
    if step.shown != f"{fields.project_identifier}:{tracker_id}" and _asks_more(fields, tracker_id):
        post = source_post(services, context, step.post) if step.post else None
        return Reply(form=_form(services, context, login, post, context.values, fields, tracker_id))
    return run_once(services.store, context, lambda: _create(services, context, login, draft, members, fields))


def _create(
    services: Services,
    context: CommandContext,
    login: str,
    draft: IssueDraft,
    members: frozenset[int],
    fields: TicketFields,
) -> Reply:
    draft = with_fields(draft, fields, context.values)
    assignee_id = context.values.get("mattermost_user")
    if assignee_id and fields.uses(draft.tracker_id, "assigned_to_id"):
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
    step = Step.read(context.argument)
    try:
        if step.post:
            issue, carried, post = create_from_post(services, context, login, draft, step.post)
        else:
            issue = services.tracker.create_issue(login, draft)
    except RedmineRejected as refused:
        raise _named(services, refused, fields) from None
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
        announce(services, context, post, issue)
    if draft.status_id is not None and issue.status.id != draft.status_id:
        text += " " + _(
            "Redmine's workflow started it as **{status}**, not the status you chose.", status=plain(issue.status.name)
        )
    return Reply(text="\n".join(filter(None, [text, carried.report()])), sent_as_dm=True)


def _named(services: Services, refused: RedmineRejected, fields: TicketFields) -> InputError:
    """Redmine's refusal against the inputs it names; one naming no input the bridge knows means the project's
    fields changed since they were read: read them anew next time."""
    errors = custom_values.refusal_errors(refused, fields.custom)
    general = errors.pop("", "")
    if general:
        services.fields.forget(fields.project_identifier)
    message = refused.user_message
    if general and not errors:
        return InputError(message)
    return InputError(message, errors)
