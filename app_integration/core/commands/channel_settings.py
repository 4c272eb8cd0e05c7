"""`channel_settings`: a channel's admins choose its default project (the forms and batches typed there start
with it) and how its `#t` references are linked (link, card or off; LINK_MODE for channels that chose none).

The dispatch lets only the channel's managers through (policy "manager"); the project offered is one the
person who saves may see, and the channel is told who changed what."""

from __future__ import annotations

import uuid

from app_integration.core.commands.project_access import project_choices
from app_integration.core.errors import InputError
from app_integration.core.events import ChannelDefaults
from app_integration.core.formatting import plain
from app_integration.core.i18n import _
from app_integration.core.models import ChatMessage, Choice, CommandContext, Form, FormField, Reply
from app_integration.core.services import Services

NONE = "-"  # the option that clears a choice
LINK_MODES = ("link", "card", "off")


def _mode_choices() -> tuple[Choice, ...]:
    return (
        Choice(NONE, _("As the bridge is set up (LINK_MODE)")),
        Choice("link", _("Links")),
        Choice("card", _("Cards for what everyone here may see")),
        Choice("off", _("Off: no links")),
    )


def channel_settings(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    current = services.subscriptions.channel_defaults(context.channel_id)
    projects = (Choice(NONE, _("None")), *project_choices(services, login))
    fields = (
        FormField(
            "project",
            _("Default project"),
            "select",
            options=projects,
            default=current.project if any(p.value == current.project for p in projects) else NONE,
            help=_("The forms and batches typed in this channel start with it"),
        ),
        FormField(
            "link_mode",
            _("#t references"),
            "select",
            options=_mode_choices(),
            default=current.link_mode or NONE,
            help=_("How the bridge answers `#t10` in this channel"),
        ),
    )
    form = Form("channel_settings", _("This channel's settings"), fields, uuid.uuid4().hex, submit_label=_("Save"))
    return Reply(form=form)


def submit_channel_settings(services: Services, context: CommandContext) -> Reply:
    login = services.login_for(context.user)
    project = (context.values.get("project") or NONE).strip()
    mode = (context.values.get("link_mode") or NONE).strip()
    if project != NONE and not any(p.value == project for p in project_choices(services, login)):
        raise InputError(
            _("You cannot see that project in Redmine."), {"project": _("Not found or not visible to you")}
        )
    if mode != NONE and mode not in LINK_MODES:
        raise InputError(_("Choose one of the offered ways."), {"link_mode": _("Choose one of the offered ways.")})
    chosen = ChannelDefaults(None if project == NONE else project, None if mode == NONE else mode)
    services.subscriptions.save_channel_defaults(context.channel_id, chosen, context.user.id)
    said = describe(chosen)
    services.chat.post(
        context.channel_id,
        ChatMessage(text=_("@{user} changed this channel's settings: {said}", user=context.user.username, said=said)),
    )
    return Reply(text=_("Saved: {said}", said=said))


def describe(defaults: ChannelDefaults) -> str:
    project = f"`{plain(defaults.project)}`" if defaults.project else _("none")
    mode = dict((c.value, c.label) for c in _mode_choices()).get(defaults.link_mode or NONE, NONE)
    return _("default project {project}; #t references: {mode}.", project=project, mode=mode)


def channel_project(services: Services, channel_id: str) -> str | None:
    """The project a form or batch typed in this channel starts with, if its admins chose one."""
    return services.subscriptions.channel_defaults(channel_id).project if channel_id else None
