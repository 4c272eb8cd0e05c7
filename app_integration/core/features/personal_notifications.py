"""`notifications`: a person's own toggles for the DMs the bridge sends them, and their reminder time."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..errors import InputError
from ..events import PERSONAL_KINDS, PersonalKind
from ..models import Action, CommandContext, Reply
from ..services import Services

KIND_LABELS: dict[PersonalKind, str] = {
    "assigned": "Assigned to me",
    "status": "Status of my tickets",
    "notes": "Comments on my tickets",
    "mentions": "Mentions",
    "reminder": "Daily due reminder",
}


def notifications(services: Services, context: CommandContext) -> Reply:
    """Shows the toggles; `notifications 08:30` sets the reminder's time, in your own time zone."""
    _feed, notes, _people = services.notifying()
    services.login_for(context.user)  # only a linked person gets DMs, so only they have toggles
    prefs = notes.prefs(context.user.id)
    wanted = context.argument.strip()
    if wanted:
        try:
            prefs = dataclasses.replace(prefs, reminder_time=dt.time.fromisoformat(wanted.zfill(5)))
        except ValueError:
            raise InputError(f"{wanted} is not a time of day; write it as 08:30.") from None
        notes.save_prefs(context.user.id, prefs)
    return _toggles(services, context)


def toggle_notification(services: Services, context: CommandContext) -> Reply:
    _feed, notes, _people = services.notifying()
    kind = context.argument.strip()
    if kind not in PERSONAL_KINDS:
        raise InputError("That is not a kind of notification.")
    prefs = notes.prefs(context.user.id)
    off = prefs.off ^ {kind}
    notes.save_prefs(context.user.id, dataclasses.replace(prefs, off=frozenset(off)))  # type: ignore[arg-type]
    return _toggles(services, context)


def _toggles(services: Services, context: CommandContext) -> Reply:
    _feed, notes, _people = services.notifying()
    prefs = notes.prefs(context.user.id)
    lines = [f"- {label}: **{'on' if prefs.wants(k) else 'off'}**" for k, label in KIND_LABELS.items()]
    text = (
        "Your notifications by DM (never about your own changes). Click one to turn it on or off.\n"
        + "\n".join(lines)
        + f"\n\nThe reminder comes at {prefs.reminder_time:%H:%M} in your time zone; change it with "
        "`/integration_with_redmine notifications 08:30`."
    )
    actions = tuple(
        Action(
            f"{label}: {'on' if prefs.wants(k) else 'off'}",
            "notification_toggle",
            k,
            "primary" if prefs.wants(k) else "default",
        )
        for k, label in KIND_LABELS.items()
    )
    return Reply(text=text, actions=actions)
