"""The morning digest: once a day, at the time each person chose in their own time zone (working days unless
they asked for weekends too), one DM with what concerns them: tickets newly assigned to them, their tickets that
changed since the last digest, and those due today or overdue. Nothing is sent when nothing changed since the
last one. One Redmine call per person: their open assigned tickets, newest update first, at most a hundred.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app_integration.core.errors import BridgeError, RedmineUnavailable
from app_integration.core.events import Delivery, DigestState
from app_integration.core.formatting import issue_table
from app_integration.core.i18n import _, ngettext, speaking
from app_integration.core.models import Issue, UserLink
from app_integration.core.services import Services

log = logging.getLogger(__name__)
MOST = 100  # open tickets read per person; past it the digest says so and links to Redmine
FIRST_LOOK_BACK = dt.timedelta(days=1)  # a first digest reports the last day's changes


def local_now(zone: str, now: dt.datetime) -> dt.datetime:
    try:
        return now.astimezone(ZoneInfo(zone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC)


def send_morning_digests(services: Services, now: dt.datetime) -> int:
    """Enqueues today's digest for everyone whose time has come; how many were enqueued."""
    subs = services.subscriptions
    enqueued = 0
    for link in services.store.all_links():
        prefs = subs.prefs(link.chat_user_id)
        if not prefs.wants("reminder"):
            continue
        local = local_now(services.chat.time_zone(link.chat_user_id), now)
        if local.time() < prefs.digest_time or (local.weekday() >= 5 and not prefs.weekends):
            continue
        # The key of the day: a digest goes out once, however many rounds or replicas ask.
        key, target = f"reminder:{local.date().isoformat()}", f"dm:{link.chat_user_id}"
        if services.outbox.has_delivery(key, target):
            continue
        enqueued += _digest(services, link, local, now, Delivery(key, target, 0, ""))
    return enqueued


def _digest(services: Services, link: UserLink, local: dt.datetime, now: dt.datetime, empty: Delivery) -> int:
    try:
        page = services.tracker.assigned_issues(link.redmine_login, MOST)
    except RedmineUnavailable:
        raise  # everyone's digest waits for Redmine: the next round asks again
    except BridgeError as error:  # this person's account is locked, gone or refused: today is skipped
        log.info("digest: skipped %s today: %s", link.redmine_login, error.user_message)
        return _none_today(services, empty, error.user_message)
    subs = services.subscriptions
    last = subs.digest_state(link.chat_user_id)
    issues = page.issues
    since = last.sent_at if last else now - FIRST_LOOK_BACK
    before = last.assigned if last else frozenset(i.id for i in issues)  # a first digest calls nothing new
    new = [i for i in issues if i.id not in before]
    changed = [i for i in issues if i.id in before and i.updated_on is not None and i.updated_on > since]
    due = [i for i in issues if i.due_date is not None and i.due_date <= local.date()]
    same_due = (last is not None and frozenset(i.id for i in due) == last.due) or not due
    if not new and not changed and same_due:
        queued = _none_today(services, empty, "nothing changed")
    else:
        with speaking(services.locale_of_user(link.chat_user_id)):
            text = _text(services, new, changed, due, page.total)
        queued = int(services.outbox.enqueue([Delivery(empty.event_key, empty.target, 0, text)]))
    # Remembered only once today's key is in the outbox: a round cut off before it computes the same digest
    # again; one cut off after it finds the key and stops, and tomorrow's looks back a day further.
    subs.save_digest_state(
        link.chat_user_id, DigestState(now, frozenset(i.id for i in issues), frozenset(i.id for i in due))
    )
    return queued


def _none_today(services: Services, empty: Delivery, why: str) -> int:
    """No digest today, remembered under today's key, so no later round or replica asks again."""
    services.outbox.enqueue([empty])
    services.outbox.drop(empty, why)
    return 0


def _text(services: Services, new: list[Issue], changed: list[Issue], due: list[Issue], total: int) -> str:
    base = services.tracker.base_url
    parts = [
        ngettext(
            "Your morning digest: {count} open ticket is assigned to you.",
            "Your morning digest: {count} open tickets are assigned to you.",
            total,
        )
    ]
    for title, issues in (
        (_("Newly assigned to you"), new),
        (_("Changed since your last digest"), changed),
        (_("Due today or overdue"), due),
    ):
        if issues:
            table, _shown = issue_table(base, tuple(issues), "author")
            parts.append(f"**{title}: {len(issues)}**\n\n{table}")
    if total > MOST:
        parts.append(_("The digest looked at the {count} most recently updated.", count=MOST))
    return "\n\n".join(parts)
