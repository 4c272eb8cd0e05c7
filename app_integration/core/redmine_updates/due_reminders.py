"""Due reminders: once a day, at the time each person chose in their own time zone, a DM with their open
tickets that are overdue or due within two days. Nothing is sent when there are none.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app_integration.core.errors import BridgeError, RedmineUnavailable
from app_integration.core.events import Delivery
from app_integration.core.formatting import issue_table
from app_integration.core.i18n import _, speaking
from app_integration.core.services import Services

log = logging.getLogger(__name__)
DUE_WITHIN = dt.timedelta(days=2)


def local_now(zone: str, now: dt.datetime) -> dt.datetime:
    try:
        return now.astimezone(ZoneInfo(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC)


def remind_due(services: Services, now: dt.datetime) -> int:
    """Enqueues today's reminder for everyone whose time has come; how many were enqueued."""
    feed = services.feed
    notes = services.notifications
    people = services.people
    enqueued = 0
    for link in people.all_links():
        prefs = notes.prefs(link.chat_user_id)
        if not prefs.wants("reminder"):
            continue
        local = local_now(services.chat.time_zone(link.chat_user_id), now)
        if local.time() < prefs.reminder_time:
            continue
        key, target = f"reminder:{local.date().isoformat()}", f"dm:{link.chat_user_id}"
        if services.outbox.has_delivery(key, target):
            continue
        try:
            issues = feed.due_soon(link.redmine_login, local.date() + DUE_WITHIN)
        except RedmineUnavailable:
            raise  # everyone's reminder waits for Redmine: the next round asks again
        except BridgeError as error:  # this person's account is locked, gone or refused: today is skipped
            log.info("reminders: skipped %s today: %s", link.redmine_login, error.user_message)
            skipped = Delivery(key, target, 0, "")
            services.outbox.enqueue([skipped])
            services.outbox.drop(skipped, error.user_message)
            continue
        with speaking(services.locale_of_user(link.chat_user_id)):
            table, _shown = issue_table(services.tracker.base_url, issues, "author")
            by = f"{local.date() + DUE_WITHIN:%d.%m.%y}"
            text = _("Your open tickets that are overdue or due by {date}:", date=by) + f"\n\n{table}"
        delivery = Delivery(key, target, 0, text if issues else "")
        enqueued += services.outbox.enqueue([delivery])
        if not issues:
            services.outbox.drop(delivery, "nothing due")  # remembered, so today is not asked again
    return enqueued
