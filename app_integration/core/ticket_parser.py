"""Parses `create_tickets` lines such as `1. Write report @bob 10.05.27`.

Forgiving where a person would be: the number is optional, `@user` may stand anywhere,
the due date may be dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd, or left out. Strict where a
mistake would cost: every bad line is reported with its number and reason.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MAX_SUBJECT = 255
MAX_LINES = 100

_NUMBER = re.compile(r"^\s*\d{1,4}\s*[.)]\s+")
_MENTION = re.compile(r"^@([a-z0-9][a-z0-9._-]*)[,;:]?$", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\d{1,4}[.\-/]\d{1,2}[.\-/]\d{1,4}$")
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
        return f"line {self.line}: {self.reason}"


def parse_date(text: str) -> dt.date:
    """One of the accepted date forms, or ValueError with a message for a person."""
    for fmt, shape in _FORMATS:
        if shape.match(text):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                raise ValueError(f"{text} is not a real date") from None
    raise ValueError(f"{text} is not a date; use dd.mm.yy, dd.mm.yyyy or yyyy-mm-dd")


def parse_ticket_lines(text: str, today: dt.date) -> tuple[list[TicketLine], list[LineError]]:
    tickets: list[TicketLine] = []
    errors: list[LineError] = []
    numbered = [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    if not numbered:
        return [], [LineError(1, "no ticket lines; write one per line: 1. Write report @bob 10.05.27")]
    if len(numbered) > MAX_LINES:
        return [], [LineError(numbered[MAX_LINES][0], f"at most {MAX_LINES} tickets at once")]
    for number, raw in numbered:
        result = _parse_line(number, raw, today)
        (tickets if isinstance(result, TicketLine) else errors).append(result)  # type: ignore[arg-type]
    return tickets, errors


def _parse_line(number: int, raw: str, today: dt.date) -> TicketLine | LineError:
    words = _NUMBER.sub("", raw.strip(), count=1).split()
    mentions = [m.group(1).lower() for w in words if (m := _MENTION.match(w))]
    rest = [w for w in words if not _MENTION.match(w)]
    if not mentions:
        return LineError(number, "no assignee; add @username")
    if len(set(mentions)) > 1:
        return LineError(number, "more than one assignee (" + ", ".join("@" + m for m in mentions) + ")")
    due: dt.date | None = None
    if rest and _DATE_LIKE.match(rest[-1]):
        try:
            due = parse_date(rest.pop())
        except ValueError as error:
            return LineError(number, str(error))
        if due < today:
            return LineError(number, f"due date {due:%d.%m.%Y} is in the past")
    subject = " ".join(rest).strip(" -\u2013\u2014:")
    if not subject:
        return LineError(number, "no subject")
    if len(subject) > MAX_SUBJECT:
        return LineError(number, f"subject is longer than {MAX_SUBJECT} characters")
    return TicketLine(number, subject, mentions[0], due)
