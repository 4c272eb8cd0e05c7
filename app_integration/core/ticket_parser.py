"""Parses `create_tickets` lines such as `1. Write report @bob 10.05.27`.

Forgiving where a person would be: the number is optional, `@user` may stand anywhere,
the due date may be dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd, or said in words at the end of the
line (`tomorrow`, `пт`, `in 2 weeks`, `конец месяца`: see natural_dates), or left out. Strict where a
mistake would cost: every bad line is reported with its number and reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .i18n import _, ngettext
from .natural_dates import trailing_date

MAX_SUBJECT = 255
MAX_LINES = 100

_NUMBER = re.compile(r"^\s*\d{1,4}\s*[.)]\s+")
_MENTION = re.compile(r"^@([a-z0-9][a-z0-9._-]*)[,;:]?$", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,4}[.\-/]\d{1,2}[.\-/]\d{1,4}$")
_TRAILING = ".,;:!?)"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORMATS = (
    ("%d.%m.%y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{2}$")),
    ("%d.%m.%Y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")),
    ("%Y-%m-%d", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
)


@dataclass(frozen=True)
class TicketLine:
    line: int
    subject: str
    assignee: str
    due_date: dt.date | None


@dataclass(frozen=True)
class LineError:
    line: int
    reason: str

    def __str__(self) -> str:
        return _("line {line}: {reason}", line=self.line, reason=self.reason)


def _due_date(words: list[str]) -> dt.date | str | None:
    """The due date wherever it stands after the subject's first word, taken out of `words`; or why not.
    `1. Write report @bob 22.12.26 urgent` and `... 22.12.26.` both have one. Only the accepted forms count
    mid-line, so `Upgrade to 2.4.1` keeps its version; a date-like last word that is no date is refused."""
    first = 1 if len(words) > 1 else 0  # a lone word may be the date of a line with no subject
    at = [i for i in range(first, len(words)) if any(shape.match(words[i].rstrip(_TRAILING)) for _, shape in _FORMATS)]
    if len(at) > 1:
        return _("two due dates ({dates}); keep one", dates=", ".join(words[i].rstrip(_TRAILING) for i in at))
    if not at:
        if words and _DATE_LIKE.match(words[-1].rstrip(_TRAILING)):
            at = [len(words) - 1]
        else:
            return None
    try:
        due = parse_date(words[at[0]].rstrip(_TRAILING))
    except ValueError as error:
        return str(error)
    del words[at[0]]
    return due


def parse_date(text: str) -> dt.date:
    """One of the accepted date forms, or ValueError with a message for a person."""
    for fmt, shape in _FORMATS:
        if shape.match(text):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValueError(_("{text} is not a real date", text=text)) from None
    raise ValueError(_("{text} is not a date; use dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd", text=text))


def parse_ticket_lines(text: str, today: dt.date) -> tuple[list[TicketLine], list[LineError]]:
    tickets: list[TicketLine] = []
    errors: list[LineError] = []
    numbered = [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    if not numbered:
        return [], [LineError(1, _("no ticket lines; write one per line: 1. Write report @bob 10.05.27"))]
    if len(numbered) > MAX_LINES:
        return [], [
            LineError(
                numbered[MAX_LINES][0],
                ngettext("at most {count} ticket at once", "at most {count} tickets at once", MAX_LINES),
            )
        ]
    for number, raw in numbered:
        result = _parse_line(number, raw, today)
        (tickets if isinstance(result, TicketLine) else errors).append(result)  # type: ignore[arg-type]
    return tickets, errors


def _parse_line(number: int, raw: str, today: dt.date) -> TicketLine | LineError:
    if _CONTROL.search(raw):
        return LineError(number, _("holds a control character (such as NUL); retype the line"))
    words = _NUMBER.sub("", raw.strip(), count=1).split()
    mentions = [m.group(1).lower() for w in words if (m := _MENTION.match(w))]
    rest = [w for w in words if not _MENTION.match(w)]
    if not mentions:
        return LineError(number, _("no assignee; add @username"))
    if len(set(mentions)) > 1:
        return LineError(number, _("more than one assignee ({people})", people=", ".join("@" + m for m in mentions)))
    found = _due_date(rest)
    if isinstance(found, str):
        return LineError(number, found)
    due = found
    spoken = trailing_date(rest, today) if due is None else None
    if spoken is not None:
        due, size = spoken
        del rest[-size:]
    if due is not None and due < today:
        return LineError(number, _("due date {date} is in the past", date=f"{due:%d.%m.%Y}"))
    subject = " ".join(rest).strip(" -\u2013\u2014:")
    if not subject:
        return LineError(number, _("no subject"))
    if len(subject) > MAX_SUBJECT:
        return LineError(
            number,
            ngettext(
                "subject is longer than {count} character", "subject is longer than {count} characters", MAX_SUBJECT
            ),
        )
    return TicketLine(number, subject, mentions[0], due)
