"""`create_tickets`: many tickets from lines such as `1. Write report @bob 10.05.27`.

Every line is parsed and every assignee checked before anything is created. If Redmine
fails midway, the reply lists exactly what was and was not created.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextvars import copy_context
from dataclasses import dataclass

from app_integration.core.commands import batch_fields, custom_values
from app_integration.core.commands.channel_settings import channel_project
from app_integration.core.commands.input_parsing import (
    MAX_LINES,
    MAX_SUBJECT,
    LineError,
    TicketLine,
    parse_ticket_lines,
)
from app_integration.core.commands.project_access import assignee_problem, project_choices, project_members
from app_integration.core.dispatch import run_once
from app_integration.core.errors import BridgeError, InputError, OutcomeUnknown
from app_integration.core.formatting import cell, fit, issue_link, issue_table, mentions
from app_integration.core.i18n import N_, _, ngettext
from app_integration.core.models import Account, ChatMessage, CommandContext, Form, FormField, Issue, IssueDraft, Reply
from app_integration.core.services import Services
from app_integration.core.tickets import TicketFields

PROJECT_FIELD = "option"
# Room for every line the parser takes. The server bounds a textarea's default and placeholder (3000 bytes,
# model/integration_action.go), not what is typed into it.
LINES_MAX_LENGTH = MAX_LINES * (MAX_SUBJECT + 45)
LINES_FIELD = "message"
# Shown in the reader's language: a Russian speaker writes Russian subjects.
EXAMPLE = N_("1. Write the report @bob 31.12.27\n2. Book the room @alice 2027-01-15")


def dm_usage() -> str:
    intro = _("Send `create_tickets <project>` and then one ticket per line, for example:")
    return f"{intro}\n```\ncreate_tickets demo\n{_(EXAMPLE)}\n```"


@dataclass(frozen=True)
class _Created:
    line: TicketLine
    issue: Issue


def open_batch(services: Services, context: CommandContext) -> Reply:
    """Creates at once when the command came with lines; otherwise opens the form (its second step again, from
    the classic surface's Continue button, where the argument carries it)."""
    if context.argument.startswith("{"):
        carried = json.loads(context.argument)
        fields = services.fields.fields(str(carried["shown"]))
        values = {PROJECT_FIELD: fields.project_identifier, LINES_FIELD: str(carried.get("lines", ""))}
        stepped = dataclasses.replace(context, values=values)
        return Reply(form=_fields_form(services, fields, fields.default_tracker(), stepped))
    project, _sep, lines = context.argument.partition("\n")
    project = project.strip()
    if lines.strip():
        if not project or " " in project:
            raise InputError(_("Name the project first.") + " " + dm_usage())
        return create_batch(services, context, project, lines)
    if context.surface == "dm":
        return Reply(text=dm_usage())
    login = services.login_for(context.user)
    options = tuple(project_choices(services, login))
    project = project or channel_project(services, context.channel_id) or ""
    preselected = project if any(o.value == project for o in options) else None
    form = Form(
        command="create_tickets",
        title=_("Create tickets"),
        introduction=_("One line per ticket: `1. Subject @user 31.12.27`. The number and the date are optional."),
        idempotency_key=uuid.uuid4().hex,
        submit_label=_("Create"),
        fields=(
            FormField(
                PROJECT_FIELD,
                _("Project"),
                "select",
                required=True,
                options=options,
                default=preselected,
                help=_("Where the tickets go; every assignee must be a member"),
            ),
            FormField(
                LINES_FIELD,
                _("Tickets"),
                "textarea",
                required=True,
                hint=_(EXAMPLE),
                max_length=LINES_MAX_LENGTH,
                help=ngettext(
                    "One per line: subject, @assignee, optional due date. Up to {count} line.",
                    "One per line: subject, @assignee, optional due date. Up to {count} lines.",
                    MAX_LINES,
                ),
            ),
        ),
    )
    return Reply(form=form)


def submit_batch(services: Services, context: CommandContext) -> Reply:
    """The tickets; or, where the project asks fields of every ticket that the form did not ask yet, the form
    again with them (they apply to every line; nothing is claimed or created for it)."""
    project = (context.values.get(PROJECT_FIELD) or "").strip()
    lines = context.values.get(LINES_FIELD) or ""
    if not project:
        raise InputError(_("Choose a project."), {PROJECT_FIELD: _("Choose a project")})
    login = services.login_for(context.user)
    project_members(services, login, project, PROJECT_FIELD)  # as the person: the project is theirs to see
    fields = services.fields.fields(project)
    tracker_id = fields.default_tracker()
    shown = json.loads(context.argument).get("shown") if context.argument.startswith("{") else ""
    if shown != fields.project_identifier and batch_fields.asks_every_line(fields, tracker_id):
        return Reply(form=_fields_form(services, fields, tracker_id, context))
    errors: dict[str, str] = {}
    common = dict(custom_values.values(fields, tracker_id, context.values, errors))
    if errors:
        raise InputError(_("Please fix the marked fields:") + " " + "; ".join(errors.values()), errors)
    return run_once(services.store, context, lambda: create_batch(services, context, project, lines, common))


def _fields_form(services: Services, fields: TicketFields, tracker_id: int | None, context: CommandContext) -> Form:
    """The batch's form once more, with the fields the project asks of every ticket, for all its lines."""
    first = open_batch(services, dataclasses.replace(context, argument=fields.project_identifier)).form
    assert first is not None
    typed = context.values.get(LINES_FIELD) or ""
    lines = dataclasses.replace(first.fields[1], default=typed or None)
    return dataclasses.replace(
        first,
        fields=(first.fields[0], lines, *custom_values.inputs(fields, tracker_id, context.values)),
        argument=json.dumps({"shown": fields.project_identifier, "lines": typed}, ensure_ascii=False),
        introduction=_(
            "This project asks for these fields on every ticket; they apply to every line. A line may set its own "
            "with `Name=value`."
        ),
    )


def create_batch(
    services: Services,
    context: CommandContext,
    project: str,
    text: str,
    common: dict[int, str | tuple[str, ...]] | None = None,
) -> Reply:
    """`common`: the custom fields the form gave every line; a line's own `Name=value` wins."""
    login = services.login_for(context.user)
    today = services.today_for(context.user)
    tickets, errors = parse_ticket_lines(text, today)
    if errors:
        raise _line_errors(errors)
    members = project_members(services, login, project, PROJECT_FIELD)
    fields = services.fields.fields(project)
    tickets, extras = batch_fields.split_lines(fields, tickets, common or {})
    assignees = _resolve_assignees(services, tickets, members, fields)
    created, failed = _create_all(services, login, project, tickets, assignees, today, extras)
    _announce(services, context, created)
    return _report(services.tracker.base_url, project, tickets, created, failed)


def _line_errors(errors: list[LineError]) -> InputError:
    listing = "\n".join(f"- {error}" for error in errors)
    return InputError(
        _("Nothing was created. Fix these lines and send again:") + f"\n{listing}",
        {LINES_FIELD: "; ".join(str(error) for error in errors)},
    )


def _resolve_assignees(
    services: Services, tickets: list[TicketLine], members: frozenset[int], fields: TicketFields
) -> dict[str, Account]:
    """Each distinct assignee once; every line naming a bad one is reported. `@name` is a Mattermost user, or
    else one of the project's groups where Redmine lets tickets be assigned to groups (`@support-team` or
    `@support_team` for "Support team")."""
    found: dict[str, Account] = {}
    problems: dict[str, str] = {}
    groups = {_group_key(g.label): g for g in fields.assignable_groups}
    for username in dict.fromkeys(t.assignee for t in tickets):
        # @name is only how a line names someone: the link belongs to that person's Mattermost id.
        user = services.chat.user_by_username(username)
        group = groups.get(_group_key(username)) if user is None else None
        if group is not None:
            found[username] = Account(int(group.value), username, group.label, active=True)
            continue
        result = (
            assignee_problem(services, user, members) if user else _("@{user} is not a Mattermost user", user=username)
        )
        if isinstance(result, str):
            problems[username] = result
        else:
            found[username] = result
    if problems:
        raise _line_errors([LineError(t.line, problems[t.assignee]) for t in tickets if t.assignee in problems])
    return found


def _group_key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _create_all(
    services: Services,
    login: str,
    project: str,
    tickets: list[TicketLine],
    assignees: dict[str, Account],
    today: dt.date,
    extras: list[tuple[tuple[int, str | tuple[str, ...]], ...]],
) -> tuple[list[_Created], dict[int, BridgeError]]:
    """Creates in line order with at most `services.concurrency` creates in flight. Once one fails, no further
    line is started; those already in flight finish, and are reported as they ended."""
    drafts = [
        IssueDraft(
            project=project,
            subject=ticket.subject,
            assigned_to_id=assignees[ticket.assignee].id,
            start_date=today,
            due_date=ticket.due_date,
            custom_values=custom,
        )
        for ticket, custom in zip(tickets, extras, strict=True)
    ]
    created: dict[int, Issue] = {}
    failed: dict[int, BridgeError] = {}
    answered_lock = threading.Lock()

    def taken() -> frozenset[int]:
        """The tickets already answered to this batch: a line whose answer was lost is never one of them."""
        with answered_lock:
            return frozenset(issue.id for issue in created.values())

    waiting = iter(range(len(drafts)))
    with ThreadPoolExecutor(max_workers=max(1, min(services.concurrency, len(drafts)))) as pool:
        running: dict[Future[Issue], int] = {}

        def start_next() -> None:
            for index in waiting:
                # Each create runs in a copy of this command's context: its logging and counting go with it.
                work = copy_context().run
                running[pool.submit(work, services.tracker.create_issue, login, drafts[index], taken)] = index
                return

        for _slot in range(max(1, services.concurrency)):
            start_next()
        while running:
            done, _pending = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                try:
                    issue = future.result()
                    with answered_lock:
                        created[index] = issue
                except BridgeError as error:
                    failed[index] = error
                if not failed:
                    start_next()
    return [_Created(tickets[i], created[i]) for i in sorted(created)], failed


def _announce(services: Services, context: CommandContext, created: list[_Created]) -> None:
    if not created:
        return
    base_url = services.tracker.base_url
    who = mentions(item.line.assignee for item in created)
    pretext = ngettext(
        "@{user} created a ticket for {who}",
        "@{user} created {count} tickets for {who}",
        len(created),
        user=context.user.username,
        who=who,
    )
    # The reply lists every created ticket too, so a failed DM loses nothing.
    with contextlib.suppress(BridgeError):
        # The original's nine-column table, with its Redmine links.
        table, _shown = issue_table(base_url, [item.issue for item in created], "assignee")
        services.chat.send_direct(context.user.id, ChatMessage(text=pretext, pretext=pretext, body=table))


def _report(
    base_url: str,
    project: str,
    tickets: list[TicketLine],
    created: list[_Created],
    failed: dict[int, BridgeError],
) -> Reply:
    """Exactly what was and was not created, in the lines' order."""
    done = "\n".join(
        f"- {issue_link(base_url, c.issue.id)} {cell(c.issue.subject)} (@{c.line.assignee})" for c in created
    )
    if not failed:
        # Says how many lines were read, so a paste cut short by a field limit cannot pass unnoticed.
        text = (
            ngettext(
                "Created {count} ticket in `{project}`",
                "Created {count} tickets in `{project}`",
                len(created),
                project=project,
            )
            + " "
            + ngettext("from the {count} line read:", "from the {count} lines read:", len(tickets))
        )
        text += f"\n{done}"
        return Reply(text=fit(text), sent_as_dm=True)
    parts = [
        _("Redmine failed on line {line}: {reason}", line=tickets[i].line, reason=error.user_message)
        for i, error in sorted(failed.items())
    ]
    summary = ngettext(
        "Created {created} of {count} ticket in `{project}`:",
        "Created {created} of {count} tickets in `{project}`:",
        len(tickets),
        created=len(created),
        project=project,
    )
    parts.append(summary + "\n" + (done or "- " + _("none")))
    unknown = {i for i, error in failed.items() if isinstance(error, OutcomeUnknown)}
    for i in sorted(unknown):
        parts.append(
            _(
                "Line {line} ({subject}) may have been created: check before you add it again.",
                line=tickets[i].line,
                subject=cell(tickets[i].subject),
            )
        )
    made = {c.line.line for c in created}
    left = [t for i, t in enumerate(tickets) if t.line not in made and i not in unknown]
    if left:
        not_done = "\n".join(
            "- " + _("line {line}", line=t.line) + f": {cell(t.subject)} (@{t.assignee})" for t in left
        )
        head, tail = _("Not created ({count}):", count=len(left)), _("Send the lines that were not created again.")
        parts.append(f"{head}\n{not_done}\n{tail}")
    return Reply(text=fit("\n".join(parts)))
