"""`subscribe`, `subscriptions`, `unsubscribe`: which Redmine events a channel hears of.

Only a member of the channel who is its admin, a team admin or a system admin may change them, and
only for a project they can see in Redmine. Whoever saves a subscription owns it (core/privacy.py, rule 2):
its checks and deliveries run as them, and when someone edits another's subscription the channel is told
who changed what. A public channel subscribes only to a project whose tickets Redmine shows to everyone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Mapping

from app_integration.core.commands.project_access import project_choices
from app_integration.core.dispatch import run_once
from app_integration.core.errors import BridgeError, InputError, NotFound, PermissionDenied
from app_integration.core.events import SUBSCRIBABLE, EventKind, ProjectKind, Subscription
from app_integration.core.formatting import plain
from app_integration.core.i18n import N_, _, speaking
from app_integration.core.models import Action, ChatMessage, Choice, CommandContext, Form, FormField, Reply, is_chat_id
from app_integration.core.privacy import channel_may_hear_project
from app_integration.core.services import Services

EVENT_LABELS: dict[EventKind, str] = {
    "created": N_("New tickets"),
    "status": N_("Status changes"),
    "assignee": N_("Assignee changes"),
    "priority": N_("Priority changes"),
    "due_date": N_("Due date changes"),
    "note": N_("Comments"),
    "fields": N_("Custom field changes"),
}
PROJECT_LABELS: dict[ProjectKind, str] = {
    "news": N_("The project's news"),
    "wiki": N_("Wiki page changes"),
    "versions": N_("Released versions"),
    "time": N_("Time logged"),
}


def _status_choices() -> tuple[Choice, ...]:
    return (Choice("any", _("Any status")), Choice("open", _("Open tickets only")))


def subscribe(services: Services, context: CommandContext) -> Reply:
    existing = _editable(services, context, context.argument) if context.argument else None
    login = services.login_for(context.user)
    current = existing or Subscription(context.channel_id, context.user.id, 0, "")
    flag = {True: "true", False: "false"}
    any_choice = (Choice("", _("Any")),)
    mine, assignee = _assignee_defaults(services, login, current)
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
            FormField(f"event_{kind}", _(label), "bool", default=flag[kind in current.events])
            for kind, label in (*EVENT_LABELS.items(), *PROJECT_LABELS.items())
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
        FormField(
            "query",
            _("Saved query"),
            "select",
            options=any_choice + tuple(Choice(str(q.id), q.name) for q in services.finder.saved_queries(login)),
            default=str(current.query_id or ""),
            help=_("Only the tickets this query of yours finds in Redmine"),
        ),
        FormField("mine", _("Only assigned to me"), "bool", default=flag[mine], help=_("Or choose a person below")),
        FormField(
            "assignee", _("Assigned to"), "user", default=assignee, help=_("Only tickets assigned to this person")
        ),
        FormField("status", _("Status"), "select", True, _status_choices(), "open" if current.open_only else "any"),
        FormField(
            "locale",
            _("Language of the posts"),
            "select",
            options=(Choice("", _("The bridge's default")), Choice("en", "English"), Choice("ru", "Русский")),
            default=current.locale,
        ),
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
        title=_("Edit subscription") if existing else _("Subscribe this channel"),
        fields=tuple(fields),
        idempotency_key=uuid.uuid4().hex,
        submit_label=_("Save"),
        argument=str(existing.id) if existing else "",
        introduction=_introduction(services, context, existing),
    )
    return Reply(form=form)


def _introduction(services: Services, context: CommandContext, existing: Subscription | None) -> str:
    said = _("Events are posted as one thread per ticket, as you see the tickets in Redmine.")
    if existing is None or existing.owner_id == context.user.id:
        return said
    return (
        said
        + " "
        + _(
            "Saving makes it yours: the channel will hear what you may see, instead of what @{owner} may see.",
            owner=_username(services, existing.owner_id),
        )
    )


def _username(services: Services, chat_user_id: str) -> str:
    try:
        user = services.chat.user(chat_user_id)
    except BridgeError:
        user = None
    return user.username if user is not None else chat_user_id


def _assignee_defaults(services: Services, login: str, current: Subscription) -> tuple[bool, str | None]:
    """The assignee filter as the form shows it: "only mine" when it is the editor, else the person's
    Mattermost account. Saving an unchanged form keeps the filter."""
    if current.assignee_id is None:
        return False, None
    if services.tracker.current_user(login).id == current.assignee_id:
        return True, None
    people = services.store
    return False, people.chat_user_for(current.assignee_id)


def _project_default(services: Services, login: str, current: Subscription) -> str | None:
    if not current.project_id:
        return None
    return next((p.identifier for p in services.tracker.visible_projects(login) if p.id == current.project_id), None)


def submit_subscription(services: Services, context: CommandContext) -> Reply:
    return run_once(services.store, context, lambda: _save(services, context))


def _save(services: Services, context: CommandContext) -> Reply:
    existing = _editable(services, context, context.argument) if context.argument else None
    subs = services.subscriptions
    subscription = _from_values(services, context, context.values)
    if existing is not None:
        # Whoever saves it owns it from now on: every check above ran as them, and so will its deliveries.
        subscription = dataclasses.replace(subscription, id=existing.id)
        if subscription.assignee_id is None and existing.assignee_id and _assignee_unshown(services, existing):
            # The filter names someone the form could not show (no linked Mattermost account): keep it.
            subscription = dataclasses.replace(subscription, assignee_id=existing.assignee_id)
        subs.replace_subscription(subscription)
        _tell_channel(services, context, subscription, changed=True)
        return Reply(text=_("Updated: {subscription}", subscription=describe(subscription)))
    saved = subs.add_subscription(subscription)
    return Reply(text=_("This channel is subscribed: {saved}", saved=describe(saved)))


def _assignee_unshown(services: Services, existing: Subscription) -> bool:
    people = services.store
    return existing.assignee_id is not None and people.chat_user_for(existing.assignee_id) is None


def _from_values(services: Services, context: CommandContext, values: Mapping[str, str | None]) -> Subscription:
    login = services.login_for(context.user)
    identifier = (values.get("projects") or "").strip()
    try:
        project = services.tracker.project(login, identifier)
    except (NotFound, PermissionDenied):
        raise InputError(_("Choose a project you can see."), {"projects": _("Choose a project you can see")}) from None
    kind = services.chat.channel_kind(context.channel_id)
    if kind == "O" and not channel_may_hear_project(services, project.id, kind):
        problem = _("Redmine does not let everyone see this project's tickets: they go only to a private channel")
        raise InputError(problem + ".", {"projects": problem})
    events = frozenset(k for k in SUBSCRIBABLE if _on(values.get(f"event_{k}")))
    if not events:
        raise InputError(
            _("Choose at least one kind of event."), {"event_created": _("Choose at least one kind of event")}
        )
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
        locale=(values.get("locale") or "") if (values.get("locale") or "") in ("en", "ru") else "",
        query_id=_query(services, login, values.get("query")),
    )


def _query(services: Services, login: str, chosen: str | None) -> int | None:
    """A saved query the person may use, by its number; none chosen is none."""
    if not chosen:
        return None
    if not any(str(q.id) == chosen for q in services.finder.saved_queries(login)):
        raise InputError(_("Choose one of your saved queries."), {"query": _("Choose one of your saved queries")})
    return int(chosen)


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
        raise InputError(
            _("That person has no Redmine account."), {"assignee": _("This person has no Redmine account")}
        )
    return account.id


def subscriptions(services: Services, context: CommandContext) -> Reply:
    subs = services.subscriptions
    found = subs.list_subscriptions(context.channel_id)
    if not found:
        return Reply(text=_("This channel has no subscriptions. Add one: `/integration_with_redmine subscribe`."))
    skipped = subs.skipped_accounts()
    lines = [f"- {describe(s)} — {_owned(services, s)}{_paused(services, s, skipped)}" for s in found]
    actions = tuple(
        action
        for s in found
        for action in (
            Action(_("Edit #{number}", number=s.id), "subscribe", str(s.id)),
            Action(_("Remove #{number}", number=s.id), "unsubscribe", str(s.id), "danger"),
        )
    )
    return Reply(text=_("This channel's subscriptions:") + "\n" + "\n".join(lines), actions=actions)


def _owned(services: Services, subscription: Subscription) -> str:
    return _("as @{owner} sees it", owner=_username(services, subscription.owner_id))


def _paused(services: Services, subscription: Subscription, skipped: dict[str, str]) -> str:
    """Why nothing reaches the channel, when Redmine will not act as the subscription's owner."""
    if not skipped:
        return ""
    owner = services.chat.user(subscription.owner_id)
    login = services.users.redmine_login(owner) if owner else None
    if login is None or login not in skipped:
        return ""
    return " — " + _("paused: {reason}", reason=skipped[login])


def unsubscribe(services: Services, context: CommandContext) -> Reply:
    if not context.argument.strip():
        raise InputError(
            _("Say which one: `/integration_with_redmine unsubscribe <number>`; `subscriptions` lists them.")
        )
    subscription = _editable(services, context, context.argument)
    subs = services.subscriptions
    subs.remove_subscription(subscription.id, context.channel_id)
    _tell_channel(services, context, subscription, changed=False)
    return Reply(text=_("Removed: {subscription}", subscription=describe(subscription)))


def _tell_channel(services: Services, context: CommandContext, subscription: Subscription, changed: bool) -> None:
    """The channel hears who changed or removed one of its subscriptions, in the subscription's language."""
    with speaking(subscription.locale or services.default_locale):
        if changed:
            text = _(
                "@{user} changed this channel's subscription {summary}; it now follows what @{user} may see in "
                "Redmine.",
                user=context.user.username,
                summary=describe(subscription),
            )
        else:
            text = _(
                "@{user} removed this channel's subscription {summary}.",
                user=context.user.username,
                summary=describe(subscription),
            )
    with contextlib.suppress(BridgeError):  # the bot may not post here; whoever changed it has the reply
        services.chat.post(context.channel_id, ChatMessage(text=text))


def _editable(services: Services, context: CommandContext, argument: str) -> Subscription:
    """One of this channel's subscriptions (the dispatch let only its managers through)."""
    subs = services.subscriptions
    number = argument.strip().lstrip("#")
    found = next((s for s in subs.list_subscriptions(context.channel_id) if str(s.id) == number), None)
    if found is None:
        raise InputError(_("This channel has no subscription {number}.", number=plain(number)))
    return found


def describe(s: Subscription) -> str:
    labels = dict((*EVENT_LABELS.items(), *PROJECT_LABELS.items()))
    events = ", ".join(_(labels[k]).lower() for k in SUBSCRIBABLE if k in s.events)
    filters = [
        _("tracker {id}", id=s.tracker_id) if s.tracker_id else "",
        _("priority {id}", id=s.priority_id) if s.priority_id else "",
        _("saved query {id}", id=s.query_id) if s.query_id else "",
    ]
    filters += [_("assignee set") if s.assignee_id else "", _("open only") if s.open_only else ""]
    filters += [_("replies become notes") if s.sync_replies else ""]
    scope = _(" and subprojects") if s.with_subprojects else ""
    extra = "; ".join(f for f in filters if f)
    return f"#{s.id} **{plain(s.project_name)}**{scope}: {events}" + (f" ({extra})" if extra else "")


def _on(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "on", "yes")


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None
