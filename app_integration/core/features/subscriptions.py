"""`subscribe`, `subscriptions`, `unsubscribe`: which Redmine events a channel hears of.

Only a member of the channel who is its admin, a team admin or a system admin may change them, and
only for a project they can see in Redmine. The subscription remembers them as its owner: events are
rendered as the owner sees the issue. A project that is not public is never posted to a public channel.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping

from ..chat_ids import is_chat_id
from ..errors import InputError, NotFound, PermissionDenied
from ..events import EVENT_KINDS, EventKind, Subscription
from ..formatting import plain
from ..i18n import _
from ..idempotency import run_once
from ..models import Action, Choice, CommandContext, Form, FormField, Reply
from ..services import Services
from .project_access import project_choices

EVENT_LABELS: dict[EventKind, str] = {
    "created": "New tickets",
    "status": "Status changes",
    "assignee": "Assignee changes",
    "priority": "Priority changes",
    "due_date": "Due date changes",
    "note": "Comments",
}
NOT_A_MANAGER = (
    "Only a member of this channel who is a channel admin, a team admin or a system admin may change its subscriptions."
)
STATUS_CHOICES = (Choice("any", "Any status"), Choice("open", "Open tickets only"))


def subscribe(services: Services, context: CommandContext) -> Reply:
    _require_manager(services, context)
    existing = _editable(services, context, context.argument) if context.argument else None
    login = services.login_for(context.user)
    current = existing or Subscription(context.channel_id, context.user.id, 0, "")
    flag = {True: "true", False: "false"}
    any_choice = (Choice("", "Any"),)
    fields = [
        FormField(
            "projects",
            _("Project"),
            "select",
            True,
            tuple(project_choices(services, login)),
            _project_default(services, login, current),
        ),
        FormField("subprojects", _("With subprojects"), "bool", default=flag[current.with_subprojects]),
        *(
            FormField(f"event_{kind}", label, "bool", default=flag[kind in current.events])
            for kind, label in EVENT_LABELS.items()
        ),
        FormField(
            "tracker",
            _("Tracker"),
            "select",
            options=any_choice + tuple(services.tracker.trackers()),
            default=str(current.tracker_id or ""),
        ),
        FormField(
            "priority",
            _("Priority"),
            "select",
            options=any_choice + tuple(services.tracker.priorities()),
            default=str(current.priority_id or ""),
        ),
        FormField("mine", _("Only assigned to me"), "bool", default="false", help=_("Or choose a person below")),
        FormField("assignee", _("Assigned to"), "user", help=_("Only tickets assigned to this person")),
        FormField("status", _("Status"), "select", True, STATUS_CHOICES, "open" if current.open_only else "any"),
        FormField(
            "sync_replies",
            _("Replies become notes"),
            "bool",
            default=flag[current.sync_replies],
            help=_("A reply in a ticket's thread is added to it in Redmine, as its writer"),
        ),
    ]
    form = Form(
        command="subscribe",
        title=_("Edit subscription") if existing else "Subscribe this channel",
        fields=tuple(fields),
        idempotency_key=uuid.uuid4().hex,
        submit_label=_("Save"),
        argument=str(existing.id) if existing else "",
        introduction=_("Events are posted as one thread per ticket, as you see the tickets in Redmine."),
    )
    return Reply(form=form)


def _project_default(services: Services, login: str, current: Subscription) -> str | None:
    if not current.project_id:
        return None
    return next((p.identifier for p in services.tracker.visible_projects(login) if p.id == current.project_id), None)


def submit_subscription(services: Services, context: CommandContext) -> Reply:
    return run_once(services.store, context, lambda: _save(services, context))


def _save(services: Services, context: CommandContext) -> Reply:
    existing = _editable(services, context, context.argument) if context.argument else None
    if existing is None:
        _require_manager(services, context)
    _feed, notes, _people = services.notifying()
    subscription = _from_values(services, context, context.values)
    if existing is not None:
        subscription = dataclasses.replace(subscription, id=existing.id, owner_id=existing.owner_id)
        notes.replace_subscription(subscription)
        return Reply(text=f"Updated: {describe(subscription)}")
    saved = notes.add_subscription(subscription)
    return Reply(text=f"This channel is subscribed: {describe(saved)}")


def _from_values(services: Services, context: CommandContext, values: Mapping[str, str | None]) -> Subscription:
    login = services.login_for(context.user)
    identifier = (values.get("projects") or "").strip()
    try:
        project = services.tracker.project(login, identifier)
    except (NotFound, PermissionDenied):
        raise InputError("Choose a project you can see.", {"projects": "Choose a project you can see"}) from None
    if services.chat.channel_kind(context.channel_id) == "O" and not services.tracker.project_is_public(project.id):
        problem = "This project is not public: its tickets go only to a private channel"
        raise InputError(problem + ".", {"projects": problem})
    events = frozenset(k for k in EVENT_KINDS if _on(values.get(f"event_{k}")))
    if not events:
        raise InputError("Choose at least one kind of event.", {"event_created": "Choose at least one kind of event"})
    return Subscription(
        channel_id=context.channel_id,
        owner_id=context.user.id,
        project_id=project.id,
        project_name=project.name,
        events=events,
        with_subprojects=_on(values.get("subprojects")),
        tracker_id=_number(values.get("tracker")),
        priority_id=_number(values.get("priority")),
        assignee_id=_assignee(services, login, values),
        open_only=values.get("status") == "open",
        sync_replies=_on(values.get("sync_replies")),
    )


def _assignee(services: Services, login: str, values: Mapping[str, str | None]) -> int | None:
    if _on(values.get("mine")):
        return services.tracker.current_user(login).id
    chosen = values.get("assignee")
    if not chosen:
        return None
    user = services.chat.user(chosen) if is_chat_id(chosen) else None
    their_login = services.users.redmine_login(user) if user else None
    account = services.tracker.account(their_login) if their_login else None
    if account is None:
        raise InputError("That person has no Redmine account.", {"assignee": "This person has no Redmine account"})
    return account.id


def subscriptions(services: Services, context: CommandContext) -> Reply:
    _feed, notes, _people = services.notifying()
    found = notes.subscriptions(context.channel_id)
    if not found:
        return Reply(text="This channel has no subscriptions. Add one: `/integration_with_redmine subscribe`.")
    lines = [f"- {describe(s)}" for s in found]
    actions = tuple(
        action
        for s in found
        for action in (
            Action(f"Edit #{s.id}", "subscribe", str(s.id)),
            Action(f"Remove #{s.id}", "unsubscribe", str(s.id), "danger"),
        )
    )
    return Reply(text="This channel's subscriptions:\n" + "\n".join(lines), actions=actions)


def unsubscribe(services: Services, context: CommandContext) -> Reply:
    if not context.argument.strip():
        raise InputError("Say which one: `/integration_with_redmine unsubscribe <number>`; `subscriptions` lists them.")
    subscription = _editable(services, context, context.argument)
    _feed, notes, _people = services.notifying()
    notes.remove_subscription(subscription.id, context.channel_id)
    return Reply(text=f"Removed: {describe(subscription)}")


def _editable(services: Services, context: CommandContext, argument: str) -> Subscription:
    """One of this channel's subscriptions, for a caller who may change them."""
    _require_manager(services, context)
    _feed, notes, _people = services.notifying()
    number = argument.strip().lstrip("#")
    found = next((s for s in notes.subscriptions(context.channel_id) if str(s.id) == number), None)
    if found is None:
        raise InputError(f"This channel has no subscription {plain(number)}.")
    return found


def _require_manager(services: Services, context: CommandContext) -> None:
    if services.chat.channel_kind(context.channel_id) not in ("O", "P"):
        raise PermissionDenied(
            "Subscriptions are for channels; in a DM, use `/integration_with_redmine notifications`."
        )
    if not services.chat.may_manage_channel(context.user.id, context.channel_id):
        raise PermissionDenied(NOT_A_MANAGER)


def describe(s: Subscription) -> str:
    events = ", ".join(EVENT_LABELS[k].lower() for k in EVENT_KINDS if k in s.events)
    filters = [f"tracker {s.tracker_id}" if s.tracker_id else "", f"priority {s.priority_id}" if s.priority_id else ""]
    filters += ["assignee set" if s.assignee_id else "", "open only" if s.open_only else ""]
    filters += ["replies become notes" if s.sync_replies else ""]
    scope = " and subprojects" if s.with_subprojects else ""
    extra = "; ".join(f for f in filters if f)
    return f"#{s.id} **{plain(s.project_name)}**{scope}: {events}" + (f" ({extra})" if extra else "")


def _on(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "on", "yes")


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
