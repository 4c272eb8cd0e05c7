"""Time from the chat: `log 2h #10 fixed the printer` logs time on a ticket as the person (activity by name or
Redmine's default, the day `yesterday` or `dd.mm`), and `spent [today|week|month]` lists what they logged.

A `log` is looked for before it is written: the same hours, activity and words on the same ticket and day,
logged in the last ten minutes, are there already (typed twice, or a DM retried after its answer was lost)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from app_integration.core.commands.input_parsing import parse_date, parse_hours
from app_integration.core.commands.ticket_cards import NOT_VISIBLE
from app_integration.core.errors import InputError, NotFound, RedmineRejected
from app_integration.core.formatting import cell, issue_link, link
from app_integration.core.i18n import _, number
from app_integration.core.models import Choice, CommandContext, Reply
from app_integration.core.services import Services
from app_integration.core.tickets import TimeEntry, TimeEntryDraft

USAGE = "log 2h #10 [activity] [yesterday|dd.mm] fixed the printer"
SAME_WITHIN = dt.timedelta(minutes=10)
SHOWN = 50  # entries `spent` lists; the total counts them all
_HOURS = re.compile(r"^(?:(\d+(?:[.,]\d+)?)\s*(?:h|ч)?|(\d+)\s*(?:h|ч)\s*(\d+)\s*(?:m|м|min|мин)?|(\d+):(\d\d))$", re.I)
_MINUTES = re.compile(r"^(\d+)\s*(?:m|м|min|мин)$", re.I)
_TICKET = re.compile(r"^#?t?(\d{1,9})$", re.I)
_DAY_MONTH = re.compile(r"^(\d{1,2})\.(\d{1,2})\.?$")
_YESTERDAY = {"yesterday", "вчера"}
_TODAY = {"today", "сегодня"}


def hours_of(token: str) -> Decimal | None:
    """2h, 1.5, 1,5h, 1h30m, 1:30 or 90m as hours; None when it is none of them."""
    minutes = _MINUTES.match(token)
    if minutes:
        return Decimal(minutes.group(1)) / 60
    found = _HOURS.match(token)
    if found is None:
        return None
    decimal, whole, parts, clock_h, clock_m = found.groups()
    if decimal is not None:
        return Decimal(decimal.replace(",", "."))
    if whole is not None:
        return Decimal(whole) + Decimal(parts) / 60
    return Decimal(clock_h) + Decimal(clock_m) / 60


def day_of(token: str, today: dt.date) -> dt.date | None:
    """yesterday, today, dd.mm (this year, or last year's where that day is still to come), or a full date."""
    word = token.casefold()
    if word in _YESTERDAY:
        return today - dt.timedelta(days=1)
    if word in _TODAY:
        return today
    short = _DAY_MONTH.match(token)
    if short:
        day, month = int(short.group(1)), int(short.group(2))
        try:
            found = dt.date(today.year, month, day)
        except ValueError:
            raise InputError(_("{text} is not a real date", text=token)) from None
        return found if found <= today else found.replace(year=today.year - 1)
    if re.match(r"^\d", token) and ("." in token or "-" in token):
        try:
            return parse_date(token)
        except ValueError as error:
            raise InputError(str(error)) from None
    return None


def _activity(words: list[str], activities: list[Choice]) -> tuple[Choice | None, list[str]]:
    """The activity whose name the words begin with (the longest such name), and the words after it."""
    folded = [w.casefold() for w in words]
    for choice in sorted(activities, key=lambda c: -len(c.label.split())):
        name = choice.label.casefold().split()
        if name and folded[: len(name)] == name:
            return choice, words[len(name) :]
    return None, words


def log_time(services: Services, context: CommandContext) -> Reply:
    today = services.today_for(context.user)
    hours, issue_id, rest = None, None, []
    for word in context.argument.split():  # the hours and the ticket wherever they stand
        ticket = _TICKET.match(word) if word.startswith("#") else None
        if hours is None and (found := hours_of(word)) is not None:
            hours = found
        elif issue_id is None and ticket is not None:
            issue_id = int(ticket.group(1))
        else:
            rest.append(word)
    if hours is None or issue_id is None:
        raise InputError(_("Give the hours and the ticket: `{usage}`.", usage=USAGE))
    # Then, in either order, an activity and a day; what follows is the comment.
    activities = services.desk.activities()
    activity, rest = _activity(rest, activities)
    day = day_of(rest[0], today) if rest else None
    spent_on, rest = (day, rest[1:]) if day is not None else (today, rest)
    if activity is None:
        activity, rest = _activity(rest, activities)
    errors: dict[str, str] = {}
    checked = parse_hours(str(hours), errors, "hours")
    if checked is None:
        raise InputError(errors["hours"])
    if activity is None and activities and not any(a.is_default for a in activities):
        names = ", ".join(a.label for a in activities)
        raise InputError(_("Name the activity, one of: {names}.", names=names) + " " + f"`{USAGE}`")
    comments = " ".join(rest)[:255]
    login = services.login_for(context.user)
    if not services.tracker.issues_by_ids(login, [issue_id]):  # a clear word for a ticket they cannot see
        raise NotFound(_(NOT_VISIBLE, id=issue_id))
    entry = TimeEntryDraft(
        checked.quantize(Decimal("0.01")), int(activity.value) if activity else None, comments, spent_on
    )
    already = _same(services, login, issue_id, entry, activity)
    if already is not None:
        return Reply(text=_("That is logged on {ticket} already.", ticket=f"#{issue_id}") + " " + _said(entry, already))
    try:
        services.desk.log_time(login, issue_id, entry)
    except RedmineRejected as refused:
        raise InputError(refused.user_message) from None
    logged = _(
        "Logged {hours} h on {ticket}",
        hours=number(float(entry.hours)),
        ticket=issue_link(services.tracker.base_url, issue_id),
    )
    return Reply(text=f"{logged} ({entry.spent_on:%d.%m.%y}{', ' + activity.label if activity else ''}).")


def _same(
    services: Services, login: str, issue_id: int, entry: TimeEntryDraft, activity: Choice | None
) -> TimeEntry | None:
    now = dt.datetime.now(dt.UTC)
    for found in services.desk.time_entries(login, entry.spent_on, entry.spent_on, issue_id):
        recent = found.created_on is not None and now - found.created_on < SAME_WITHIN
        same = found.hours == entry.hours and found.comments == entry.comments
        if recent and same and (activity is None or found.activity == activity.label):
            return found
    return None


def _said(entry: TimeEntryDraft, found: TimeEntry) -> str:
    return _(
        "{hours} h, {activity}, {day}.",
        hours=number(float(found.hours)),
        activity=found.activity,
        day=f"{entry.spent_on:%d.%m.%y}",
    )


def spent(services: Services, context: CommandContext) -> Reply:
    """The person's time in a span: today, this week (from Monday, the default) or this month."""
    today = services.today_for(context.user)
    span = (context.argument.strip().casefold() or "week").split()[0]
    starts = {
        "today": today,
        "сегодня": today,
        "week": today - dt.timedelta(days=today.weekday()),
        "неделя": today - dt.timedelta(days=today.weekday()),
        "month": today.replace(day=1),
        "месяц": today.replace(day=1),
    }
    if span not in starts:
        raise InputError(_("Say which time: `spent today`, `spent week` or `spent month`."))
    since = starts[span]
    login = services.login_for(context.user)
    entries = services.desk.time_entries(login, since, today)
    url = f"{services.tracker.base_url}/time_entries?user_id=me&from={since.isoformat()}&to={today.isoformat()}"
    if not entries:
        return Reply(
            text=_("No time logged from {since} to {until}.", since=f"{since:%d.%m.%y}", until=f"{today:%d.%m.%y}")
        )
    total = sum((e.hours for e in entries), Decimal(0))
    base = services.tracker.base_url
    rows = [
        f"| {e.spent_on:%d.%m.%y} | {issue_link(base, e.issue_id) if e.issue_id else '—'} | {number(float(e.hours))} "
        f"| {cell(e.activity)} | {cell(e.comments)} |"
        for e in entries[:SHOWN]
    ]
    head = _(
        "Time you logged from {since} to {until}: {total} h",
        since=f"{since:%d.%m.%y}",
        until=f"{today:%d.%m.%y}",
        total=number(float(total)),
    )
    table = "\n".join(
        [
            f"| {_('Date')} | {_('Ticket')} | {_('Hours')} | {_('Activity')} | {_('Comment')} |",
            "|---|---|---:|---|---|",
            *rows,
        ]
    )
    more = f"\n\n{link(_('All {count} in Redmine', count=len(entries)), url)}" if len(entries) > SHOWN else ""
    return Reply(text=f"{head}\n\n{table}{more}")
