"""`notifications`: a person's own toggles for the DMs the bridge sends them, and their morning digest's time
and days."""

from __future__ import annotations

import dataclasses
import datetime as dt

from app_integration.core.errors import InputError, NotFound
from app_integration.core.events import PERSONAL_KINDS, PersonalKind
from app_integration.core.i18n import N_, _
from app_integration.core.models import Action, CommandContext, Reply
from app_integration.core.services import Services

KIND_LABELS: dict[PersonalKind, str] = {
    "assigned": N_("Assigned to me"),
    "status": N_("Status of my tickets"),
    "notes": N_("Comments on my tickets"),
    "mentions": N_("Mentions"),
    "watching": N_("Tickets I watch"),
    "reminder": N_("Morning digest"),
}


def notifications(services: Services, context: CommandContext) -> Reply:
    """Shows the toggles; `notifications 08:30` sets the reminder's time, in your own time zone."""
    subs = services.subscriptions
    services.login_for(context.user)  # only a linked person gets DMs, so only they have toggles
    prefs = subs.prefs(context.user.id)
    wanted = context.argument.strip()
    if wanted:
        try:
            prefs = dataclasses.replace(prefs, digest_time=dt.time.fromisoformat(wanted.zfill(5)))
        except ValueError:
            raise InputError(_("{wanted} is not a time of day; write it as 08:30.", wanted=wanted)) from None
        subs.save_prefs(context.user.id, prefs)
    return _toggles(services, context)


def toggle_notification(services: Services, context: CommandContext) -> Reply:
    subs = services.subscriptions
    kind = context.argument.strip()
    if kind == "weekends":
        prefs = subs.prefs(context.user.id)
        subs.save_prefs(context.user.id, dataclasses.replace(prefs, weekends=not prefs.weekends))
        return _toggles(services, context)
    if kind not in PERSONAL_KINDS:
        raise InputError(_("That is not a kind of notification."))
    prefs = subs.prefs(context.user.id)
    off = prefs.off ^ {kind}
    subs.save_prefs(context.user.id, dataclasses.replace(prefs, off=frozenset(off)))  # type: ignore[arg-type]
    return _toggles(services, context)


def _state(on: bool) -> str:
    return _("on") if on else _("off")


def _toggles(services: Services, context: CommandContext) -> Reply:
    subs = services.subscriptions
    prefs = subs.prefs(context.user.id)
    lines = [f"- {_(label)}: **{_state(prefs.wants(k))}**" for k, label in KIND_LABELS.items()]
    text = (
        _("Your notifications by DM (never about your own changes). Click one to turn it on or off.")
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + _(
            "The morning digest comes at {time} in your time zone, {days}; change the time with "
            "`/integration_with_redmine notifications 08:30`.",
            time=f"{prefs.digest_time:%H:%M}",
            days=_("every day") if prefs.weekends else _("on working days"),
        )
    )
    muted = sorted(subs.muted_tickets(context.user.id))
    if muted:
        text += "\n" + _("Muted tickets: {tickets} (`unmute <number>`).", tickets=", ".join(f"#{n}" for n in muted))
    kinds = [
        Action(
            f"{_(label)}: {_state(prefs.wants(k))}",
            "notification_toggle",
            k,
            "primary" if prefs.wants(k) else "default",
        )
        for k, label in KIND_LABELS.items()
    ]
    on_weekends = _("Digest on weekends")
    weekends = Action(f"{on_weekends}: {_state(prefs.weekends)}", "notification_toggle", "weekends")
    actions = (*kinds, weekends)
    return Reply(text=text, actions=actions)


def mute(services: Services, context: CommandContext) -> Reply:
    """`mute #10`: no more DMs about that ticket, for the person alone; `unmute #10` brings them back."""
    return _muting(services, context, True)


def unmute(services: Services, context: CommandContext) -> Reply:
    return _muting(services, context, False)


def _muting(services: Services, context: CommandContext, muted: bool) -> Reply:
    login = services.login_for(context.user)
    word = context.argument.strip().lstrip("#").removeprefix("t")
    if not word.isdigit():
        raise InputError(_("Which ticket? For example: `/integration_with_redmine mute 10`."))
    issue_id = int(word)
    if muted and not services.tracker.issues_by_ids(login, [issue_id]):
        raise NotFound(_("Ticket #{id} is not found, or you cannot see it.", id=issue_id))
    services.subscriptions.set_muted(context.user.id, issue_id, muted)
    if muted:
        return Reply(
            text=_(
                "You will get no more DMs about #{id}. `/integration_with_redmine unmute {id}` brings them back.",
                id=issue_id,
            )
        )
    return Reply(text=_("You will get DMs about #{id} again.", id=issue_id))
